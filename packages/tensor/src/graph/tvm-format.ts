import type { Attrs } from '../backend/backend-spec-v1.js';
import { FormatError } from '../errors/index.js';

/** Magic bytes at offset 0 of a `.tvm` file. */
export const TVM_MAGIC = 'TVM1';
/** Current `.tvm` container version (u32 at offset 4). */
export const TVM_FORMAT_VERSION = 1;
/** Alignment of the weight blob and of each tensor in it. */
export const TVM_ALIGN = 64;
/** Size of the fixed header: magic, version, JSON length. */
export const TVM_HEADER_BYTES = 12;

/** Rounds up to a multiple of {@link TVM_ALIGN}. */
export function align64(n: number): number {
  return Math.ceil(n / TVM_ALIGN) * TVM_ALIGN;
}

/** Whether the host stores multi-byte numbers little-endian (every mainstream JS engine does). */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of each `width`-byte element in place (big-endian hosts only). */
export function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** Attr values as JSON: non-finite numbers become `{"$f": "Infinity" | "-Infinity" | "NaN"}`. */
export function encodeAttrValue(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return { $f: String(v) };
  if (Array.isArray(v)) return v.map(encodeAttrValue);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeAttrValue(x)]));
  }
  return v;
}

/** Attr values nest at most this deep (quant params sit at depth 2); deeper input is rejected. */
const MAX_ATTR_DEPTH = 16;

/** Inverse of {@link encodeAttrValue}; `path` names the field in errors. */
export function decodeAttrValue(v: unknown, path: string, depth = 0): unknown {
  if (depth > MAX_ATTR_DEPTH)
    throw new FormatError(`tvm: ${path} nests deeper than ${MAX_ATTR_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x, i) => decodeAttrValue(x, `${path}[${i}]`, depth + 1));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.hasOwn(o, '$f')) {
      const f = o.$f;
      if (Object.keys(o).length !== 1 || (f !== 'Infinity' && f !== '-Infinity' && f !== 'NaN')) {
        throw new FormatError(`tvm: ${path} is a malformed non-finite number ${JSON.stringify(v)}`);
      }
      return Number(f);
    }
    return Object.fromEntries(
      Object.entries(o).map(([k, x]) => [k, decodeAttrValue(x, `${path}.${k}`, depth + 1)]),
    );
  }
  return v;
}

/** Encodes node attrs. */
export function encodeAttrs(a: Attrs): unknown {
  return encodeAttrValue(a);
}
