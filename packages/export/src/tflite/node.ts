// Node file helpers of the TFLite writer and reader (re-exported by `@tinyvision/export/node`).
import { readFile } from 'node:fs/promises';
import type { Graph } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { importTflite } from './reader.js';
import { type ExportTfliteOptions, exportTflite } from './writer.js';

/**
 * Exports a graph with `exportTflite` and writes it atomically (temporary file, fsync, rename): `path` is
 * either left untouched or holds the complete model, never a partial file.
 * @param path - destination `.tflite` path
 * @param graph - a float32 graph or an int8 QDQ graph
 * @param opts - layout, batch size, quantization, description
 * @returns resolves once the file is durable
 * @throws {UnsupportedOpError} for an op without a TFLite mapping (nothing is written)
 * @throws the underlying file-system error (e.g. ENOENT when the directory does not exist)
 * @example
 * ```ts
 * await saveTflite('model.tflite', traceModule(model, [randn([1, 3, 224, 224])]), { quantization: 'fp16' });
 * ```
 */
export async function saveTflite(path: string, graph: Graph, opts: ExportTfliteOptions = {}): Promise<void> {
  await writeFileAtomic(path, exportTflite(graph, opts));
}

/**
 * Reads a `.tflite` file into a graph with `importTflite`.
 * @param path - the file
 * @returns the graph (NHWC inputs)
 * @throws {FormatError} on a malformed file
 * @throws {UnsupportedOpError} on an operator the reader does not map
 * @throws the underlying file-system error
 * @example
 * ```ts
 * const g = await loadTflite('model.tflite');
 * ```
 */
export async function loadTflite(path: string): Promise<Graph> {
  return importTflite(new Uint8Array(await readFile(path)));
}
