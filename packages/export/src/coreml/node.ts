import { readFile } from 'node:fs/promises';
import type { Graph } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import type { ExportCoreMLOptions } from './common.js';
import { importCoreML } from './nn-reader.js';
import { exportCoreML } from './nn-writer.js';

/**
 * Exports a graph with `exportCoreML` and writes the `.mlmodel` atomically (temporary file, fsync, rename).
 * @param path - destination `.mlmodel` path
 * @param graph - a float32 graph
 * @param opts - weights, image input, labels, metadata
 * @returns resolves once the file is durable
 * @throws {UnsupportedOpError} for an op without a NeuralNetwork mapping (nothing is written)
 * @example
 * ```ts
 * await saveCoreML('model.mlmodel', graph, { weights: 'float16' });
 * ```
 */
export async function saveCoreML(path: string, graph: Graph, opts: ExportCoreMLOptions = {}): Promise<void> {
  await writeFileAtomic(path, exportCoreML(graph, opts));
}

/**
 * Reads a `.mlmodel` file with `importCoreML`.
 * @param path - the file
 * @returns the graph
 * @throws {FormatError} for a file that is not a valid Core ML model
 * @example
 * ```ts
 * const g = await loadCoreML('model.mlmodel');
 * ```
 */
export async function loadCoreML(path: string): Promise<Graph> {
  return importCoreML(new Uint8Array(await readFile(path)));
}
