import { InvalidArgumentError } from './errors/index.js';

/**
 * Affine quantization parameters: `real = scale * (q - zeroPoint)`.
 * Per-tensor when `scale` has one entry and `axis` is undefined; per-channel along `axis` otherwise.
 */
export interface QuantParams {
  /** One scale per tensor, or one per channel along `axis`. All positive and finite. */
  readonly scale: readonly number[];
  /** One zero point per scale (integers in the storage dtype's range). */
  readonly zeroPoint: readonly number[];
  /** Channel axis for per-channel quantization; undefined for per-tensor. */
  readonly axis?: number;
}

/**
 * Builds and validates quantization parameters.
 * @param scale - a number (per-tensor) or per-channel list
 * @param zeroPoint - a number or per-channel list (default 0)
 * @param axis - channel axis for per-channel parameters
 * @returns validated parameters
 * @throws {InvalidArgumentError} on non-positive scales, non-integer zero points or length mismatch
 * @example
 * ```ts
 * const q = quantParams([0.1, 0.2], 0, 0); // per-channel, axis 0, zero-point 0
 * ```
 */
export function quantParams(
  scale: number | readonly number[],
  zeroPoint: number | readonly number[] = 0,
  axis?: number,
): QuantParams {
  const s = typeof scale === 'number' ? [scale] : [...scale];
  const z = typeof zeroPoint === 'number' ? new Array<number>(s.length).fill(zeroPoint) : [...zeroPoint];
  if (s.length === 0 || z.length !== s.length) {
    throw new InvalidArgumentError(`quantParams: ${s.length} scales but ${z.length} zero points`);
  }
  for (const v of s) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new InvalidArgumentError(`quantParams: scale must be > 0, got ${v}`);
  }
  for (const v of z) {
    if (!Number.isInteger(v))
      throw new InvalidArgumentError(`quantParams: zero point must be an integer, got ${v}`);
  }
  if (axis === undefined && s.length !== 1) {
    throw new InvalidArgumentError(`quantParams: ${s.length} scales need a channel axis`);
  }
  return axis === undefined ? { scale: s, zeroPoint: z } : { scale: s, zeroPoint: z, axis };
}

/**
 * Integer range of a quantized storage dtype.
 * @param dtype - 'int8', 'uint8' or 'int32'
 * @returns `[min, max]`
 * @example
 * ```ts
 * qRange('int8'); // [-128, 127]
 * ```
 */
export function qRange(dtype: 'int8' | 'uint8' | 'int32'): [number, number] {
  if (dtype === 'int8') return [-128, 127];
  if (dtype === 'uint8') return [0, 255];
  return [-2147483648, 2147483647];
}

/** Storage dtypes of quantized tensors. */
export type QuantDType = 'int8' | 'uint8' | 'int32';

/**
 * Rounds half to even (`std::nearbyint` in the default rounding mode, `torch.round`, `np.rint`).
 * @param v - the value
 * @returns the nearest integer, ties to even
 * @example
 * ```ts
 * roundHalfToEven(2.5); // 2
 * roundHalfToEven(-3.5); // -4
 * ```
 */
