import { readFile } from 'node:fs/promises';
import type { Tensor } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import type { Module } from './module.js';
import { type DecodedSafetensors, decodeSafetensors, encodeSafetensors } from './safetensors.js';

// Duck-typed: the CJS builds of the two entry points each carry their own Module class.
function isModule(v: unknown): v is Module {
  return typeof (v as Partial<Module>).stateDict === 'function';
}

/**
 * Saves a module's state dict (or any tensors) as a safetensors file, atomically (a temporary file renamed
 * over `path`, so a crash never leaves a partial file).
 * @param path - destination path
 * @param source - a module (its `stateDict()`) or name → tensor
 * @param metadata - optional `__metadata__` strings
 * @returns resolves once the file is durable
 * @throws {InvalidArgumentError} as {@link encodeSafetensors}, or a file-system error
 * @example
 * ```ts
 * await saveSafetensors('mobilenet.safetensors', model, { arch: 'mobilenet_v2' });
 * ```
 */
export async function saveSafetensors(
  path: string,
  source: Module | ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  // duck-typed: the CJS builds of the two entry points each carry their own Module class
  const tensors = isModule(source) ? source.stateDict() : source;
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads and validates a safetensors file (see {@link decodeSafetensors}).
 * @param path - file path
 * @returns the tensors and metadata
 * @throws {FormatError} when the file is malformed, or a file-system error
 * @example
 * ```ts
 * const { tensors } = await loadSafetensors('mobilenet.safetensors');
 * model.loadStateDict(tensors);
 * ```
 */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const buf = await readFile(path);
  return decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}
