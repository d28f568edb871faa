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
