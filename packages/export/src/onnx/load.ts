// Node-only ONNX file reading: the model plus its external-data files beside it.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { FormatError, type Graph } from '@tinyvision/tensor';
import { type ImportOnnxOptions, importOnnx } from './import.js';
import type { ExternalDataReader } from './import-tensor.js';

/**
 * An external-data reader for a model in `dir`: locations must be relative paths inside `dir` (no `..`, no
 * absolute paths); each file is read once.
 * @param dir - the model's directory
 * @returns the reader
 * @internal
 */
export function externalDataReader(dir: string): ExternalDataReader {
  const files = new Map<string, Uint8Array>();
  return (location, offset, length) => {
    if (isAbsolute(location) || location.split(/[\\/]/).includes('..') || location.includes('\0')) {
      throw new FormatError(
        `importOnnx: external data location '${location}' must be a relative path beside the model`,
      );
    }
    const file = join(dir, location);
    let buf = files.get(file);
    if (!buf) {
      try {
        buf = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new FormatError(
          `importOnnx: cannot read external data '${location}' (${(e as Error).message})`,
        );
      }
      files.set(file, buf);
    }
    const end = length < 0 ? buf.length : offset + length;
    if (offset > buf.length || end > buf.length) {
      throw new FormatError(
        `importOnnx: external data '${location}' has ${buf.length} bytes; [${offset}, ${end}) is out of range`,
      );
    }
    return buf.subarray(offset, end);
  };
}

/**
 * Reads an ONNX model file (and any external-data files beside it) into the graph IR with `importOnnx`.
 * @param path - the `.onnx` file
 * @param opts - inputs to freeze as constants
 * @returns the validated graph
 * @throws {FormatError} for a malformed model or unreadable/out-of-range external data
 * @throws {UnsupportedOpError} for an op, dtype or opset the importer cannot express
 * @throws the file-system error when `path` cannot be read
 * @example
 * ```ts
 * const g = await loadOnnx('mobilenet_v2.onnx');
 * const { outputs: [logits] } = runGraph(g, [x]);
 * ```
 */
export async function loadOnnx(
  path: string,
  opts: Omit<ImportOnnxOptions, 'readExternal'> = {},
): Promise<Graph> {
  const bytes = new Uint8Array(await readFile(path));
  return importOnnx(bytes, { ...opts, readExternal: externalDataReader(dirname(resolve(path))) });
}
