import { cpu } from '@tinyvision/backend-cpu';
import {
  conv2d,
  convTranspose2d,
  GraphError,
  linear,
  makeGraph,
  matmul,
  randn,
  registerBackend,
  relu,
  trace,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { countMacs, nodeMacs } from './macs.js';

beforeAll(() => registerBackend(cpu()));

describe('countMacs', () => {
  it('counts convolutions (grouped, strided), matmuls and linears from inferred shapes', () => {
    const w1 = randn([8, 3, 3, 3]);
    const w2 = randn([8, 1, 3, 3]); // depthwise
    const wl = randn([5, 8 * 4 * 4]);
    const b = randn([4, 6]);
    const g = trace(
      (x) => {
        const y = relu(conv2d(x, w1, null, { stride: 2, padding: 1 })); // [2, 8, 8, 8]
        const z = conv2d(y, w2, null, { stride: 2, padding: 1, groups: 8 }); // [2, 8, 4, 4]
        const l = linear(z.flatten(1), wl); // [2, 5]
        return matmul(l.reshape([2, 5, 1]).expand([2, 5, 4]), b); // [2, 5, 6]
      },
      [randn([2, 3, 16, 16])],
    );
    const { total, nodes } = countMacs(g);
    const conv1 = 2 * 8 * 8 * 8 * 3 * 3 * 3;
    const conv2 = 2 * 8 * 4 * 4 * 1 * 3 * 3;
    const lin = 2 * 5 * 128;
    const mm = 2 * 5 * 6 * 4;
    expect(nodes.map((n) => [n.op, n.macs])).toEqual([
      ['Conv2D', conv1],
      ['Conv2D', conv2],
      ['Linear', lin],
      ['MatMul', mm],
    ]);
    expect(total).toBe(conv1 + conv2 + lin + mm);
  });

  it('counts transposed convolutions per input element and honours transposeA', () => {
    const w = randn([4, 2, 3, 3]);
    const g = trace((x) => convTranspose2d(x, w, null, { stride: 2 }), [randn([1, 4, 5, 5])]);
    expect(countMacs(g).total).toBe(1 * 4 * 5 * 5 * 2 * 3 * 3);
    const a = randn([7, 3]); // transposed: [3, 7] @ [7, 2]
    const g2 = trace((x) => matmul(a, x, { transposeA: true }), [randn([7, 2])]);
    expect(countMacs(g2).total).toBe(3 * 2 * 7);
  });

  it('resolves symbolic dims from options and rejects unknown ones', () => {
    const w = randn([4, 3, 1, 1]);
    const g = trace((x) => conv2d(x, w), [randn([2, 3, 4, 4])], { dynamicBatch: true });
    expect(countMacs(g, { symbols: { N: 3 } }).total).toBe(3 * 4 * 4 * 4 * 3);
    expect(() => countMacs(g)).toThrow(GraphError);
    expect(() => countMacs(g)).toThrow(/symbolic dim 'N'/);
  });

  it('counts 0 for other ops and reports a missing value info', () => {
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [{ name: 'c', op: 'Conv2D', inputs: ['x', 'w'], outputs: ['y'], attrs: {} }],
      values: [{ name: 'x', shape: [1, 1, 2, 2], dtype: 'float32' }],
    });
    expect(() => nodeMacs(g, g.nodes[0]!)).toThrow(/no shape for 'w'/);
    const relus = trace((x) => relu(x), [randn([3])]);
    expect(countMacs(relus)).toEqual({ total: 0, nodes: [] });
  });
});
