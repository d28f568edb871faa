// TensorProto decoding for the ONNX importer: bounded, typed, little-endian; int64 held as exact JS numbers.
import { type DType, FormatError, type TypedArray, UnsupportedOpError } from '@tinyvision/tensor';
import {
  type TensorProto,
  TensorProto_DataLocation,
  TensorProto_DataType,
} from './generated/onnx/onnx_pb.js';

/** Most elements one tensor (initializer, constant, folded value) may hold: 2^28. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;
/** Most dims a tensor may have. */
export const MAX_RANK = 16;

/**
 * Symbolic dims folded by `Shape` are held as sentinels at or below this value (`SYM_BASE − id`), so shape
 * arithmetic (Gather, Concat, Unsqueeze, Slice) can carry them to a Reshape target. @internal
 */
export const SYM_BASE = -(2 ** 45);

/** Whether a folded value is a symbolic-dim sentinel. @internal */
export function isSym(v: number): boolean {
  return v <= SYM_BASE;
}

/** Whether a constant holds symbolic-dim sentinels. @internal */
export function hasSym(c: OnnxConst): boolean {
  return c.data instanceof Float64Array && c.data.some(isSym);
}

/**
 * A constant known at import time. `data` is in the storage of `type`: Float32Array (FLOAT), Float64Array
 * (DOUBLE, and every 64/32/16-bit integer type as exact numbers), Int32Array (INT32), Int8Array, Uint8Array
 * (UINT8, BOOL), Uint16Array (FLOAT16/BFLOAT16 bits).
 * @internal
 */
export interface OnnxConst {
  /** ONNX `TensorProto.DataType`. */
  readonly type: number;
  /** Concrete dims. */
  readonly shape: readonly number[];
  /** Row-major data. */
  readonly data: Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;
}

/** Reads bytes of an external tensor: `location` relative to the model, byte `offset`, byte `length` (-1: to the end). */
export type ExternalDataReader = (location: string, offset: number, length: number) => Uint8Array;

const T = TensorProto_DataType;

/** The tinyvision dtype an ONNX type maps to (int64 → int32), or undefined when there is none. */
export function onnxToDType(type: number): DType | undefined {
  switch (type) {
    case T.FLOAT:
      return 'float32';
    case T.FLOAT16:
      return 'float16';
    case T.BFLOAT16:
      return 'bfloat16';
    case T.INT8:
      return 'int8';
    case T.UINT8:
      return 'uint8';
    case T.INT32:
    case T.INT64:
      return 'int32';
    case T.BOOL:
      return 'bool';
    default:
      return undefined;
  }
}

/** Human-readable ONNX type name. */
export function onnxTypeName(type: number): string {
  return T[type] ?? `type ${type}`;
}

/** Bytes per element of each ONNX type that has a fixed size. */
const BYTES: Partial<Record<number, number>> = {
  [T.FLOAT]: 4,
  [T.UINT8]: 1,
  [T.INT8]: 1,
  [T.UINT16]: 2,
  [T.INT16]: 2,
  [T.INT32]: 4,
  [T.INT64]: 8,
  [T.BOOL]: 1,
  [T.FLOAT16]: 2,
  [T.DOUBLE]: 8,
  [T.UINT32]: 4,
  [T.UINT64]: 8,
  [T.BFLOAT16]: 2,
};

