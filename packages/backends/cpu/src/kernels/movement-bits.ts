import type { TypedArray } from '@tinyvision/tensor';

/** Integer storage of the same element width, for bit-exact copies. */
export type Bits = Int32Array | Uint16Array | Uint8Array;

/**
 * Views typed-array storage as integers of the same width (f32/i32 → Int32Array, f16/bf16 → Uint16Array,
 * 8-bit → Uint8Array) so that copies are bit-exact (NaN payloads included) and kernels see only three array types.
 * @param a - storage
 * @returns an integer view of the same memory
 */
export function bitsView(a: TypedArray): Bits {
  const w = a.BYTES_PER_ELEMENT;
  if (w === 4) return new Int32Array(a.buffer, a.byteOffset, a.length);
  if (w === 2) return new Uint16Array(a.buffer, a.byteOffset, a.length);
  return new Uint8Array(a.buffer, a.byteOffset, a.length);
}
