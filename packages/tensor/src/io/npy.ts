import type { DType, TypedArray } from '../dtype.js';
import { allocStorage, bytesPerElement } from '../dtype.js';
import { FormatError } from '../errors/index.js';
import { fmtShape, sizeOf } from '../shape.js';

/** A decoded `.npy` array: raw storage, shape and dtype. */
export interface NpyArray {
  /** Values in tinyvision storage form (float16 as raw bits; bfloat16 is not an npy type). */
  readonly data: TypedArray;
  /** Shape (C order). */
  readonly shape: number[];
  /** Element type. */
  readonly dtype: DType;
}

const DESCR: Record<string, DType> = {
  '<f4': 'float32',
  '<f2': 'float16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<i4': 'int32',
  '|b1': 'bool',
};
const DESCR_OF: Partial<Record<DType, string>> = Object.fromEntries(
  Object.entries(DESCR).map(([k, v]) => [v, k]),
) as Partial<Record<DType, string>>;
// numpy has no bfloat16: we store it as '<u2' raw bits and say so in the header key 'tinyvision_dtype'.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * Parses a NumPy `.npy` file (versions 1–3, little-endian, C order).
 * Supported dtypes: `<f4 <f2 |i1 |u1 <i4 |b1`, `<f8` (converted to float32) and `<i8` (converted to int32 when in range).
 * @param bytes - file contents
 * @param where - file name for error messages
 * @param asDType - read `<u2` data as this dtype (bfloat16 bits written by torch fixtures)
 * @returns the array
 * @throws {FormatError} on bad magic, truncated data, Fortran order or an unsupported dtype
 * @example
 * ```ts
 * const { data, shape, dtype } = parseNpy(readFileSync('x.npy'));
 * ```
 */
export function parseNpy(bytes: Uint8Array, where = 'npy', asDType?: DType): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new FormatError(`${where}: bad magic at byte 0`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new FormatError(`${where}: unsupported npy version ${major}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > bytes.length)
    throw new FormatError(`${where}: header length ${hlen} exceeds file size`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(hstart, hstart + hlen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined)
    throw new FormatError(`${where}: malformed header ${JSON.stringify(header)}`);
  if (fortran === 'True') throw new FormatError(`${where}: fortran_order arrays are not supported`);
  const shape = shapeStr
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) throw new FormatError(`${where}: bad shape entry '${s}'`);
      return n;
    });
  const size = sizeOf(shape);
  const off = hstart + hlen;
  const tvDtype = /'tinyvision_dtype':\s*'([^']+)'/.exec(header)?.[1];
  const itemsize = descr === '<f8' || descr === '<i8' ? 8 : Number(descr.slice(2));
  if (bytes.length - off < size * itemsize) {
    throw new FormatError(
      `${where}: data truncated: need ${size * itemsize} bytes for ${fmtShape(shape)}, have ${bytes.length - off}`,
    );
  }
  const body = new Uint8Array(bytes.subarray(off, off + size * itemsize)).buffer; // a copy (Buffer.slice is a view)
  if (descr === '<u2' && (tvDtype === 'bfloat16' || asDType === 'bfloat16'))
    return { data: new Uint16Array(body), shape, dtype: 'bfloat16' };
  if (descr === '<f8') return { data: Float32Array.from(new Float64Array(body)), shape, dtype: 'float32' };
  if (descr === '<i8') {
    const big = new BigInt64Array(body);
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const v = big[i]!;
      if (v > 2147483647n || v < -2147483648n)
        throw new FormatError(`${where}: int64 value ${v} at ${i} exceeds int32`);
      out[i] = Number(v);
    }
    return { data: out, shape, dtype: 'int32' };
  }
  const dtype = DESCR[descr];
  if (!dtype) throw new FormatError(`${where}: unsupported dtype '${descr}'`);
  const data = allocStorage(dtype, size);
  new Uint8Array(data.buffer).set(new Uint8Array(body));
  return { data, shape, dtype };
}

/**
 * Serialises an array as `.npy` version 1.0 (bfloat16 as `<u2` bits with a `tinyvision_dtype` header key).
 * @param data - storage
 * @param shape - shape
 * @param dtype - element type
 * @returns the file bytes
 * @throws {FormatError} when data length and shape disagree
 * @example
 * ```ts
 * writeFileSync('x.npy', encodeNpy(new Float32Array([1, 2]), [2], 'float32'));
 * ```
 */
export function encodeNpy(data: TypedArray, shape: readonly number[], dtype: DType): Uint8Array {
  if (data.length !== sizeOf(shape))
    throw new FormatError(`npy: ${data.length} values do not fill ${fmtShape(shape)}`);
  const descr = dtype === 'bfloat16' ? '<u2' : DESCR_OF[dtype]!;
  const extra = dtype === 'bfloat16' ? ", 'tinyvision_dtype': 'bfloat16'" : '';
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}${extra}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const hb = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + hb.length + data.length * bytesPerElement(dtype));
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, hb.length, true);
  out.set(hb, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + hb.length);
  return out;
}
