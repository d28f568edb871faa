import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DTypeError,
  dequantizeLinear,
  fakeQuantize,
  fromStorage,
  InvalidArgumentError,
  qconv2d,
  qmatmul,
  quantizeLinear,
  quantParams,
  registerBackend,
  ShapeError,
  type Tensor,
  tensor,
  withQuant,
} from './index.js';
import {
  chooseQParams,
  multiplyByQuantizedMultiplier,
  quantizedActivationRange,
  quantizeMultiplier,
  roundHalfAwayFromZero,
  roundHalfToEven,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from './quant.js';

beforeAll(() => registerBackend(cpu()));

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** gemmlowp's SaturatingRoundingDoublingHighMul transcribed with BigInt (C++ `/` truncates toward zero). */
function srdhmRef(a: number, b: number): number {
  if (a === I32_MIN && b === I32_MIN) return I32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates like C++
}

/** RoundingDivideByPOT as exact rational rounding: x / 2^e to nearest, ties away from zero. */
function rdbpotRef(x: number, e: number): number {
  return roundHalfAwayFromZero(x / 2 ** e) | 0; // (no -0)
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

describe('rounding helpers', () => {
  it('roundHalfToEven and roundHalfAwayFromZero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfToEven)).toEqual([
      0, 2, 2, -0, -2, -2, 2, -3,
    ]);
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map(roundHalfAwayFromZero)).toEqual([1, 2, 3, -1, -2, -3]);
  });
});

describe('quantizeMultiplier (TFLite QuantizeMultiplier)', () => {
  it('handles zero, exact powers of two and the rounding carry to 2^31', () => {
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.75)).toEqual({ multiplier: 1610612736, shift: 0 });
    // frexp gives 1 − 2^-40 → q rounds to 2^31 → halved with shift + 1.
    expect(quantizeMultiplier(1 - 2 ** -40)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.5 - 2 ** -45)).toEqual({ multiplier: 2 ** 30, shift: 0 });
  });

  it('gives positive shifts for multipliers > 1 and negative ones below 0.5', () => {
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 1610612736, shift: 2 });
    expect(quantizeMultiplier(0.1)).toEqual({ multiplier: Math.round(0.8 * 2 ** 31), shift: -3 });
    expect(quantizeMultiplier(2 ** -31)).toEqual({ multiplier: 2 ** 30, shift: -30 });
  });

  it('flushes multipliers below 2^-32 to zero, but keeps one that carries up to 2^-32', () => {
    expect(quantizeMultiplier(2 ** -33)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(1e-300)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** -32 * 0.75)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** -32)).toEqual({ multiplier: 2 ** 30, shift: -31 });
    expect(quantizeMultiplier(2 ** -32 * (1 - 2 ** -40))).toEqual({ multiplier: 2 ** 30, shift: -31 });
  });

  it('represents random multipliers within half a Q31 step', () => {
    const next = lcg(7);
    for (let i = 0; i < 2000; i++) {
      const real = 2 ** ((next() / 2 ** 32) * 40 - 30);
      const { multiplier, shift } = quantizeMultiplier(real);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** (shift - 31) - real)).toBeLessThanOrEqual(2 ** (shift - 32));
    }
  });

  it('rejects negative, non-finite and huge multipliers', () => {
    for (const bad of [-0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 30]) {
      expect(() => quantizeMultiplier(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => quantizeMultiplier(-1)).toThrow(/quantizeMultiplier/);
  });
});