/** Checks dims (non-negative safe integers, bounded rank and size); returns them as numbers. */
export function checkDims(dims: readonly (bigint | number)[], where: string): number[] {
  if (dims.length > MAX_RANK) throw new FormatError(`${where}: rank ${dims.length} exceeds ${MAX_RANK}`);
  let n = 1;
  const out = dims.map((d) => {
    const v = Number(d);
    if (!Number.isSafeInteger(v) || v < 0) throw new FormatError(`${where}: bad dim ${String(d)}`);
    n *= v;
    return v;
  });
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new FormatError(`${where}: ${n} elements exceed the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
  return out;
}

function alloc(type: number, n: number): OnnxConst['data'] {
  switch (type) {
    case T.FLOAT:
      return new Float32Array(n);
    case T.INT32:
      return new Int32Array(n);
    case T.INT8:
      return new Int8Array(n);
    case T.UINT8:
    case T.BOOL:
      return new Uint8Array(n);
    case T.FLOAT16:
    case T.BFLOAT16:
      return new Uint16Array(n);
    default:
      return new Float64Array(n);
  }
}

function fromRaw(type: number, raw: Uint8Array, n: number, where: string): OnnxConst['data'] {
  const size = BYTES[type]!;
  if (raw.length !== n * size) {
    throw new FormatError(
      `${where}: raw_data has ${raw.length} bytes, expected ${n * size} (${n} × ${size})`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = alloc(type, n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (type) {
      case T.FLOAT:
        out[i] = view.getFloat32(o, true);
        break;
      case T.DOUBLE:
        out[i] = view.getFloat64(o, true);
        break;
      case T.INT32:
        out[i] = view.getInt32(o, true);
        break;
      case T.UINT32:
        out[i] = view.getUint32(o, true);
        break;
      case T.INT64:
        out[i] = Number(view.getBigInt64(o, true));
        break;
      case T.UINT64:
        out[i] = Number(view.getBigUint64(o, true));
        break;
      case T.INT16:
        out[i] = view.getInt16(o, true);
        break;
      case T.UINT16:
      case T.FLOAT16:
      case T.BFLOAT16:
        out[i] = view.getUint16(o, true);
        break;
      case T.BOOL:
        out[i] = raw[o]! ? 1 : 0;
        break;
      default:
        out[i] = type === T.INT8 ? view.getInt8(o) : raw[o]!;
    }
  }
  return out;
}

function fromFields(t: TensorProto, n: number, where: string): OnnxConst['data'] {
  const type = t.dataType;
  let src: readonly (number | bigint)[];
  let field: string;
  if (type === T.FLOAT) [src, field] = [t.floatData, 'float_data'];
  else if (type === T.DOUBLE) [src, field] = [t.doubleData, 'double_data'];
  else if (type === T.INT64) [src, field] = [t.int64Data, 'int64_data'];
  else if (type === T.UINT32 || type === T.UINT64) [src, field] = [t.uint64Data, 'uint64_data'];
  else [src, field] = [t.int32Data, 'int32_data'];
  if (src.length !== n) throw new FormatError(`${where}: ${field} has ${src.length} values, expected ${n}`);
  const out = alloc(type, n);
  for (let i = 0; i < n; i++) {
    const v = Number(src[i]!);
    out[i] = type === T.BOOL ? (v ? 1 : 0) : v;
  }
  return out;
}

/**
 * Decodes a `TensorProto` into an {@link OnnxConst}, checking dims, sizes and the data field.
 * @param t - the tensor
 * @param where - context for error messages
 * @param external - reads external data (absent: external tensors are rejected)
 * @returns the constant
 * @throws {FormatError} on malformed dims/data or unreadable external data
 * @throws {UnsupportedOpError} for string, complex or 8-bit float tensors
 * @internal
 */
export function decodeTensor(t: TensorProto, where: string, external?: ExternalDataReader): OnnxConst {
  const w = `${where}${t.name ? ` '${t.name}'` : ''}`;
  const shape = checkDims(t.dims, w);
  const n = shape.reduce((a, d) => a * d, 1);
  if (BYTES[t.dataType] === undefined) {
    throw new UnsupportedOpError(`${w}: tensor type ${onnxTypeName(t.dataType)} is not supported`);
  }
  if (t.segment) throw new UnsupportedOpError(`${w}: segmented tensors are not supported`);
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) throw new FormatError(`${w}: external tensor without a 'location'`);
    if (!external) {
      throw new FormatError(
        `${w}: external data '${location}' needs a file reader (use loadOnnx from /node)`,
      );
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : -1;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < -1) {
      throw new FormatError(`${w}: bad external offset/length`);
    }
    return { type: t.dataType, shape, data: fromRaw(t.dataType, external(location, offset, length), n, w) };
  }
  const data = t.rawData.length > 0 || n === 0 ? fromRaw(t.dataType, t.rawData, n, w) : fromFields(t, n, w);
  return { type: t.dataType, shape, data };
}

/**
 * The constant's values in tinyvision storage for `dtype` (int64 values are range-checked into int32).
 * @internal
 */
export function constStorage(c: OnnxConst, dtype: DType, where: string): TypedArray {
  if (dtype === 'float32') return c.data instanceof Float32Array ? c.data : Float32Array.from(c.data);
  if (dtype === 'int32') {
    if (c.data instanceof Int32Array) return c.data;
    const out = new Int32Array(c.data.length);
    for (let i = 0; i < out.length; i++) {
      // ONNX uses ±INT64_MAX-like sentinels ("to the end"); clamp them to the int32 range
      const v = c.data[i]!;
      out[i] = Math.min(Math.max(v, -2147483648), 2147483647);
    }
    return out;
  }
  if (dtype === 'bool' || dtype === 'uint8') {
    return c.data instanceof Uint8Array ? c.data : Uint8Array.from(c.data);
  }
  if (dtype === 'int8') return c.data instanceof Int8Array ? c.data : Int8Array.from(c.data);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    if (c.data instanceof Uint16Array) return c.data;
  }
  throw new UnsupportedOpError(`${where}: cannot hold ${onnxTypeName(c.type)} data as ${dtype}`);
}

/** The constant's values as plain numbers (for attribute-like inputs). @internal */
export function constNumbers(c: OnnxConst): number[] {
  return Array.from(c.data as ArrayLike<number>);
}
