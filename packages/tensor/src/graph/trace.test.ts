import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  batchNorm,
  conv2d,
  expand,
  flatten,
  GraphError,
  globalAvgPool,
  InvalidArgumentError,
  linear,
  mul,
  ones,
  randn,
  registerBackend,
  relu,
  reshape,
  slice,
  softmax,
  type Tensor,
  transpose,
  zeros,
} from '../index.js';
import { runGraph } from './execute.js';
import { trace } from './trace.js';

beforeAll(() => registerBackend(cpu()));

const named = (t: Tensor, name: string) => {
  t.name = name;
  return t;
};

describe('trace', () => {
  it('records composites as one node and names weights by tensor.name', () => {
    const w = named(randn([4, 3, 3, 3]), 'conv.weight');
    const rm = named(zeros([4]), 'bn.running_mean');
    const rv = named(ones([4]), 'bn.running_var');
    const fc = named(randn([2, 4]), 'fc.weight');
    const g = trace(
      (x) =>
        softmax(
          linear(
            flatten(globalAvgPool(relu(batchNorm(conv2d(x, w), { runningMean: rm, runningVar: rv })))),
            fc,
          ),
        ),
      [randn([1, 3, 6, 6])],
    );
    expect(g.nodes.map((n) => n.op)).toEqual([
      'Conv2D',
      'BatchNorm',
      'Relu',
      'GlobalAvgPool',
      'Reshape',
      'Linear',
      'Softmax',
    ]);
    expect([...g.initializers.keys()].sort()).toEqual([
      'bn.running_mean',
      'bn.running_var',
      'conv.weight',
      'fc.weight',
    ]);
    expect(g.nodes[0]!.inputs).toEqual(['input_0', 'conv.weight', null]);
    expect(g.initializers.get('fc.weight')!.data).toEqual(fc.dataSync());
  });

  it('makes constants created inside fn initializers and names inputs/outputs', () => {
    const g = trace((a, b) => ({ sum: add(mul(a, 2), b), diff: add(a, -1) }), [randn([3]), randn([3])], {
      inputNames: ['a', 'b'],
      name: 'tiny',
      metadata: { author: 'me' },
    });
    expect(g.inputs).toEqual(['a', 'b']);
    expect(g.outputs).toEqual(['sum', 'diff']);
    expect(g.initializers.size).toBe(2);
    expect(g.name).toBe('tiny');
    expect(g.metadata).toEqual({ author: 'me' });
  });

  it('reproduces the traced outputs bitwise when run', () => {
    const w = randn([5, 12]);
    const fn = (x: Tensor) => relu(linear(reshape(transpose(x, [0, 2, 1]), [2, 12]), w));
    const x = randn([2, 3, 4]);
    const g = trace(fn, [x]);
    const { outputs } = runGraph(g, [x]);
    expect(outputs[0]!.dataSync()).toEqual(fn(x).dataSync());
  });

  it('marks the batch dim dynamic and the graph runs at other batch sizes', () => {
    const w = randn([3, 16]);
    const fn = (x: Tensor) => {
      const h = reshape(slice(x, [0, 1]), [x.shape[0]!, -1]);
      return add(linear(h, w), expand(reshape(ones([3]), [1, 1, 3]), [1, 1, 3]));
    };
    const g = trace(fn, [randn([2, 3, 4, 2])], { dynamicBatch: true });
    expect(g.values.get(g.inputs[0]!)!.shape).toEqual(['N', 3, 4, 2]);
    expect(g.values.get(g.outputs[0]!)!.shape).toEqual([1, 'N', 3]);
    for (const n of [1, 5]) {
      const x = randn([n, 3, 4, 2]);
      const { outputs } = runGraph(g, [x]);
      expect(outputs[0]!.shape).toEqual([1, n, 3]);
      expect(outputs[0]!.dataSync()).toEqual(fn(x).dataSync());
    }
  });

  it('rejects tensors that escape the recorded ops', () => {
    expect(() => trace((x) => relu(x.detach()), [randn([2])])).toThrow(GraphError);
    expect(() => trace((x) => relu(x.detach()), [randn([2])])).toThrow(/detach/);
  });

  it('validates its arguments', () => {
    expect(() => trace((x) => x, [randn([1, 2])], { dynamicBatch: true })).toThrow(InvalidArgumentError);
    expect(() => trace((x, y) => add(x, y), [randn([2, 2]), randn([3, 2])], { dynamicBatch: 'B' })).toThrow(
      /same dim 0/,
    );
    expect(() => trace(() => 3 as unknown as Tensor, [])).toThrow(InvalidArgumentError);
  });

  it('restores the previous trace hook and disposes tensors made while tracing', () => {
    let inner: Tensor | undefined;
    trace(
      (x) => {
        inner = relu(x);
        return add(inner, 1);
      },
      [randn([2])],
    );
    expect(inner!.isDisposed).toBe(true);
    const y = relu(randn([2]));
    expect(y.isDisposed).toBe(false);
  });
});