describe('gemmlowp fixed-point primitives', () => {
  const edges = [I32_MIN, I32_MIN + 1, -(2 ** 30), -65537, -65536, -1, 0, 1, 65535, 65536, 2 ** 30, I32_MAX];

  it('saturatingRoundingDoublingHighMul equals a BigInt transcription', () => {
    for (const a of edges)
      for (const b of edges) expect(saturatingRoundingDoublingHighMul(a, b)).toBe(srdhmRef(a, b));
    const next = lcg(11);
    for (let i = 0; i < 20000; i++) {
      const a = next() | 0;
      const b = i % 2 ? next() | 0 : (next() >> (next() % 31)) | 0;
      expect(saturatingRoundingDoublingHighMul(a, b)).toBe(srdhmRef(a, b));
    }
  });

  it('roundingDivideByPOT rounds to nearest with ties away from zero', () => {
    expect([-5, -4, -3, 3, 5, 6].map((x) => roundingDivideByPOT(x, 1))).toEqual([-3, -2, -2, 2, 3, 3]);
    const next = lcg(13);
    for (let i = 0; i < 20000; i++) {
      const x = i < edges.length ? edges[i]! : next() | 0;
      const e = i % 32;
      expect(roundingDivideByPOT(x, e)).toBe(rdbpotRef(x, e));
    }
  });

  it('multiplyByQuantizedMultiplier approximates x·real within its two roundings', () => {
    const next = lcg(17);
    for (let i = 0; i < 5000; i++) {
      const real = 2 ** ((next() / 2 ** 32) * 20 - 16); // 2^-16 .. 2^4
      const x = (next() | 0) >> 8; // |x| < 2^23 keeps x·real·2^4 in int32
      const { multiplier, shift } = quantizeMultiplier(real);
      // One rounding in the high multiply, one in the shift, plus the Q31 error of the multiplier.
      const bound = 0.5 + 0.5 * 2 ** Math.min(shift, 0) + Math.abs(x * real) * 2 ** -31;
      expect(Math.abs(multiplyByQuantizedMultiplier(x, multiplier, shift) - x * real)).toBeLessThanOrEqual(
        bound,
      );
    }
    const q = quantizeMultiplier(0.25);
    expect([10, -10, 6, -6].map((x) => multiplyByQuantizedMultiplier(x, q.multiplier, q.shift))).toEqual([
      3, -3, 2, -2,
    ]);
  });
});

describe('quantizedActivationRange and chooseQParams', () => {
  it('clamps relu at the zero point and relu6 at zp + round(6/scale)', () => {
    expect(quantizedActivationRange('relu6', quantParams(0.05, -128))).toEqual([-128, -8]);
    expect(quantizedActivationRange('relu', quantParams(0.05, 10))).toEqual([10, 127]);
    expect(quantizedActivationRange('relu6', quantParams(0.01, 0))).toEqual([0, 127]);
    expect(quantizedActivationRange('none', quantParams(0.01, 0), 'uint8')).toEqual([0, 255]);
  });

  it('matches torch MinMaxObserver (values printed by torch 1.13)', () => {
    const f = Math.fround;
    const cases: [number, number, Parameters<typeof chooseQParams>[2], number, number][] = [
      [-1, 3, {}, 0.01568627543747425, -64],
      [-1, 3, { symmetric: true }, 0.0235294122248888, 0],
      [-1, 3, { dtype: 'uint8' }, 0.01568627543747425, 64],
      [-1, 3, { dtype: 'uint8', symmetric: true }, 0.0235294122248888, 128],
      [-1, 3, { dtype: 'uint8', qmin: 0, qmax: 15 }, 0.2666666805744171, 4],
      [-0.3, -0.1, {}, 0.0011764706578105688, 127],
      [-2.5, 0.7, { dtype: 'uint8' }, 0.012549019418656826, 199],
      [-2.5, 0.7, { dtype: 'uint8', qmin: 0, qmax: 15 }, 0.2133333384990692, 12],
      [0.5, 2, {}, 0.007843137718737125, -128],
      [0, 0, {}, 1.1920928955078125e-7, -128],
    ];
    for (const [lo, hi, opts, scale, zp] of cases) {
      expect(chooseQParams(f(lo), f(hi), opts)).toEqual({ scale: [scale], zeroPoint: [zp] });
    }
    expect(() => chooseQParams(1, -1)).toThrow(InvalidArgumentError);
  });
});

