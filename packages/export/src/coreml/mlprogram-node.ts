// Node helpers for `.mlpackage` directories: atomic save (temp dir + rename), load.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FormatError, type Graph } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import type { ExportCoreMLOptions } from './common.js';
import { importMLPackage } from './mlprogram-reader.js';
import {
  exportMLPackage,
  MLPACKAGE_MODEL_PATH,
  MLPACKAGE_WEIGHTS_PATH,
  type MLPackage,
} from './mlprogram-writer.js';

/**
 * Exports a graph with `exportMLPackage` and writes the `.mlpackage` directory atomically: the files go to a
 * temporary sibling directory which is renamed to `dir` once complete (an existing `dir` is replaced), so `dir`
 * never holds a half-written package.
 * @param dir - destination directory, e.g. `model.mlpackage`
 * @param graph - a float32 graph
 * @param opts - weights, image input, labels, metadata
 * @returns resolves once the package is in place
 * @throws {UnsupportedOpError} for an op without an ML Program mapping (nothing is written)
 * @throws the underlying file-system error, e.g. ENOENT when the parent directory does not exist (the temporary
 * directory is removed)
 * @example
 * ```ts
 * await saveMLPackage('model.mlpackage', graph, { weights: 'float16' });
 * ```
 */
export async function saveMLPackage(
  dir: string,
  graph: Graph,
  opts: ExportCoreMLOptions = {},
): Promise<void> {
  const pkg = exportMLPackage(graph, opts);
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const old = `${tmp}-old`;
  // Not recursive: a missing parent directory is an error (ENOENT), as for the single-file writers.
  await mkdir(tmp);
  try {
    await mkdir(join(tmp, dirname(MLPACKAGE_WEIGHTS_PATH)), { recursive: true });
    await writeFileAtomic(join(tmp, 'Manifest.json'), pkg.manifest);
    await writeFileAtomic(join(tmp, MLPACKAGE_MODEL_PATH), pkg.model);
    await writeFileAtomic(join(tmp, MLPACKAGE_WEIGHTS_PATH), pkg.weights);
    let replaced = false;
    try {
      await rename(dir, old);
      replaced = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await rename(tmp, dir);
    } catch (e) {
      if (replaced) await rename(old, dir);
      throw e;
    }
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Reads the files of a `.mlpackage` directory.
 * @param dir - the package directory
 * @returns the package files
 * @throws {FormatError} when a file is missing
 * @example
 * ```ts
 * const pkg = await readMLPackage('model.mlpackage');
 * ```
 */
export async function readMLPackage(dir: string): Promise<MLPackage> {
  const read = async (p: string) => {
    try {
      return await readFile(join(dir, p));
    } catch (e) {
      throw new FormatError(`mlpackage: cannot read '${p}' in '${dir}': ${(e as Error).message}`);
    }
  };
  const manifest = (await read('Manifest.json')).toString('utf8');
  return {
    manifest,
    model: new Uint8Array(await read(MLPACKAGE_MODEL_PATH)),
    weights: new Uint8Array(await read(MLPACKAGE_WEIGHTS_PATH)),
  };
}

/**
 * Reads a `.mlpackage` directory with `importMLPackage`.
 * @param dir - the package directory
 * @returns the graph
 * @throws {FormatError} for a missing file or a malformed package
 * @example
 * ```ts
 * const g = await loadMLPackage('model.mlpackage');
 * ```
 */
export async function loadMLPackage(dir: string): Promise<Graph> {
  return importMLPackage(await readMLPackage(dir));
}
