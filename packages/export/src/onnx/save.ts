// Node-only ONNX file writing: one .onnx file, or a model plus an external-data file beside it.
import { basename } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { type Graph, InvalidArgumentError } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import {
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
} from './generated/onnx/onnx_pb.js';
import { buildOnnxModel, type ExportOnnxOptions } from './writer.js';

/** Options of `saveOnnx`: the export options plus external data. */
export interface SaveOnnxOptions extends ExportOnnxOptions {
  /**
   * Store initializers of at least {@link SaveOnnxOptions.externalDataThreshold} bytes in `<path>.data` beside
   * the model (ONNX external data, each tensor 64-byte aligned), for models past protobuf's 2 GiB limit or to
   * keep the graph file small. Default false.
   */
  readonly externalData?: boolean;
  /** Smallest initializer (bytes) moved to the external file (default 1024). */
  readonly externalDataThreshold?: number;
}

const ALIGN = 64;

/**
 * Writes a graph as ONNX: a single file, or with `externalData` the model plus `<path>.data` (written first;
 * both atomically, so a reader never sees a model whose data file is missing or partial).
 * @param path - destination `.onnx` path
 * @param graph - the graph
 * @param opts - export options, external data
 * @returns resolves once the files are durable
 * @throws {UnsupportedOpError} for an op without an ONNX mapping (nothing is written)
 * @throws {InvalidArgumentError} for a bad threshold
 * @internal
 */
export async function saveOnnxFiles(path: string, graph: Graph, opts: SaveOnnxOptions = {}): Promise<void> {
  const model = buildOnnxModel(graph, opts);
  if (!opts.externalData) {
    await writeFileAtomic(path, toBinary(ModelProtoSchema, model));
    return;
  }
  const threshold = opts.externalDataThreshold ?? 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new InvalidArgumentError(
      `saveOnnx: 'externalDataThreshold' ${threshold} must be a non-negative integer`,
    );
  }
  const location = `${basename(path)}.data`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (t.rawData.length < threshold || t.rawData.length === 0) continue;
    const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(t.rawData);
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(t.rawData.length) }),
    ];
    offset += t.rawData.length;
    t.rawData = new Uint8Array();
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  await writeFileAtomic(`${path}.data`, data);
  await writeFileAtomic(path, toBinary(ModelProtoSchema, model));
}