describe('quantization ops', () => {
  it('quantizeLinear saturates, maps ±Inf to the range ends and NaN to the zero point', () => {
    const q = quantizeLinear(
      tensor([1e10, -1e10, Infinity, -Infinity, Number.NaN, 0.25]),
      quantParams(0.1, 3),
    );
    expect(Array.from(q.dataSync())).toEqual([127, -128, 127, -128, 3, 5]);
    expect(q.quant).toEqual({ scale: [0.1], zeroPoint: [3] });
  });

  it('handles zero-size tensors', () => {
    const q = quantizeLinear(tensor([], [0, 3]), quantParams([0.1, 0.2, 0.3], [0, 1, 2], 1));
    expect(q.shape).toEqual([0, 3]);
    expect(dequantizeLinear(q).shape).toEqual([0, 3]);
    const a = withQuant(tensor([], [2, 0, 4], 'int8'), quantParams(0.1));
    const b = withQuant(tensor(new Array(8).fill(1), [4, 2], 'int8'), quantParams(0.1));
    expect(qmatmul(a, b, null, { outQuant: quantParams(0.1) }).shape).toEqual([2, 0, 2]);
  });

  it('normalises a negative per-channel axis and carries the params', () => {
    const q = quantizeLinear(
      tensor([0.1, 0.2, 0.3, 0.4], [2, 2]),
      quantParams([0.1, 0.2], [0, 1], -1),
      'uint8',
    );
    expect(q.dtype).toBe('uint8');
    expect(q.quant?.axis).toBe(1);
    expect(Array.from(q.dataSync())).toEqual([1, 2, 3, 3]);
  });

  it('dequantize(quantize(x)) equals fakeQuantize(x), and fakeQuantize passes gradients inside the range', () => {
    const p = quantParams([0.1, 0.05, 0.3], [0, -4, 9], 1);
    const vals = Array.from({ length: 12 }, (_, i) => (i - 6) * 0.37);
    const x = tensor(vals, [2, 3, 2]).requiresGrad_();
    const y = fakeQuantize(x, p);
    expect(Array.from(y.dataSync())).toEqual(Array.from(dequantizeLinear(quantizeLinear(x, p)).dataSync()));
    const p2 = quantParams([0.1, 0.05, 0.3], [0, -1, 1], 1);
    const narrow = fakeQuantize(x, p2, { qmin: -2, qmax: 2 });
    narrow.backward(tensor(new Array(12).fill(1), [2, 3, 2]));
    const g = Array.from(x.grad!.dataSync());
    // Channel c of element i: unclamped q = round(x / s_c) + zp_c must lie in [-2, 2] for a unit gradient.
    const want = vals.map((v, i) => {
      const c = Math.floor(i / 2) % 3;
      const q =
        roundHalfToEven(Math.fround(v * Math.fround(1 / Math.fround(p2.scale[c]!)))) + p2.zeroPoint[c]!;
      return q >= -2 && q <= 2 ? 1 : 0;
    });
    expect(g).toEqual(want);
    expect(want).toContain(0);
    expect(want).toContain(1);
  });

  it('qconv2d with a 1x1 kernel agrees with qmatmul on the same data', () => {
    const xs = [5, -7, 100, -128, 127, 0, 3, 9, -50, 60, 2, -1]; // [1, 3, 2, 2] (C=3, 4 pixels)
    const ws = [3, -5, 7, 127, -127, 2]; // [O=2, C=3]
    const x = withQuant(tensor(xs, [1, 3, 2, 2], 'int8'), quantParams(0.05, 4));
    const w = withQuant(tensor(ws, [2, 3, 1, 1], 'int8'), quantParams([0.01, 0.003], [0, 0], 0));
    const bias = tensor([100, -2000], [2], 'int32');
    const outQuant = quantParams(0.02, -3);
    const conv = qconv2d(x, w, bias, { outQuant, activation: 'relu' });
    // The same product as a matmul: rows = pixels, columns = output channels.
    const a = withQuant(
      tensor(
        [0, 1, 2, 3].flatMap((p) => [xs[p]!, xs[4 + p]!, xs[8 + p]!]),
        [4, 3],
        'int8',
      ),
      quantParams(0.05, 4),
    );
    const b = withQuant(
      tensor([ws[0]!, ws[3]!, ws[1]!, ws[4]!, ws[2]!, ws[5]!], [3, 2], 'int8'),
      quantParams([0.01, 0.003], [0, 0], 1),
    );
    const mm = qmatmul(a, b, bias, { outQuant, activation: 'relu' });
    const c = conv.dataSync();
    const m = mm.dataSync();
    expect(Array.from({ length: 8 }, (_, i) => c[i]!)).toEqual(
      Array.from({ length: 8 }, (_, i) => m[(i % 4) * 2 + Math.floor(i / 4)]!),
    );
    expect(conv.quant).toEqual(outQuant);
    expect(Math.min(...Array.from(c))).toBeGreaterThanOrEqual(-3); // relu clamps at the zero point
  });
});

