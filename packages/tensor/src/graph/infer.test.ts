import { CpuBackend, cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import * as K from '../backend/kernel-names.js';
import {
  add,
  argMax,
  avgPool2d,
  cast,
  clip,
  concat,
  conv2d,
  convTranspose2d,
  DTypeError,
  dequantizeLinear,
  equal,
  expand,
  fakeQuantize,
  flip,
  fold,
  fusedConv2d,
  GraphError,
  gather,
  gelu,
  greaterEqual,
  groupNorm,
  hardSwish,
  layerNorm,
  leakyRelu,
  linear,
  logSumExp,
  matmul,
  maxPool2d,
  mean,
  pad,
  qconv2d,
  qmatmul,
  quantizeLinear,
  randn,
  registerBackend,
  reshape,
  resize,
  ShapeError,
  slice,
  softmax,
  tensor,
  tile,
  topk,
  transpose,
  UnsupportedOpError,
  unfold,
  variance,
  where,
} from '../index.js';
import { hasExecutor } from './exec-ops.js';
import { inferNode, isKnownOp } from './infer.js';
import { trace } from './trace.js';
import type { ValueInfo } from './types.js';

beforeAll(() => registerBackend(cpu()));

const v = (name: string, shape: (number | string)[], dtype: ValueInfo['dtype'] = 'float32'): ValueInfo => ({
  name,
  shape,
  dtype,
});
const node = (op: string, attrs: Record<string, unknown> = {}, outputs = ['y']) => ({
  name: 'n1',
  op,
  inputs: [],
  outputs,
  attrs,
});

describe('inferShapes rules', () => {
  it('has a rule for every kernel name', () => {
    const names = (Object.values(K) as unknown[]).filter((x): x is string => typeof x === 'string');
    expect(names.length).toBeGreaterThan(80);
    expect(names.filter((n) => !isKnownOp(n))).toEqual([]);
  });

  it('can execute every kernel name (a CPU kernel, or a view/composite executor)', () => {
    const cpuNames = new Set(new CpuBackend().kernels.map((k) => k.kernelName));
    const names = (Object.values(K) as unknown[]).filter((x): x is string => typeof x === 'string');
    expect(names.filter((n) => !cpuNames.has(n) && !hasExecutor(n))).toEqual([]);
  });

  it('agrees with the ops on real calls (trace checks every node against the produced tensor)', () => {
    const x = randn([2, 4, 9, 7]);
    const w = randn([6, 2, 3, 3]);
    const g = trace(
      (t) => {
        const c = conv2d(t, w, null, { stride: [2, 1], padding: [1, 0, 2, 1], groups: 2, dilation: [1, 2] });
        const f = fusedConv2d(t, randn([4, 1, 3, 3]), randn([4]), {
          padding: 'same',
          groups: 4,
          activation: 'relu6',
        });
        const ct = convTranspose2d(t, randn([4, 3, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 });
        const mp = maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true });
        const ap = avgPool2d(t, { kernelSize: [2, 3], stride: [2, 2], ceilMode: true });
        const s = slice(transpose(t, [0, 2, 3, 1]), [0, 1, -3], [2, 8, 7], [1, 3, 2]);
        const r = reshape(flip(s, [1, 3]), [2, -1]);
        const cat = concat([r, r], 1);
        const p = pad(t, [0, 0, 0, 0, 1, 2, -1, 3]);
        const gi = gather(t, tensor([3, 0, 3], [3], 'int32'), 1);
        const tl = tile(mean(t, { axes: [2, 3] }), [3, 1, 2]);
        const [tv] = topk(t, { k: 2, axis: -1 });
        const mm = matmul(randn([3, 1, 5, 4]), randn([2, 4, 6]));
        const ln = layerNorm(t, [9, 7]);
        const gn = groupNorm(t, 2);
        const sm = softmax(linear(reshape(t, [2, 4, 63]), randn([5, 63])), 1);
        const ex = expand(reshape(t, [2, 4, 63, 1]), [2, 4, 63, 3]);
        const lse = logSumExp(t, { axes: [1, 3], keepDims: true });
        const vr = variance(t, { axes: [0] });
        const am = argMax(t, { axis: 2 });
        const ge = greaterEqual(t, 0);
        const wh = where(equal(t, 0), t, add(t, 1));
        return [c, f, ct, mp, ap, cat, p, gi, tl, tv!, mm, ln, gn, sm, ex, lse, vr, am, ge, wh];
      },
      [x],
    );
    expect(g.outputs.length).toBe(20);
    expect(g.values.get(g.outputs[0]!)?.shape).toEqual([2, 6, 5, 4]); // H: (9+1+2-3)/2+1, W: (7+0+1-5)/1+1
  });

  it('agrees with the resize, patch, quant and activation ops', () => {
    const q = { scale: [0.05], zeroPoint: [3] };
    const g = trace(
      (t) => {
        const rz = resize(t, { scaleFactor: 2, mode: 'bilinear' });
        const rn = resize(t, { size: [5, 3] });
        const uf = unfold(t, { kernelSize: [2, 3], stride: 2, padding: 1 });
        const fd = fold(uf, { kernelSize: [2, 3], stride: 2, padding: 1, outputSize: [6, 6] });
        const xq = quantizeLinear(t, q, 'int8');
        const wq = quantizeLinear(randn([5, 4, 3, 3]), { scale: [0.02], zeroPoint: [0] }, 'int8');
        const qc = qconv2d(xq, wq, null, { outQuant: q, padding: 1, activation: 'relu' });
        const aq = quantizeLinear(reshape(t, [2, 4, 36]), q, 'int8');
        const bq = quantizeLinear(randn([36, 7]), { scale: [0.02], zeroPoint: [0] }, 'int8');
        const qm = qmatmul(aq, bq, null, { outQuant: q });
        const fq = fakeQuantize(t, q);
        const acts = [
          gelu(t),
          leakyRelu(t, { alpha: 0.1 }),
          clip(t, { min: -1 }),
          hardSwish(t),
          cast(t, 'int32'),
        ];
        return [rz, rn, uf, fd, dequantizeLinear(qc), qm, fq, ...acts];
      },
      [randn([2, 4, 6, 6])],
    );
    expect(g.values.get(g.outputs[5]!)).toMatchObject({ shape: [2, 4, 7], dtype: 'int8', quant: q });
  });

  it('propagates symbolic dims', () => {
    const [y] = inferNode(
      node(K.Conv2D, { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 }),
      [v('x', ['N', 3, 8, 8]), v('w', [4, 3, 3, 3]), null],
    );
    expect(y!.shape).toEqual(['N', 4, 8, 8]);
    const [r] = inferNode(node(K.Reshape, { shape: [-1, 48] }), [v('x', ['N', 3, 4, 4])]);
    expect(r!.shape).toEqual(['N', 48]);
    const [r2] = inferNode(node(K.Reshape, { shape: [-1, 24] }), [v('x', ['N', 3, 4, 4])]);
    expect(r2!.shape).toEqual(['N*2', 24]);
    const [b] = inferNode(node(K.Add), [v('a', ['N', 1, 5]), v('b', [3, 1])]);
    expect(b!.shape).toEqual(['N', 3, 5]);
    const [c] = inferNode(node(K.Concat, { axis: 0 }), [v('a', ['N', 2]), v('b', [3, 2])]);
    expect(c!.shape).toEqual(['N+3', 2]);
  });

  it('infers dtypes: comparisons are bool, arg-reductions int32, casts follow attrs', () => {
    expect(inferNode(node(K.Less), [v('a', [2]), v('b', [2])])[0]!.dtype).toBe('bool');
    expect(inferNode(node(K.ArgMin, { axis: 0, keepDims: true }), [v('a', [2, 3])])[0]).toEqual({
      shape: [1, 3],
      dtype: 'int32',
    });
    expect(inferNode(node(K.Cast, { dtype: 'float16' }), [v('a', [2])])[0]!.dtype).toBe('float16');
    const q = { scale: [0.5], zeroPoint: [3] };
    const [qo] = inferNode(node(K.QuantizeLinear, { quant: q, dtype: 'uint8' }), [v('a', [2])]);
    expect(qo).toEqual({ shape: [2], dtype: 'uint8', quant: q });
  });

  it('rejects unknown ops, conflicts and malformed attrs with typed errors naming the node', () => {
    expect(() => inferNode(node('Frobnicate'), [])).toThrow(UnsupportedOpError);
    expect(() => inferNode(node('Frobnicate'), [])).toThrow(/'n1'.*Frobnicate/);
    expect(() => inferNode(node(K.Add), [v('a', [2, 3]), v('b', [4])])).toThrow(ShapeError);
    expect(() => inferNode(node(K.Add), [v('a', [2]), v('b', [2], 'int32')])).toThrow(DTypeError);
    expect(() => inferNode(node(K.Transpose, { perm: [0, 0] }), [v('a', [2, 3])])).toThrow(GraphError);
    expect(() => inferNode(node(K.Transpose, { perm: 'x' }), [v('a', [2, 3])])).toThrow(/'perm'/);
    expect(() => inferNode(node(K.Sum, {}), [v('a', [2, 3])])).toThrow(/missing attribute 'axes'/);
    expect(() =>
      inferNode(node(K.Conv2D, { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1 }), [
        v('x', [1, 3, 8, 8]),
        v('w', [4, 2, 3, 3]),
      ]),
    ).toThrow(/n1.*channels/);
    expect(() => inferNode(node(K.Relu, {}, ['a', 'b']), [v('a', [2])])).toThrow(/2 outputs/);
    expect(() => inferNode(node(K.Relu), [])).toThrow(GraphError);
  });
});
