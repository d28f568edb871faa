// safetensors (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the byte buffer
// (offsets relative to its start; tensors row-major, little-endian). Browser-safe: no Node APIs.
import {
  type DType,
  FormatError,
  fromStorage,
  InvalidArgumentError,
  type Tensor,
  type TypedArray,
} from '@tinyvision/tensor';

/** The safetensors dtype codes this reader understands (I64 and F64 load as int32 and float32). */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8' | 'I32' | 'I64' | 'BOOL' | 'F64';

/** Result of {@link decodeSafetensors}. */
export interface DecodedSafetensors {
  /** Tensors by name, in header order. */
  readonly tensors: Map<string, Tensor>;
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Record<string, string>;
}

const TO_CODE: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int8: 'I8',
  uint8: 'U8',
  int32: 'I32',
  bool: 'BOOL',
};

const ITEM_SIZE: Record<SafetensorsDType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I8: 1,
  U8: 1,
  I32: 4,
  I64: 8,
  BOOL: 1,
  F64: 8,
};

const FROM_CODE: Record<SafetensorsDType, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I8: 'int8',
  U8: 'uint8',
  I32: 'int32',
  I64: 'int32',
  BOOL: 'bool',
  F64: 'float32',
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of a typed array in little-endian order. */
function leBytes(a: TypedArray): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const w = a.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN || w === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += w) for (let j = 0; j < w; j++) out[i + j] = bytes[i + w - 1 - j]!;
  return out;
}

/**
 * Serialises tensors (a state dict) in the safetensors format: compact JSON header (`__metadata__` first, then
 * the tensors in order) padded with spaces to 8 bytes, then the data. float16/bfloat16 are written as their raw
 * bits, bool as bytes. Reads the tensors synchronously (`dataSync`), so they must live on a backend that can
 * (CPU, WASM); quantized tensors are refused (safetensors has no scale/zero-point fields).
 * @param tensors - name → tensor (Map or record); names must not be `__metadata__`
 * @param metadata - optional string → string map stored as `__metadata__`
 * @returns the file bytes
 * @throws {InvalidArgumentError} on a quantized tensor, the reserved name, or non-string metadata values
 * @example
 * ```ts
 * const bytes = encodeSafetensors(model.stateDict(), { format: 'pt' });
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries: [string, Tensor][] =
    tensors instanceof Map
      ? [...(tensors as ReadonlyMap<string, Tensor>)]
      : Object.entries(tensors as Record<string, Tensor>);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new InvalidArgumentError(
          `encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`,
        );
      }
    }
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') {
      throw new InvalidArgumentError(
        `encodeSafetensors: '__metadata__' is reserved and cannot name a tensor`,
      );
    }
    if (t.quant) {
      throw new InvalidArgumentError(
        `encodeSafetensors: '${name}' is quantized (${t.dtype} with scale/zero-point); safetensors has no quantization fields`,
      );
    }
    const bytes = leBytes(t.dataSync());
    header[name] = {
      dtype: TO_CODE[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  let hbytes = new TextEncoder().encode(json);
  const pad = (8 - (hbytes.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    hbytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + hbytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, hbytes.length, true);
  dv.setUint32(4, 0, true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

interface Entry {
  name: string;
  code: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, v: unknown, bufLen: number, dataStart: number): Entry {
  const where = `safetensors: tensor '${name}'`;
  if (!isRecord(v)) throw new FormatError(`${where}: header entry must be an object`);
  const code = v.dtype;
  if (typeof code !== 'string' || !Object.hasOwn(ITEM_SIZE, code)) {
    throw new FormatError(
      `${where}: unsupported dtype ${JSON.stringify(code)}, expected one of ${Object.keys(ITEM_SIZE).join(', ')}`,
    );
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new FormatError(
      `${where}: 'shape' must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) {
    throw new FormatError(`${where}: 'data_offsets' must be [begin, end], got ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end || end > bufLen) {
    throw new FormatError(
      `${where}: data_offsets [${begin}, ${end}] (file bytes ${dataStart + begin}..${dataStart + end}) are outside the ${bufLen}-byte buffer`,
    );
  }
  const c = code as SafetensorsDType;
  const expected = shape.reduce((a: number, d: number) => a * d, 1) * ITEM_SIZE[c];
  if (end - begin !== expected) {
    throw new FormatError(
      `${where}: ${end - begin} bytes at file byte ${dataStart + begin}, expected ${expected} for ${c} shape [${shape.join(',')}]`,
    );
  }
  return { name, code: c, shape: shape as number[], begin, end };
}

function readValues(e: Entry, bytes: Uint8Array, start: number): TypedArray {
  const n = (e.end - e.begin) / ITEM_SIZE[e.code];
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start + e.begin, e.end - e.begin);
  switch (e.code) {
    case 'F32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16':
    case 'BF16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new FormatError(
            `safetensors: tensor '${e.name}': I64 value ${v} at file byte ${start + e.begin + i * 8} does not fit int32`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'I8':
      return new Int8Array(bytes.slice(start + e.begin, start + e.end).buffer);
    case 'U8':
      return bytes.slice(start + e.begin, start + e.end);
    case 'BOOL': {
      const out = bytes.slice(start + e.begin, start + e.end);
      const bad = out.findIndex((b) => b > 1);
      if (bad >= 0) {
        throw new FormatError(
          `safetensors: tensor '${e.name}': BOOL byte ${out[bad]} at file byte ${start + e.begin + bad} is not 0 or 1`,
        );
      }
      return out;
    }
  }
}

/**
 * Parses a safetensors file into tensors on the active backend, validating everything first: header length
 * against the file size, well-formed UTF-8 JSON, known dtypes, shapes, offsets inside the buffer and not
 * overlapping, byte sizes equal to `prod(shape)·itemsize`. I64 loads as int32 (range-checked), F64 as float32.
 * @param bytes - the file contents
 * @returns the tensors (header order) and the metadata
 * @throws {FormatError} on any malformation; the message names the tensor and the byte offset
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * model.loadStateDict(tensors);
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('safetensors: input must be a Uint8Array');
  if (bytes.length < 8) {
    throw new FormatError(
      `safetensors: file is ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 4294967296 + lo;
  if (n < 2 || n > bytes.length - 8) {
    throw new FormatError(
      `safetensors: header length ${n} at byte 0 does not fit the ${bytes.length}-byte file (at most ${bytes.length - 8})`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (e) {
    throw new FormatError(
      `safetensors: header (bytes 8..${8 + n}) is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!isRecord(header)) throw new FormatError('safetensors: header at byte 8 must be a JSON object');
  const start = 8 + n;
  const bufLen = bytes.length - start;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(v)) throw new FormatError(`safetensors: '__metadata__' must be an object of strings`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') {
          throw new FormatError(`safetensors: '__metadata__' value '${k}' must be a string, got ${typeof s}`);
        }
        metadata[k] = s;
      }
      continue;
    }
    entries.push(parseEntry(name, v, bufLen, start));
  }
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    if (b.begin < a.end) {
      throw new FormatError(
        `safetensors: tensor '${b.name}' (file bytes ${start + b.begin}..${start + b.end}) overlaps '${a.name}' (..${start + a.end})`,
      );
    }
  }
  const values = entries.map((e) => readValues(e, bytes, start));
  const tensors = new Map<string, Tensor>();
  entries.forEach((e, i) => {
    tensors.set(e.name, fromStorage(values[i]!, e.shape, FROM_CODE[e.code]));
  });
  return { tensors, metadata };
}