describe('typed errors name the op and argument', () => {
  const i8 = (shape: number[], p = quantParams(0.1)): Tensor =>
    withQuant(tensor(new Array(shape.reduce((s, d) => s * d, 1)).fill(1), shape, 'int8'), p);

  it('quantizeLinear / dequantizeLinear / fakeQuantize', () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    expect(() => quantizeLinear(tensor([1], [1], 'int32'), quantParams(0.1))).toThrow(DTypeError);
    expect(() => quantizeLinear(x, quantParams(0.1), 'float16' as never)).toThrow(/quantizeLinear: 'dtype'/);
    expect(() => quantizeLinear(x, quantParams([0.1, 0.2, 0.3], 0, 0))).toThrow(ShapeError);
    expect(() => quantizeLinear(x, quantParams([0.1, 0.2, 0.3], 0, 0))).toThrow(
      /quantizeLinear: 'params' has 3 scales/,
    );
    expect(() => quantizeLinear(x, quantParams([0.1, 0.2], 0, 2))).toThrow(InvalidArgumentError);
    expect(() => quantizeLinear(x, quantParams(0.1, 200))).toThrow(/zero point 200/);
    expect(() => quantizeLinear(x, { scale: [-1], zeroPoint: [0] })).toThrow(InvalidArgumentError);
    expect(() => dequantizeLinear(tensor([1], [1], 'int8'))).toThrow(
      /dequantizeLinear: 'q' needs quantization/,
    );
    expect(() => dequantizeLinear(x)).toThrow(DTypeError);
    expect(() => fakeQuantize(x, quantParams(0.1), { qmin: 5, qmax: 5 })).toThrow(
      /fakeQuantize: need integers/,
    );
    expect(() => fakeQuantize(x, quantParams(0.1, 20), { qmin: 0, qmax: 15 })).toThrow(InvalidArgumentError);
    expect(() => withQuant(x, quantParams(0.1))).toThrow(DTypeError);
  });

  it('qconv2d', () => {
    const x = i8([1, 2, 4, 4]);
    const w = i8([3, 2, 3, 3], quantParams([0.1, 0.2, 0.3], 0, 0));
    const outQuant = quantParams(0.1);
    expect(qconv2d(x, w, null, { outQuant, padding: 'same' }).shape).toEqual([1, 3, 4, 4]);
    expect(() => qconv2d(tensor([1], [1, 1, 1, 1]), w, null, { outQuant })).toThrow(DTypeError);
    const badW = fromStorage(new Int8Array(54), [3, 2, 3, 3], 'int8', quantParams([0.1, 0.2], 0, 0));
    expect(() => qconv2d(x, badW, null, { outQuant })).toThrow(/qconv2d: 'w' has 2 scales but dim 0/);
    expect(() => qconv2d(x, i8([3, 2, 3, 3], quantParams(0.1, 2)), null, { outQuant })).toThrow(/symmetric/);
    expect(() => withQuant(tensor([1, 2], [2], 'int8'), quantParams([0.1, 0.2, 0.3], 0, 0))).toThrow(
      /withQuant: 'params' has 3 scales but dim 0/,
    );
    expect(() => qconv2d(x, w, tensor([1, 2, 3]), { outQuant })).toThrow(/qconv2d: 'bias' has dtype float32/);
    expect(() => qconv2d(x, w, tensor([1, 2], [2], 'int32'), { outQuant })).toThrow(ShapeError);
    expect(() => qconv2d(x, w, null, { outQuant, groups: 2 })).toThrow(/groups 2/);
    expect(() => qconv2d(x, w, null, { outQuant: quantParams([0.1, 0.2], 0, 0) })).toThrow(/per-tensor/);
    expect(() => qconv2d(x, w, null, { outQuant, activation: 'tanh' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => qconv2d(i8([1, 2, 4]), w, null, { outQuant })).toThrow(/rank 4/);
  });

  it('qmatmul', () => {
    const a = i8([2, 4]);
    const outQuant = quantParams(0.1);
    expect(() => qmatmul(a, i8([3, 2]), null, { outQuant })).toThrow(/qmatmul: inner dims differ/);
    expect(() => qmatmul(a, i8([4, 2], quantParams([0.1, 0.2, 0.1, 0.1], 0, 0)), null, { outQuant })).toThrow(
      /per column/,
    );
    expect(() => qmatmul(a, i8([4, 2], quantParams([0.1, 0.2, 0.3], 0, 1)), null, { outQuant })).toThrow(
      ShapeError,
    );
    expect(qmatmul(i8([2, 3, 4]), i8([4, 2]), null, { outQuant }).shape).toEqual([2, 3, 2]);
  });
});
