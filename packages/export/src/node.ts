/**
 * `@tinyvision/export/node`: Node-only helpers (file system): atomic ONNX file writes.
 * @packageDocumentation
 */
import type { Graph } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { type ExportOnnxOptions, exportOnnx } from './onnx/writer.js';

/**
 * Exports a graph with {@link exportOnnx} and writes it atomically (temporary file, fsync, rename): `path` is
 * either left untouched or holds the complete model, never a partial file.
 * @param path - destination `.onnx` path
 * @param graph - a float32 graph
 * @param opts - export options (opset, producer, model version, metadata)
 * @returns resolves once the file is durable
 * @throws {UnsupportedOpError} for an op without an ONNX mapping (nothing is written)
 * @throws the underlying file-system error (e.g. ENOENT when the directory does not exist)
 * @example
 * ```ts
 * await saveOnnx('model.onnx', optimizeGraph(trace(model, [randn([1, 3, 32, 32])], { dynamicBatch: true })));
 * ```
 */
export async function saveOnnx(path: string, graph: Graph, opts: ExportOnnxOptions = {}): Promise<void> {
  await writeFileAtomic(path, exportOnnx(graph, opts));
}
