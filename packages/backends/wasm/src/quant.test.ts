import type { QConv2DAttrs, QuantParams } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { multiplyByQuantizedMultiplier } from '@tinyvision/tensor/internal';
import { describe, expect, it } from 'vitest';
import { WasmBackend } from './backend.js';
import { wasmKernels } from './kernels/index.js';
import { type HostArray, rng, runCpu, runWasm } from './test-util.js';

// int8 kernels must be bit-exact with the CPU reference (TFLite integer arithmetic).
const builds = [new WasmBackend(wasmKernels, { simd: true }), new WasmBackend(wasmKernels, { simd: false })];

function int8(r: () => number, shape: readonly number[], quant: QuantParams): HostArray {
  const n = shape.reduce((p, q) => p * q, 1);
  return {
    values: Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128),
    shape,
    dtype: 'int8',
    quant,
  };
}

function int32(r: () => number, n: number, range: number): HostArray {
  return {
    values: Int32Array.from({ length: n }, () => Math.floor((r() * 2 - 1) * range)),
    shape: [n],
    dtype: 'int32',
  };
}

function diffCount(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

describe.each(builds.map((b) => [b.simd ? 'simd' : 'scalar', b] as const))('wasm int8 (%s build)', (_, b) => {
  it('qRequant equals MultiplyByQuantizedMultiplier on random and extreme accumulators', () => {
    const r = rng(11);
    const accs = [0, 1, -1, 2147483647, -2147483648, 1 << 30, -(1 << 30)];
    for (let i = 0; i < 2000; i++) accs.push(Math.floor((r() * 2 - 1) * 2 ** 31) | 0);
    for (const acc of accs) {
      const mult = (1 << 30) + Math.floor(r() * (2 ** 30 - 1));
      const shift = Math.floor(r() * 40) - 31;
      const want = Math.min(127, Math.max(-128, multiplyByQuantizedMultiplier(acc, mult, shift) + 3));
      expect(b.k.qRequant(acc, 0, mult, shift, 3, -128, 127), `${acc} ${mult} ${shift}`).toBe(want);
    }
  });

  it('QConv2D is bit-exact over random shapes (per-channel, depthwise, grouped, padding, clamps)', () => {
    const r = rng(12);
    let cases = 0;
    for (let t = 0; t < 48; t++) {
      const kind = t % 4; // 0 pointwise, 1 general, 2 depthwise, 3 grouped
      const c =
        kind === 2
          ? 2 + Math.floor(r() * 10)
          : kind === 3
            ? 2 * (1 + Math.floor(r() * 4))
            : 1 + Math.floor(r() * 20);
      const groups = kind === 2 ? c : kind === 3 ? 2 : 1;
      const o = kind === 2 ? c * (1 + Math.floor(r() * 2)) : groups * (1 + Math.floor(r() * 12));
      const k = kind === 0 ? 1 : [3, 5][Math.floor(r() * 2)]!;
      const s = kind === 0 ? 1 : 1 + Math.floor(r() * (kind === 2 ? 3 : 2));
      const p = kind === 0 ? 0 : Math.floor(r() * (k / 2 + 1));
      const h = k + Math.floor(r() * 12);
      const w = k + Math.floor(r() * 12);
      const perChannel = t % 3 !== 0;
      const wq: QuantParams = perChannel
        ? {
            scale: Array.from({ length: o }, () => 0.001 + r() * 0.05),
            zeroPoint: new Array(o).fill(0),
            axis: 0,
          }
        : { scale: [0.002 + r() * 0.03], zeroPoint: [0] };
      const xq: QuantParams = { scale: [0.01 + r() * 0.05], zeroPoint: [Math.floor(r() * 40) - 20] };
      const outQuant: QuantParams = { scale: [0.02 + r() * 0.2], zeroPoint: [Math.floor(r() * 60) - 30] };
      const x = int8(r, [1 + (t % 2), c, h, w], xq);
      const wt = int8(r, [o, c / groups, k, k], wq);
      const bias = t % 5 === 0 ? null : int32(r, o, 5000);
      const attrs: QConv2DAttrs = {
        strides: [s, s],
        pads: [p, p, p, Math.max(0, p - (t % 2))],
        dilations: kind === 2 && t % 8 === 6 ? [2, 1] : [1, 1],
        groups,
        outQuant,
        activation: (['none', 'relu', 'relu6'] as const)[t % 3]!,
      };
      const [got] = runWasm(b, K.QConv2D, [x, wt, bias], attrs as never);
      const [want] = runCpu(K.QConv2D, [x, wt, bias], attrs as never);
      expect(got!.shape).toEqual(want!.shape);
      expect(
        diffCount(got!.values, want!.values),
        `case ${t}: ${JSON.stringify({ c, o, k, s, p, groups })}`,
      ).toBe(0);
      cases++;
    }
    expect(cases).toBe(48);
  });

  it('QMatMul is bit-exact (per-tensor and per-column weights, odd K, relu6)', () => {
    const r = rng(13);
    for (let t = 0; t < 16; t++) {
      const m = 1 + Math.floor(r() * 9);
      const kk = 1 + Math.floor(r() * 70);
      const n = 1 + Math.floor(r() * 20);
      const bq: QuantParams =
        t % 2 === 0
          ? {
              scale: Array.from({ length: n }, () => 0.001 + r() * 0.05),
              zeroPoint: new Array(n).fill(0),
              axis: 1,
            }
          : { scale: [0.01], zeroPoint: [0] };
      const a = int8(r, [2, m, kk], { scale: [0.03], zeroPoint: [Math.floor(r() * 20) - 10] });
      const w = int8(r, [kk, n], bq);
      const bias = t % 3 === 0 ? null : int32(r, n, 3000);
      const attrs = {
        outQuant: { scale: [0.05 + r() * 0.1], zeroPoint: [5] },
        activation: (['none', 'relu', 'relu6'] as const)[t % 3],
      };
      const [got] = runWasm(b, K.QMatMul, [a, w, bias], attrs as never);
      const [want] = runCpu(K.QMatMul, [a, w, bias], attrs as never);
      expect(got!.shape).toEqual(want!.shape);
      expect(diffCount(got!.values, want!.values), `case ${t}: ${m}x${kk}x${n}`).toBe(0);
    }
  });
});
