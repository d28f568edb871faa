/**
 * `@tinyvision/export/node`: Node-only helpers (file system): atomic ONNX file writes.
 * @packageDocumentation
 */
import type { Graph } from '@tinyvision/tensor';
import { type SaveOnnxOptions, saveOnnxFiles } from './onnx/save.js';

/**
 * Exports a graph with `exportOnnx` and writes it atomically (temporary file, fsync, rename): `path` is
 * either left untouched or holds the complete model, never a partial file. With `externalData`, initializers
 * go to `<path>.data` beside the model (written first).
 * @param path - destination `.onnx` path
 * @param graph - a float32 (or int8 QDQ) graph
 * @param opts - export options (opset, producer, model version, metadata, dtype, quantFormat, externalData)
 * @returns resolves once the file is durable
 * @throws {UnsupportedOpError} for an op without an ONNX mapping (nothing is written)
 * @throws the underlying file-system error (e.g. ENOENT when the directory does not exist)
 * @example
 * ```ts
 * await saveOnnx('model.onnx', optimizeGraph(trace(model, [randn([1, 3, 32, 32])], { dynamicBatch: true })));
 * await saveOnnx('big.onnx', graph, { externalData: true }); // big.onnx + big.onnx.data
 * ```
 */
export async function saveOnnx(path: string, graph: Graph, opts: SaveOnnxOptions = {}): Promise<void> {
  await saveOnnxFiles(path, graph, opts);
}
export { loadMLPackage, readMLPackage, saveMLPackage } from './coreml/mlprogram-node.js';
export { loadCoreML, saveCoreML } from './coreml/node.js';
export { loadOnnx } from './onnx/load.js';
export type { SaveOnnxOptions } from './onnx/save.js';
export { loadTflite, saveTflite } from './tflite/node.js';
