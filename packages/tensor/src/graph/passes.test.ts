import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  batchNorm,
  clip,
  contiguous,
  conv2d,
  hardSigmoid,
  hardSwish,
  matmul,
  mul,
  randn,
  registerBackend,
  relu,
  relu6,
  reshape,
  sigmoid,
  silu,
  type Tensor,
  tanh,
  tensor,
  transpose,
} from '../index.js';
import { graphSignature } from './edit.js';
import { runGraph } from './execute.js';
import { optimizeGraph } from './optimize.js';
import { eliminateDeadCode, foldConstants, removeIdentities } from './pass-basic.js';
import { foldBatchNorm, fuseActivations } from './pass-fuse.js';
import { trace } from './trace.js';
import { type Graph, makeGraph } from './types.js';

beforeAll(() => registerBackend(cpu()));

/** Runs both graphs on the same random inputs; returns the max |a-b| / max(1, |a|) over all outputs. */
function relDiff(a: Graph, b: Graph, inputs: Tensor[]): number {
  const ya = runGraph(a, inputs).outputs;
  const yb = runGraph(b, inputs).outputs;
  expect(yb.map((t) => t.shape)).toEqual(ya.map((t) => t.shape));
  let worst = 0;
  ya.forEach((t, i) => {
    const u = t.toFloat32();
    const v = yb[i]!.toFloat32();
    const scale = Math.max(1, ...Array.from(u, Math.abs));
    for (let k = 0; k < u.length; k++) worst = Math.max(worst, Math.abs(u[k]! - v[k]!) / scale);
  });
  return worst;
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

/** Checks the pass is pure and preserves outputs on fresh random inputs. */
function check(pass: (g: Graph) => Graph, g: Graph, shape: number[]): Graph {
  const before = graphSignature(g);
  const out = pass(g);
  expect(graphSignature(g)).toBe(before);
  expect(relDiff(g, out, [randn(shape)])).toBeLessThan(1e-5);
  return out;
}

function bnParams(c: number) {
  const v = randn([c]);
  return {
    runningMean: randn([c]),
    runningVar: add(mul(v, v), 0.5),
    weight: randn([c]),
    bias: randn([c]),
    eps: 1e-3,
  };
}

describe('graph passes', () => {
  it('foldConstants evaluates constant subgraphs once', () => {
    const w = randn([6, 4]);
    const g = trace((x) => matmul(x, add(transpose(w), mul(transpose(w), 2))), [randn([3, 4])]);
    expect(ops(g)).toEqual(['Transpose', 'Transpose', 'Mul', 'Add', 'MatMul']);
    const f = eliminateDeadCode(check(foldConstants, g, [3, 4]));
    expect(ops(f)).toEqual(['MatMul']);
    expect(f.initializers.size).toBe(1);
  });

  it('foldConstants skips folds that would bloat the graph', () => {
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [
        { name: 'e', op: 'Expand', inputs: ['c'], outputs: ['big'], attrs: { shape: [100, 100] } },
        { name: 'a', op: 'Add', inputs: ['x', 'big'], outputs: ['y'], attrs: {} },
      ],
      values: [{ name: 'x', shape: [100, 100], dtype: 'float32' }],
      initializers: [{ name: 'c', dtype: 'float32', shape: [1], data: new Float32Array([2]) }],
    });
    expect(ops(foldConstants(g))).toEqual(['Expand', 'Add']);
    expect(ops(foldConstants(g, { minElements: 1e4 }))).toEqual(['Add']);
  });

  it('eliminateDeadCode drops unused nodes and initializers', () => {
    const unused = randn([3]);
    const g = trace(
      (x) => {
        relu(add(x, unused));
        return sigmoid(x);
      },
      [randn([3])],
    );
    expect(ops(g)).toEqual(['Add', 'Relu', 'Sigmoid']);
    const d = check(eliminateDeadCode, g, [3]);
    expect(ops(d)).toEqual(['Sigmoid']);
    expect(d.initializers.size).toBe(0);
  });

  it('removeIdentities removes row-major copies, same-shape reshapes and same-dtype casts', () => {
    const g = trace((x) => relu(reshape(contiguous(transpose(x, [1, 0])), [3, 2])), [randn([2, 3])]);
    expect(ops(g)).toEqual(['Transpose', 'StridedCopy', 'Reshape', 'Relu']);
    expect(ops(check(removeIdentities, g, [2, 3]))).toEqual(['Transpose', 'Relu']);
    const cast = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [
        { name: 'c', op: 'Cast', inputs: ['x'], outputs: ['h'], attrs: { dtype: 'float32' } },
        { name: 'r', op: 'Reshape', inputs: ['h'], outputs: ['y'], attrs: { shape: [2, 3] } },
      ],
      values: [{ name: 'x', shape: [2, 3], dtype: 'float32' }],
    });
    // 'y' is a graph output read straight from the input: the last identity stays so the output keeps its name.
    expect(ops(check(removeIdentities, cast, [2, 3]))).toEqual(['Reshape']);
    const shifts = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [
        {
          name: 'p',
          op: 'Pad',
          inputs: ['x'],
          outputs: ['h'],
          attrs: { pads: [0, 0, 1, -1], mode: 'constant', value: 0 },
        },
        { name: 't', op: 'Transpose', inputs: ['h'], outputs: ['u'], attrs: { perm: [0, 1] } },
        { name: 'r', op: 'Relu', inputs: ['u'], outputs: ['y'], attrs: {} },
      ],
      values: [{ name: 'x', shape: [2, 3], dtype: 'float32' }],
    });
    // Padding one side and cropping the other keeps the shape but is not an identity.
    expect(ops(check(removeIdentities, shifts, [2, 3]))).toEqual(['Pad', 'Relu']);
  });

  it('removeIdentities keeps output names by renaming the producer', () => {
    const g = trace((x) => contiguous(transpose(relu(x))), [randn([2, 3])], { outputNames: ['probs'] });
    const r = check(removeIdentities, g, [2, 3]);
    expect(ops(r)).toEqual(['Relu', 'Transpose']);
    expect(r.outputs).toEqual(['probs']);
  });

  it('foldBatchNorm folds BN into the conv weights and bias', () => {
    const w = randn([4, 3, 3, 3]);
    const p = bnParams(4);
    const g = trace(
      (x) => relu(batchNorm(conv2d(x, w, randn([4]), { padding: 1 }), p)),
      [randn([2, 3, 5, 5])],
    );
    const f = check(foldBatchNorm, g, [2, 3, 5, 5]);
    expect(ops(f)).toEqual(['Conv2D', 'Relu']);
    const noBias = trace((x) => batchNorm(conv2d(x, w), p), [randn([1, 3, 5, 5])]);
    expect(ops(check(foldBatchNorm, noBias, [1, 3, 5, 5]))).toEqual(['Conv2D']);
  });

  it('foldBatchNorm leaves a conv whose output has another consumer', () => {
    const w = randn([4, 3, 1, 1]);
    const p = bnParams(4);
    const g = trace(
      (x) => {
        const c = conv2d(x, w);
        return add(batchNorm(c, p), c);
      },
      [randn([1, 3, 4, 4])],
    );
    expect(ops(foldBatchNorm(g))).toEqual(['Conv2D', 'BatchNorm', 'Add']);
  });

  it('fuseActivations absorbs a per-channel bias add and the activation', () => {
    const w = randn([4, 3, 3, 3]);
    const b = randn([1, 4, 1, 1]);
    const cases: [(t: Tensor) => Tensor, string][] = [
      [relu6, 'relu6'],
      [hardSwish, 'hardSwish'],
      [sigmoid, 'sigmoid'],
      [(t) => clip(t, { min: 0, max: 6 }), 'relu6'],
      [silu, 'silu'],
      [tanh, 'tanh'],
      [hardSigmoid, 'hardSigmoid'],
    ];
    for (const [act, name] of cases) {
      const g = trace((x) => act(add(conv2d(x, w), b)), [randn([2, 3, 6, 6])]);
      const f = check(fuseActivations, g, [2, 3, 6, 6]);
      expect(ops(f)).toEqual(['FusedConv2D']);
      expect(f.nodes[0]!.attrs.activation).toBe(name);
      expect(f.nodes[0]!.inputs[2]).not.toBeNull();
    }
    // A bias that is not per-channel ([4] broadcasts along W) must not be absorbed.
    const g = trace((x) => relu(add(conv2d(x, w), randn([4]))), [randn([1, 3, 6, 6])]);
    expect(ops(fuseActivations(g))).toEqual(['Conv2D', 'Add', 'Relu']);
    // A scalar of higher rank would change the output rank: not absorbed either.
    const g5 = trace((x) => add(conv2d(x, w), randn([1, 1, 1, 1, 1])), [randn([1, 3, 6, 6])]);
    expect(ops(fuseActivations(g5))).toEqual(['Conv2D', 'Add']);
  });

  it('optimizeGraph runs the passes to a fixed point', () => {
    const w1 = randn([8, 3, 3, 3]);
    const w2 = randn([8, 8, 3, 3]);
    const p1 = bnParams(8);
    const p2 = bnParams(8);
    const g = trace(
      (x) => {
        const h = relu(batchNorm(conv2d(x, w1, null, { padding: 1 }), p1));
        const r = batchNorm(conv2d(h, w2, null, { padding: 1 }), p2);
        return relu(add(r, h));
      },
      [randn([2, 3, 6, 6])],
    );
    const o = check(optimizeGraph, g, [2, 3, 6, 6]);
    expect(ops(o)).toEqual(['FusedConv2D', 'Conv2D', 'Add', 'Relu']);
    expect(o.initializers.size).toBe(4);
    expect(graphSignature(optimizeGraph(o))).toBe(graphSignature(o));
  });

  it('passes keep quantized and integer graphs intact', () => {
    const g = trace((x) => add(x, tensor([1, 2, 3], [3], 'int32')), [tensor([1, 2, 3], [3], 'int32')]);
    expect(ops(optimizeGraph(g))).toEqual(['Add']);
  });
});
