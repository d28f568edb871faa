import { DTypeError } from './errors/index.js';

/** Element types a tensor can hold. `float16`/`bfloat16` are stored as raw 16-bit patterns. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int32' | 'bool';

/** Every dtype, in a stable order (useful for conformance tables). */
export const DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'bool'];

/** Typed array used to store each dtype. */
export interface DTypeStorage {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** Any typed array tinyvision stores tensor data in. */
export type TypedArray = DTypeStorage[DType];

const CTORS = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/**
 * Allocates zeroed storage for `size` elements of `dtype`.
 * @param dtype - element type
 * @param size - element count
 * @returns a new zero-filled typed array
 * @example
 * ```ts
 * const buf = allocStorage('float16', 4); // Uint16Array(4)
 * ```
 */
export function allocStorage<D extends DType>(dtype: D, size: number): DTypeStorage[D] {
  return new CTORS[dtype](size) as DTypeStorage[D];
}

/**
 * Bytes per element of `dtype`.
 * @param dtype - element type
 * @returns 1, 2 or 4
 * @example
 * ```ts
 * bytesPerElement('bfloat16'); // 2
 * ```
 */
export function bytesPerElement(dtype: DType): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}

/**
 * Whether `dtype` is a floating-point type (float32, float16, bfloat16).
 * @param dtype - element type
 * @returns true for float dtypes
 * @example
 * ```ts
 * isFloat('int8'); // false
 * ```
 */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * Whether `dtype` is an integer type (int8, uint8, int32).
 * @param dtype - element type
 * @returns true for integer dtypes
 * @example
 * ```ts
 * isInt('uint8'); // true
 * ```
 */
export function isInt(dtype: DType): boolean {
  return dtype === 'int8' || dtype === 'uint8' || dtype === 'int32';
}

/**
 * Validates a dtype name coming from user input or a file.
 * @param value - candidate dtype
 * @param where - context for the error message
 * @returns the value typed as {@link DType}
 * @throws {DTypeError} when `value` is not a dtype
 * @example
 * ```ts
 * const d = assertDType('float32', 'npy header');
 * ```
 */
export function assertDType(value: unknown, where: string): DType {
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new DTypeError(
    `${where}: unknown dtype ${JSON.stringify(value)}, expected one of ${DTYPES.join(', ')}`,
  );
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Converts a number to IEEE binary16 bits with round-to-nearest-even (the value is first rounded to float32,
 * as every f32 → f16 conversion does).
 * @param value - the number
 * @returns the 16-bit pattern
 * @example
 * ```ts
 * float32ToFloat16Bits(1); // 0x3c00
 * ```
 */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) {
    // Inf or NaN; keep NaN quiet and non-zero.
    return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  }
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // Subnormal half (or zero). Shift the full 24-bit significand.
    if (e < -10) return sign; // rounds to zero (below half of the smallest subnormal)
    mant |= 0x800000;
    const shift = 14 - e; // 14..24
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    const rounded = rem > mid || (rem === mid && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded;
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent, and into inf: both are correct.
  const rounded = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  return sign | rounded;
}

/**
 * Converts IEEE binary16 bits to a number (exact).
 * @param bits - the 16-bit pattern
 * @returns the value
 * @example
 * ```ts
 * float16BitsToFloat32(0x3c00); // 1
 * ```
 */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Converts a number to bfloat16 bits with round-to-nearest-even on the float32 value.
 * @param value - the number
 * @returns the 16-bit pattern
 * @example
 * ```ts
 * float32ToBFloat16Bits(1); // 0x3f80
 * ```
 */
export function float32ToBFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/**
 * Converts bfloat16 bits to a number (exact).
 * @param bits - the 16-bit pattern
 * @returns the value
 * @example
 * ```ts
 * bfloat16BitsToFloat32(0x3f80); // 1
 * ```
 */
export function bfloat16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/**
 * Converts any numeric array to float32 values, decoding 16-bit float patterns when `dtype` says so.
 * @param data - source storage
 * @param dtype - dtype of `data`
 * @returns a new Float32Array (or `data` itself when already float32)
 * @example
 * ```ts
 * toFloat32(new Uint16Array([0x3c00]), 'float16'); // Float32Array [1]
 * ```
 */
export function toFloat32(data: TypedArray, dtype: DType): Float32Array {
  if (dtype === 'float32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === 'float16') for (let i = 0; i < data.length; i++) out[i] = float16BitsToFloat32(data[i]!);
  else if (dtype === 'bfloat16')
    for (let i = 0; i < data.length; i++) out[i] = bfloat16BitsToFloat32(data[i]!);
  else out.set(data);
  return out;
}

/**
 * Converts float values into storage of `dtype`: RNE for 16-bit floats, round-half-to-even and saturation
 * for integers (as a cast in PyTorch truncates instead, use {@link castValues} for cast semantics).
 * @param data - source values
 * @param dtype - target dtype
 * @returns new storage of `dtype`
 * @example
 * ```ts
 * fromFloat32(new Float32Array([1]), 'bfloat16'); // Uint16Array [0x3f80]
 * ```
 */
export function fromFloat32(data: ArrayLike<number>, dtype: DType): TypedArray {
  const n = data.length;
  const out = allocStorage(dtype, n);
  if (dtype === 'float16') for (let i = 0; i < n; i++) out[i] = float32ToFloat16Bits(data[i]!);
  else if (dtype === 'bfloat16') for (let i = 0; i < n; i++) out[i] = float32ToBFloat16Bits(data[i]!);
  else if (dtype === 'bool') for (let i = 0; i < n; i++) out[i] = data[i] ? 1 : 0;
  else (out as Float32Array).set(data);
  return out;
}

/**
 * Casts values between dtypes with PyTorch `.to(dtype)` semantics: float → int truncates toward zero
 * (wrapping like a C cast for out-of-range values), anything → bool is `!= 0`, float → f16/bf16 rounds to nearest even.
 * @param data - source storage
 * @param from - dtype of `data`
 * @param to - target dtype
 * @returns new storage of `to`
 * @example
 * ```ts
 * castValues(new Float32Array([1.7, -1.7]), 'float32', 'int32'); // Int32Array [1, -1]
 * ```
 */
export function castValues(data: TypedArray, from: DType, to: DType): TypedArray {
  if (from === to) return data.slice();
  const src: ArrayLike<number> = isFloat(from) ? toFloat32(data, from) : data;
  if (isFloat(to)) return fromFloat32(src, to);
  const out = allocStorage(to, src.length);
  if (to === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  // Typed-array assignment of a truncated value wraps modulo 2^n like a C cast.
  else for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  return out;
}
