/**
 * `@tinyvision/tensor/node`: Node-only helpers (file system): atomic writes and `.tvm` file I/O.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type DecodeTvmOptions, decodeTvm } from './graph/tvm-decode.js';
import { type EncodeTvmOptions, encodeTvm } from './graph/tvm-encode.js';
import type { Graph } from './graph/types.js';

/**
 * Writes a file atomically: the bytes go to a temporary file in the same directory, which is fsynced and then
 * renamed over `path` (the directory is fsynced too where the platform allows). On any error the temporary file
 * is removed, so `path` is either the old file or the complete new one, never a partial write.
 * @param path - destination path
 * @param data - file contents
 * @returns resolves once the file is durable
 * @throws the underlying file-system error (e.g. ENOENT when the directory does not exist)
 * @example
 * ```ts
 * await writeFileAtomic('model.json', new TextEncoder().encode(JSON.stringify(cfg)));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Persist the rename itself; directories cannot be opened for fsync on every platform (Windows), so best effort.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // ignored: durability of the directory entry is best effort
  }
}

/**
 * Saves a graph as a `.tvm` file, atomically (see {@link writeFileAtomic}).
 * @param path - destination path
 * @param graph - the graph (validated first)
 * @param opts - encoding options (checksums)
 * @returns resolves once written
 * @throws {GraphError} when the graph is invalid, or a file-system error
 * @example
 * ```ts
 * await saveTvm('resnet8.tvm', optimizeGraph(trace(model, [x])));
 * ```
 */
export async function saveTvm(path: string, graph: Graph, opts: EncodeTvmOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeTvm(graph, opts));
}

/**
 * Loads and validates a `.tvm` file.
 * @param path - file path
 * @param opts - decoding options
 * @returns the graph
 * @throws {FormatError} when the file is malformed (the message says what and where), or a file-system error
 * @example
 * ```ts
 * const g = await loadTvm('resnet8.tvm');
 * ```
 */
export async function loadTvm(path: string, opts: DecodeTvmOptions = {}): Promise<Graph> {
  const buf = await readFile(path);
  return decodeTvm(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts);
}
