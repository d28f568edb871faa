import { FormatError } from '@tinyvision/tensor';

/** A decoded IDX array (the MNIST file format): unsigned bytes in row-major order plus the shape. */
export interface IdxArray {
  /** Dimensions, outermost first (e.g. `[60000, 28, 28]` for MNIST-style images). */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly data: Uint8Array;
}

/** IDX type code of unsigned bytes, the only element type MNIST-style datasets use. */
const UBYTE = 0x08;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Parses an uncompressed IDX file (the format of MNIST and Fashion-MNIST): a 4-byte magic
 * `00 00 <type> <rank>`, `rank` big-endian uint32 dimensions, then the values. Only the unsigned-byte
 * type (0x08) is supported. The function is pure (no Node APIs); gzip-compressed input is rejected with a
 * hint, use {@link readIdxFile} in Node to read `.gz` files.
 * @param bytes - the file contents
 * @param where - a name for error messages (file name)
 * @returns the shape and a copy of the values
 * @throws {FormatError} on a bad magic number, gzip input, an unsupported element type, a truncated
 *   header or body, or trailing bytes after the declared size
 * @example
 * ```ts
 * const { shape, data } = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]));
 * // shape [2], data Uint8Array [7, 9]
 * ```
 */
export function parseIdx(bytes: Uint8Array, where = 'idx'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new FormatError(
      `${where}: input is gzip-compressed (magic 1f 8b); decompress it first or use readIdxFile()`,
    );
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    const got = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FormatError(`${where}: bad magic '${got}' at byte 0, expected '00 00 <type> <rank>'`);
  }
  const type = bytes[2]!;
  if (type !== UBYTE) {
    const name = TYPE_NAMES[type] ?? 'unknown';
    throw new FormatError(
      `${where}: element type 0x${type.toString(16).padStart(2, '0')} (${name}) is not supported, expected 0x08 (unsigned byte)`,
    );
  }
  const rank = bytes[3]!;
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new FormatError(
      `${where}: header truncated: rank ${rank} needs ${headerLen} bytes, file has ${bytes.length}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    shape.push(d);
    size *= d;
  }
  const body = bytes.length - headerLen;
  if (body < size) {
    throw new FormatError(
      `${where}: data truncated: shape ${fmt(shape)} needs ${size} bytes after the header, file has ${body}`,
    );
  }
  if (body > size) {
    throw new FormatError(
      `${where}: size mismatch: shape ${fmt(shape)} needs ${size} bytes after the header, file has ${body}`,
    );
  }
  return { shape, data: bytes.slice(headerLen) };
}

/**
 * Serialises unsigned bytes as an uncompressed IDX file (type 0x08), the inverse of {@link parseIdx}.
 * @param data - values, row-major
 * @param shape - dimensions (each < 2^32)
 * @returns the file bytes
 * @throws {FormatError} when `data.length` does not match the shape or a dimension is invalid
 * @example
 * ```ts
 * const bytes = encodeIdx(new Uint8Array([7, 9]), [2]);
 * parseIdx(bytes).shape; // [2]
 * ```
 */
export function encodeIdx(data: Uint8Array, shape: readonly number[]): Uint8Array {
  if (shape.length > 255) throw new FormatError(`idx: rank ${shape.length} exceeds 255`);
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new FormatError(`idx: dimension ${d} in shape ${fmt(shape)} is not a uint32`);
    }
    size *= d;
  }
  if (data.length !== size) {
    throw new FormatError(`idx: ${data.length} values do not fill shape ${fmt(shape)} (${size})`);
  }
  const headerLen = 4 + 4 * shape.length;
  const out = new Uint8Array(headerLen + size);
  const dv = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}

/**
 * Reads an IDX file in Node, decompressing it first when it is gzip-compressed (`.gz` or magic `1f 8b`).
 * @param path - file path
 * @returns the parsed array
 * @throws {FormatError} when the file (after decompression) is not a valid unsigned-byte IDX file
 * @example
 * ```ts
 * const labels = await readIdxFile('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
 * labels.shape; // [10000]
 * ```
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  const { readFile } = await import('node:fs/promises');
  const raw = new Uint8Array(await readFile(path));
  return parseIdx(await gunzipIfNeeded(raw, path), path);
}

/**
 * Decompresses gzip data (detected by its magic bytes) in Node; other data is returned unchanged.
 * @param bytes - possibly gzip-compressed bytes
 * @param where - a name for error messages
 * @returns the decompressed bytes
 * @throws {FormatError} when the gzip stream is corrupt or truncated
 * @internal
 */
export async function gunzipIfNeeded(bytes: Uint8Array, where: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const { gunzipSync } = await import('node:zlib');
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new FormatError(`${where}: corrupt gzip data: ${err instanceof Error ? err.message : String(err)}`);
  }
}
