import { CpuBackend, cpu } from '@tinyvision/backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTraceHook } from '../engine.js';
import {
  add,
  type Backend,
  DTypeError,
  exp,
  InvalidArgumentError,
  mul,
  randn,
  registerBackend,
  relu,
  ShapeError,
  type Tensor,
  tensor,
  useBackend,
} from '../index.js';
import { createGraphRunner, runGraph } from './execute.js';
import { trace } from './trace.js';
import { makeGraph } from './types.js';

/** The CPU backend under another name, without a Relu kernel (to exercise the per-node fallback). */
function noReluBackend(): Backend {
  const base = new CpuBackend();
  return Object.assign(Object.create(base) as Backend, {
    name: 'norelu',
    kernels: base.kernels
      .filter((k) => k.kernelName !== 'Relu')
      .map((k) => ({ ...k, backendName: 'norelu' })),
  });
}

beforeAll(() => {
  registerBackend(cpu());
  registerBackend({ name: 'norelu', priority: -1, create: noReluBackend });
});
afterAll(async () => {
  await useBackend('cpu');
});

const chain = (x: Tensor) => {
  let h = x;
  for (let i = 0; i < 6; i++) h = exp(mul(relu(add(h, 0.1)), 0.5));
  return h;
};

describe('runGraph', () => {
  it('accepts inputs by position or by name and checks them', () => {
    const g = trace((a, b) => add(a, mul(b, 2)), [randn([2, 3]), randn([3])], {
      inputNames: ['a', 'b'],
      dynamicBatch: false,
    });
    const a = randn([2, 3]);
    const b = randn([3]);
    const byPos = runGraph(g, [a, b]).outputs[0]!.dataSync();
    expect(runGraph(g, { a, b }).named[g.outputs[0]!]!.dataSync()).toEqual(byPos);
    expect(() => runGraph(g, [a])).toThrow(InvalidArgumentError);
    expect(() => runGraph(g, { a })).toThrow(/missing input 'b'/);
    expect(() => runGraph(g, { a, b, c: a })).toThrow(/unknown inputs c/);
    expect(() => runGraph(g, [randn([3, 3]), b])).toThrow(ShapeError);
    expect(() => runGraph(g, [tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), b])).toThrow(DTypeError);
  });

  it('binds symbolic dims consistently across inputs', () => {
    const g = trace((a, b) => add(a, b), [randn([2, 3]), randn([2, 3])], { dynamicBatch: true });
    expect(runGraph(g, [randn([4, 3]), randn([4, 3])]).outputs[0]!.shape).toEqual([4, 3]);
    expect(() => runGraph(g, [randn([4, 3]), randn([5, 3])])).toThrow(/does not match \[N,3\]/);
  });

  it('frees each intermediate as soon as its last consumer ran', () => {
    const x = randn([4, 4]);
    const g = trace(chain, [x]);
    const produced: Tensor[] = [];
    let maxLive = 0;
    const prev = setTraceHook({
      record(_k, _ins, outs) {
        produced.push(...outs);
        maxLive = Math.max(maxLive, produced.filter((t) => !t.isDisposed).length);
      },
    });
    let out: Tensor;
    try {
      out = runGraph(g, [x]).outputs[0]!;
    } finally {
      setTraceHook(prev);
    }
    expect(produced.length).toBe(g.nodes.length);
    expect(maxLive).toBeLessThanOrEqual(2);
    expect(produced.filter((t) => !t.isDisposed)).toEqual([out]);
    expect(out.dataSync()).toEqual(chain(x).dataSync());
  });

  it('reports the nodes that fell back to the CPU reference', async () => {
    const x = randn([3]);
    const g = trace((t) => relu(add(t, 1)), [x]);
    await useBackend('norelu');
    try {
      const { outputs, fallbacks } = runGraph(g, [x]);
      expect(fallbacks).toEqual([
        {
          node: g.nodes[1]!.name,
          kernel: 'Relu',
          backend: 'norelu',
          dtype: 'float32',
          reason: 'kernel missing',
        },
      ]);
      expect(outputs[0]!.backend).toBe('norelu');
    } finally {
      await useBackend('cpu');
    }
    expect(runGraph(g, [x]).fallbacks).toEqual([]);
  });

  it('hands out new handles for outputs that are inputs or initializers, and reuses a runner', () => {
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['x', 'c', 'y', 'y'],
      nodes: [{ name: 'r', op: 'Relu', inputs: ['x'], outputs: ['y'], attrs: {} }],
      values: [{ name: 'x', shape: [2], dtype: 'float32' }],
      initializers: [{ name: 'c', dtype: 'float32', shape: [1], data: new Float32Array([7]) }],
    });
    const runner = createGraphRunner(g);
    const x = tensor([-1, 2]);
    const first = runner.run([x]);
    first.outputs.forEach((t) => t.dispose());
    expect(x.isDisposed).toBe(false);
    const second = runner.run([x]);
    expect(second.outputs.map((t) => t.toArray())).toEqual([[-1, 2], [7], [0, 2], [0, 2]]);
    runner.dispose();
    expect(() => runner.run([x])).toThrow(/disposed/);
  });
});