export function roundHalfToEven(v: number): number {
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Rounds half away from zero (`std::round`, TFLite's `TfLiteRound`).
 * @param v - the value
 * @returns the nearest integer, ties away from zero
 * @example
 * ```ts
 * roundHalfAwayFromZero(-2.5); // -3
 * ```
 */
export function roundHalfAwayFromZero(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** A real multiplier in TFLite's fixed-point form: `real ≈ multiplier · 2^(shift − 31)`. */
export interface QuantizedMultiplier {
  /** Q31 significand in [2^30, 2^31 − 1], or 0 for a zero multiplier. */
  readonly multiplier: number;
  /** Power-of-two exponent: positive shifts left, negative shifts right (rounding). */
  readonly shift: number;
}

const TWO31 = 2147483648;

/**
 * TFLite's `QuantizeMultiplier`: splits a non-negative real multiplier into a Q31 significand and a shift via
 * `frexp`, rounding the significand half away from zero (a carry to 2^31 halves it and bumps the shift).
 * Multipliers below about 2^-31 flush to `{ multiplier: 0, shift: 0 }`.
 * @param real - the real multiplier, e.g. `sx·sw/sy`; must be finite, ≥ 0 and < 2^30
 * @returns the fixed-point multiplier
 * @throws {InvalidArgumentError} for a negative, non-finite or too large multiplier
 * @example
 * ```ts
 * quantizeMultiplier(0.5); // { multiplier: 1073741824, shift: 0 }
 * quantizeMultiplier(3); // { multiplier: 1610612736, shift: 2 }
 * ```
 */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (!Number.isFinite(real) || real < 0 || real >= 2 ** 30) {
    throw new InvalidArgumentError(`quantizeMultiplier: 'real' must be finite and in [0, 2^30), got ${real}`);
  }
  if (real < 2 ** -40) return { multiplier: 0, shift: 0 }; // zero, or far below the flush threshold
  // frexp: real = m · 2^e with m in [0.5, 1). Division by a power of two is exact in this range.
  let e = Math.floor(Math.log2(real)) + 1;
  let m = real / 2 ** e;
  if (m >= 1) {
    m /= 2;
    e++;
  } else if (m < 0.5) {
    m *= 2;
    e--;
  }
  let q = roundHalfAwayFromZero(m * TWO31);
  if (q === TWO31) {
    q /= 2;
    e++;
  }
  if (e < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: q, shift: e };
}

/**
 * gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b` rounded to nearest (ties away
 * from zero), saturating the single overflow case `a = b = −2^31`. Exact for all int32 inputs.
 * @param a - int32
 * @param b - int32
 * @returns int32 result
 * @example
 * ```ts
 * saturatingRoundingDoublingHighMul(1 << 30, 1 << 30); // 1 << 29
 * ```
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === -TWO31 && b === -TWO31) return 2147483647;
  // a·b can need 62 bits: split b = bh·2^16 + bl so every partial product is exact in a double.
  const bh = b >> 16;
  const bl = b & 0xffff;
  const pHi = a * bh; // |pHi| < 2^46
  const nonNeg = a === 0 || b === 0 || a < 0 === b < 0;
  const q = a * bl + (nonNeg ? 1 << 30 : 1 - (1 << 30)); // |q| < 2^48
  // total = pHi·2^16 + q = (H + S)·2^31 + r2 with 0 ≤ r2 < 2^31; C++ division truncates toward zero.
  const H = Math.floor(pHi / 32768);
  const s = (pHi - H * 32768) * 65536 + q;
  const S = Math.floor(s / TWO31);
  const r2 = s - S * TWO31;
  const floor = H + S;
  return (floor < 0 && r2 !== 0 ? floor + 1 : floor) | 0;
}

/**
 * gemmlowp's `RoundingDivideByPOT`: arithmetic `x / 2^exponent` rounded to nearest, ties away from zero.
 * @param x - int32
 * @param exponent - 0..31
 * @returns int32 result
 * @example
 * ```ts
 * roundingDivideByPOT(-5, 1); // -3
 * ```
 */
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = exponent >= 31 ? 0x7fffffff : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return ((x >> exponent) + (remainder > threshold ? 1 : 0)) | 0;
}

/**
 * TFLite's `MultiplyByQuantizedMultiplier` (reference kernels, double rounding):
 * `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(shift,0), multiplier), max(−shift,0))`.
 * The left shift wraps like int32 arithmetic.
 * @param x - int32 accumulator
 * @param multiplier - Q31 significand from {@link quantizeMultiplier}
 * @param shift - exponent from {@link quantizeMultiplier}
 * @returns int32 result ≈ `x · real`
 * @example
 * ```ts
 * const { multiplier, shift } = quantizeMultiplier(0.25);
 * multiplyByQuantizedMultiplier(10, multiplier, shift); // 3 (2.5 rounds away from zero)
 * ```
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 1 << left), multiplier), right);
}

/**
 * The quantized clamp range of a fused activation (TFLite's `CalculateActivationRangeQuantized`):
 * `relu` clamps below at the zero point, `relu6` also above at `zp + round(6 / scale)` (float32 arithmetic,
 * ties away from zero), both intersected with the dtype's range.
 * @param activation - 'none', 'relu' or 'relu6'
 * @param out - per-tensor output quantization
 * @param dtype - output storage dtype
 * @returns `[min, max]` of the output integers
 * @example
 * ```ts
 * quantizedActivationRange('relu6', quantParams(0.05, -128), 'int8'); // [-128, -8]
 * ```
 */
export function quantizedActivationRange(
  activation: 'none' | 'relu' | 'relu6',
  out: QuantParams,
  dtype: QuantDType = 'int8',
): [number, number] {
  const [qmin, qmax] = qRange(dtype);
  const zp = out.zeroPoint[0]!;
  const scale = Math.fround(out.scale[0]!);
  const q = (f: number) => zp + roundHalfAwayFromZero(Math.fround(f / scale));
  if (activation === 'relu') return [Math.max(qmin, q(0)), qmax];
  if (activation === 'relu6') return [Math.max(qmin, q(0)), Math.min(qmax, q(6))];
  return [qmin, qmax];
}

/** Options of {@link chooseQParams}. */
export interface ChooseQParamsOptions {
  /** Storage dtype (default 'int8'); sets the integer range unless `qmin`/`qmax` are given. */
  readonly dtype?: QuantDType;
  /** Symmetric (zero point 0 for int8, 128 for uint8) instead of affine (default false). */
  readonly symmetric?: boolean;
  /** Integer range override (e.g. 4-bit). */
  readonly qmin?: number;
  /** Integer range override. */
  readonly qmax?: number;
}

/**
 * Per-tensor quantization parameters covering `[min, max]` (always including 0), computed in float32 exactly
 * like PyTorch's `MinMaxObserver` (affine or symmetric, scale at least float32 epsilon).
 * @param min - observed minimum
 * @param max - observed maximum
 * @param opts - dtype, symmetric, integer range
 * @returns the parameters
 * @throws {InvalidArgumentError} when `min > max`, a bound is not finite or the integer range is empty
 * @example
 * ```ts
 * chooseQParams(-1, 3); // { scale: [0.0156862…] (4/255 in float32), zeroPoint: [-64] }
 * ```
 */
export function chooseQParams(min: number, max: number, opts: ChooseQParamsOptions = {}): QuantParams {
  const dtype = opts.dtype ?? 'int8';
  const [dmin, dmax] = qRange(dtype);
  const qmin = opts.qmin ?? dmin;
  const qmax = opts.qmax ?? dmax;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new InvalidArgumentError(`chooseQParams: need finite min ≤ max, got [${min}, ${max}]`);
  }
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin >= qmax) {
    throw new InvalidArgumentError(`chooseQParams: need integers qmin < qmax, got [${qmin}, ${qmax}]`);
  }
  const f = Math.fround;
  const eps = 2 ** -23;
  const lo = Math.min(f(min), 0);
  const hi = Math.max(f(max), 0);
  if (opts.symmetric) {
    const scale = Math.max(f(Math.max(-lo, hi) / ((qmax - qmin) / 2)), eps);
    const custom = opts.qmin !== undefined || opts.qmax !== undefined;
    const zp = dtype === 'uint8' ? (custom ? Math.floor((qmin + qmax) / 2) : 128) : 0;
    return { scale: [scale], zeroPoint: [zp] };
  }
  const scale = Math.max(f(f(hi - lo) / (qmax - qmin)), eps);
  const zp = Math.min(qmax, Math.max(qmin, qmin - roundHalfToEven(f(lo / scale))));
  return { scale: [scale], zeroPoint: [zp] };
}
