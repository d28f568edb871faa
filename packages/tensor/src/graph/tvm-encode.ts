import { bytesPerElement } from '../dtype.js';
import { sha256Hex } from './sha256.js';
import {
  align64,
  encodeAttrs,
  LITTLE_ENDIAN_HOST,
  swapBytes,
  TVM_FORMAT_VERSION,
  TVM_HEADER_BYTES,
  TVM_MAGIC,
} from './tvm-format.js';
import type { Graph } from './types.js';
import { validateGraph } from './validate.js';

/** Options of {@link encodeTvm}. */
export interface EncodeTvmOptions {
  /** Store a SHA-256 of each tensor's bytes, verified on decode (default false: it costs time on big models). */
  readonly checksums?: boolean;
}

/**
 * Serialises a graph to the `.tvm` container: `TVM1`, u32 LE format version, u32 LE JSON length, the JSON
 * (structure, value infos, initializer table), zero padding to 64 bytes, then the weight blob with each
 * tensor 64-byte aligned (little-endian element bytes). Browser-safe.
 * @param graph - the graph (validated first)
 * @param opts - checksum option
 * @returns the file bytes
 * @throws {GraphError} / {ShapeError} when the graph is invalid
 * @example
 * ```ts
 * const bytes = encodeTvm(optimizeGraph(trace(model, [x])));
 * const back = decodeTvm(bytes);
 * ```
 */
export function encodeTvm(graph: Graph, opts: EncodeTvmOptions = {}): Uint8Array {
  const g = validateGraph(graph);
  let blobLength = 0;
  const table = [...g.initializers.values()].map((init) => {
    let bytes = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
    if (!LITTLE_ENDIAN_HOST) {
      bytes = bytes.slice();
      swapBytes(bytes, bytesPerElement(init.dtype));
    }
    const offset = align64(blobLength);
    blobLength = offset + bytes.length;
    return {
      bytes,
      entry: {
        name: init.name,
        dtype: init.dtype,
        shape: [...init.shape],
        ...(init.quant ? { quant: init.quant } : {}),
        offset,
        length: bytes.length,
        ...(opts.checksums ? { sha256: sha256Hex(bytes) } : {}),
      },
    };
  });
  blobLength = align64(blobLength);
  const json = {
    format: 'tinyvision.tvm',
    irVersion: g.version,
    ...(g.name !== undefined ? { name: g.name } : {}),
    metadata: g.metadata,
    inputs: g.inputs,
    outputs: g.outputs,
    values: [...g.values.values()].map((v) => ({
      name: v.name,
      shape: v.shape,
      dtype: v.dtype,
      ...(v.quant ? { quant: v.quant } : {}),
    })),
    nodes: g.nodes.map((n) => ({
      name: n.name,
      op: n.op,
      inputs: n.inputs,
      outputs: n.outputs,
      attrs: encodeAttrs(n.attrs),
    })),
    initializers: table.map((t) => t.entry),
    blobLength,
  };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const blobStart = align64(TVM_HEADER_BYTES + text.length);
  const out = new Uint8Array(blobStart + blobLength);
  out.set(new TextEncoder().encode(TVM_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, TVM_FORMAT_VERSION, true);
  dv.setUint32(8, text.length, true);
  out.set(text, TVM_HEADER_BYTES);
  for (const { bytes, entry } of table) out.set(bytes, blobStart + entry.offset);
  return out;
}
