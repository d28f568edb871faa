import { allocStorage, bytesPerElement, DTYPES, type DType, type TypedArray } from '../dtype.js';
import { FormatError, TinyVisionError } from '../errors/index.js';
import type { QuantParams } from '../quant.js';
import { sha256Hex } from './sha256.js';
import {
  align64,
  decodeAttrValue,
  LITTLE_ENDIAN_HOST,
  swapBytes,
  TVM_FORMAT_VERSION,
  TVM_HEADER_BYTES,
  TVM_MAGIC,
} from './tvm-format.js';
import { type Dim, type Graph, type Initializer, makeGraph, type Node, type ValueInfo } from './types.js';
import { validateGraph } from './validate.js';

/** Options of {@link decodeTvm}. */
export interface DecodeTvmOptions {
  /** Verify the SHA-256 of tensors that carry one (default true). */
  readonly verifyChecksums?: boolean;
}

const fail = (msg: string): never => {
  throw new FormatError(`tvm: ${msg}`);
};

type Json = Record<string, unknown>;

function obj(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be an object`);
  return v as Json;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(`${path} must be an array`);
  return v as unknown[];
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${path} must be a non-empty string`);
  return v as string;
}
function uint(v: unknown, path: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0)
    fail(`${path} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v as number;
}
function dtype(v: unknown, path: string): DType {
  if (typeof v !== 'string' || !(DTYPES as readonly string[]).includes(v)) {
    fail(`${path} must be one of ${DTYPES.join('|')}, got ${JSON.stringify(v)}`);
  }
  return v as DType;
}
function dims(v: unknown, path: string, symbolic: boolean): Dim[] {
  return arr(v, path).map((d, i) =>
    symbolic && typeof d === 'string' ? str(d, `${path}[${i}]`) : uint(d, `${path}[${i}]`),
  );
}
function quant(v: unknown, path: string): QuantParams | undefined {
  if (v === undefined) return undefined;
  const q = obj(v, path);
  const scale = arr(q.scale, `${path}.scale`).map((s, i) => {
    if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s))
      fail(`${path}.scale[${i}] must be a positive number`);
    return s as number;
  });
  const zeroPoint = arr(q.zeroPoint, `${path}.zeroPoint`).map((z, i) => {
    if (!Number.isSafeInteger(z)) fail(`${path}.zeroPoint[${i}] must be an integer`);
    return z as number;
  });
  if (scale.length === 0 || scale.length !== zeroPoint.length)
    fail(`${path}: scale and zeroPoint need equal non-zero lengths`);
  if (q.axis === undefined) return { scale, zeroPoint };
  return { scale, zeroPoint, axis: uint(q.axis, `${path}.axis`) };
}

function readHeader(bytes: Uint8Array): { json: Json; blobStart: number } {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < TVM_HEADER_BYTES)
    fail(`file is ${bytes.length} bytes, shorter than the ${TVM_HEADER_BYTES}-byte header`);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== TVM_MAGIC) fail(`bad magic ${JSON.stringify(magic)} at byte 0, expected "${TVM_MAGIC}"`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== TVM_FORMAT_VERSION)
    fail(`unsupported format version ${version} at byte 4 (this reader supports ${TVM_FORMAT_VERSION})`);
  const jsonLength = dv.getUint32(8, true);
  if (TVM_HEADER_BYTES + jsonLength > bytes.length) {
    fail(`JSON length ${jsonLength} at byte 8 runs past the end of the ${bytes.length}-byte file`);
  }
  let parsed: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(TVM_HEADER_BYTES, TVM_HEADER_BYTES + jsonLength),
    );
    parsed = JSON.parse(text);
  } catch (e) {
    fail(
      `the JSON header (bytes ${TVM_HEADER_BYTES}..${TVM_HEADER_BYTES + jsonLength}) does not parse: ${(e as Error).message}`,
    );
  }
  return { json: obj(parsed, '$'), blobStart: align64(TVM_HEADER_BYTES + jsonLength) };
}

function readNode(v: unknown, i: number): Node {
  const p = `$.nodes[${i}]`;
  const n = obj(v, p);
  const inputs = arr(n.inputs, `${p}.inputs`).map((x, k) =>
    x === null ? null : str(x, `${p}.inputs[${k}]`),
  );
  const outputs = arr(n.outputs, `${p}.outputs`).map((x, k) => str(x, `${p}.outputs[${k}]`));
  const attrs = decodeAttrValue(obj(n.attrs, `${p}.attrs`), `${p}.attrs`) as Record<string, unknown>;
  return { name: str(n.name, `${p}.name`), op: str(n.op, `${p}.op`), inputs, outputs, attrs };
}

function readValue(v: unknown, i: number): ValueInfo {
  const p = `$.values[${i}]`;
  const o = obj(v, p);
  const q = quant(o.quant, `${p}.quant`);
  const base = {
    name: str(o.name, `${p}.name`),
    shape: dims(o.shape, `${p}.shape`, true),
    dtype: dtype(o.dtype, `${p}.dtype`),
  };
  return q ? { ...base, quant: q } : base;
}

function readInitializer(
  v: unknown,
  i: number,
  bytes: Uint8Array,
  blobStart: number,
  blobLength: number,
  verify: boolean,
): Initializer {
  const p = `$.initializers[${i}]`;
  const o = obj(v, p);
  const name = str(o.name, `${p}.name`);
  const dt = dtype(o.dtype, `${p}.dtype`);
  const shape = dims(o.shape, `${p}.shape`, false) as number[];
  const offset = uint(o.offset, `${p}.offset`);
  const length = uint(o.length, `${p}.length`);
  const count = shape.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(count) || count * bytesPerElement(dt) !== length) {
    fail(
      `${p} (${name}): ${dt}[${shape.join(',')}] needs ${count * bytesPerElement(dt)} bytes but length is ${length}`,
    );
  }
  if (offset % 64 !== 0) fail(`${p}.offset ${offset} (${name}) is not 64-byte aligned`);
  if (offset + length > blobLength) {
    fail(
      `${p} (${name}): bytes ${offset}..${offset + length} of the blob lie past its end (${blobLength} bytes)`,
    );
  }
  const raw = bytes.slice(blobStart + offset, blobStart + offset + length);
  if (o.sha256 !== undefined) {
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256))
      fail(`${p}.sha256 must be 64 hex digits`);
    if (verify && sha256Hex(raw) !== o.sha256) {
      fail(`${p} (${name}): SHA-256 mismatch for blob bytes at file offset ${blobStart + offset}`);
    }
  }
  if (!LITTLE_ENDIAN_HOST) swapBytes(raw, bytesPerElement(dt));
  const ctor = allocStorage(dt, 0).constructor as new (b: ArrayBuffer) => TypedArray;
  const q = quant(o.quant, `${p}.quant`);
  const init = { name, dtype: dt, shape, data: new ctor(raw.buffer) };
  return q ? { ...init, quant: q } : init;
}

/**
 * Parses and fully validates a `.tvm` file (magic, version, lengths, offsets, JSON schema, dtypes, shapes vs
 * byte lengths, checksums, then {@link validateGraph}). Never crashes or hangs on malformed input. Browser-safe.
 * @param bytes - the file bytes
 * @param opts - checksum verification
 * @returns the graph (initializer data is copied out of `bytes`)
 * @throws {FormatError} saying what is wrong and where (byte offset or JSON path like `$.nodes[3].inputs[1]`)
 * @example
 * ```ts
 * const g = decodeTvm(new Uint8Array(await (await fetch('model.tvm')).arrayBuffer()));
 * ```
 */
export function decodeTvm(bytes: Uint8Array, opts: DecodeTvmOptions = {}): Graph {
  const { json, blobStart } = readHeader(bytes);
  if (json.format !== 'tinyvision.tvm')
    fail(`$.format must be "tinyvision.tvm", got ${JSON.stringify(json.format)}`);
  const irVersion = uint(json.irVersion, '$.irVersion');
  const blobLength = uint(json.blobLength, '$.blobLength');
  if (blobStart + blobLength !== bytes.length) {
    fail(
      `file is ${bytes.length} bytes but the header declares ${blobStart + blobLength} (blob of ${blobLength} bytes at offset ${blobStart})`,
    );
  }
  const meta = obj(json.metadata ?? {}, '$.metadata');
  for (const [k, v] of Object.entries(meta))
    if (typeof v !== 'string') fail(`$.metadata.${k} must be a string`);
  const verify = opts.verifyChecksums ?? true;
  const parts = {
    version: irVersion,
    ...(json.name !== undefined ? { name: str(json.name, '$.name') } : {}),
    inputs: arr(json.inputs, '$.inputs').map((v, i) => str(v, `$.inputs[${i}]`)),
    outputs: arr(json.outputs, '$.outputs').map((v, i) => str(v, `$.outputs[${i}]`)),
    nodes: arr(json.nodes, '$.nodes').map(readNode),
    values: arr(json.values, '$.values').map(readValue),
    initializers: arr(json.initializers, '$.initializers').map((v, i) =>
      readInitializer(v, i, bytes, blobStart, blobLength, verify),
    ),
    metadata: meta as Record<string, string>,
  };
  const seen = new Set<string>();
  for (const v of parts.values) {
    if (seen.has(v.name)) fail(`$.values: '${v.name}' is listed twice`);
    seen.add(v.name);
  }
  seen.clear();
  for (const v of parts.initializers) {
    if (seen.has(v.name)) fail(`$.initializers: '${v.name}' is listed twice`);
    seen.add(v.name);
  }
  try {
    return validateGraph(makeGraph(parts));
  } catch (e) {
    if (!TinyVisionError.isInstance(e)) throw e;
    throw new FormatError(`tvm: invalid graph: ${e.message}`);
  }
}
