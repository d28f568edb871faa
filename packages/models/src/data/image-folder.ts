import { FormatError, fromStorage, InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { decodeImage, resizeToChw } from './image-decode.js';

/** Options of {@link loadImageFolder}. */
export interface LoadImageFolderOptions {
  /** Output `[height, width]` every image is resized to (bilinear); required. */
  readonly size: readonly [number, number];
  /** Per-channel mean subtracted from the [0, 1]-scaled pixels, RGB order (default `[0, 0, 0]`). */
  readonly mean?: number | readonly [number, number, number];
  /** Per-channel divisor applied after the mean (default `[1, 1, 1]`). */
  readonly std?: number | readonly [number, number, number];
  /** File extensions to read, case-insensitive (default `['.png', '.jpg', '.jpeg']`); other files are skipped. */
  readonly extensions?: readonly string[];
}

/** An image-folder dataset as tensors. */
export interface ImageFolder {
  /** float32 `[N, 3, H, W]`, RGB, normalised as `(x / 255 - mean) / std`. */
  readonly images: Tensor;
  /** int32 `[N]`, indices into `classNames`. */
  readonly labels: Tensor;
  /** Sub-folder names, sorted; a label is an index into this list. */
  readonly classNames: readonly string[];
  /** The image files read, in dataset order (class by class, file names sorted). */
  readonly files: readonly string[];
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

function channels(v: number | readonly number[] | undefined, dflt: number, name: string): number[] {
  const arr = v === undefined ? [dflt, dflt, dflt] : typeof v === 'number' ? [v, v, v] : [...v];
  if (
    arr.length !== 3 ||
    arr.some((x) => !Number.isFinite(x)) ||
    (name === 'std' && arr.some((x) => x <= 0))
  ) {
    throw new InvalidArgumentError(
      `loadImageFolder: '${name}' must be a finite number or 3 finite numbers${name === 'std' ? ' > 0' : ''}, got ${JSON.stringify(v)}`,
    );
  }
  return arr;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Loads a classification dataset laid out as one sub-folder per class (torchvision `ImageFolder`),
 * Node only: `dir/<class>/<image>.png|jpg`. Class names are the sub-folder names sorted by code point and
 * map to labels `0..C-1`; files inside each class are sorted too, so the order is deterministic. Every
 * image is decoded to RGB, resized to `size` with bilinear interpolation (half-pixel centres, as
 * `F.interpolate(align_corners=False)`), scaled to [0, 1] and normalised with `mean` / `std`.
 * @param dir - the dataset root
 * @param opts - output size, normalisation and accepted extensions
 * @returns images, labels, class names and the files in dataset order
 * @throws {InvalidArgumentError} on bad options, a missing root, or a root without class folders or images
 * @throws {FormatError} naming the file when an image is corrupt, truncated or not PNG/JPEG
 * @example
 * ```ts
 * registerBackend(cpu());
 * const ds = await loadImageFolder('data/flowers/train', {
 *   size: [96, 96], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
 * });
 * ds.images.shape; // [N, 3, 96, 96]
 * ```
 */
export async function loadImageFolder(dir: string, opts: LoadImageFolderOptions): Promise<ImageFolder> {
  const size = opts?.size;
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !size.every((d) => Number.isInteger(d) && d > 0 && d <= 16384)
  ) {
    throw new InvalidArgumentError(
      `loadImageFolder: 'size' must be [height, width] of positive integers, got ${JSON.stringify(size)}`,
    );
  }
  const [outH, outW] = size;
  const mean = channels(opts.mean, 0, 'mean');
  const std = channels(opts.std, 1, 'std');
  const exts = (opts.extensions ?? DEFAULT_EXTENSIONS).map((e) =>
    (e.startsWith('.') ? e : `.${e}`).toLowerCase(),
  );
  const { readdir, readFile } = await import('node:fs/promises');
  const { join, extname } = await import('node:path');
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new InvalidArgumentError(
      `loadImageFolder: cannot read directory '${dir}': ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(compareNames);
  if (classNames.length === 0) {
    throw new InvalidArgumentError(`loadImageFolder: '${dir}' has no class sub-folders`);
  }
  const files: string[] = [];
  const labelList: number[] = [];
  for (let c = 0; c < classNames.length; c++) {
    const classDir = join(dir, classNames[c]!);
    const names = (await readdir(classDir, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && exts.includes(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort(compareNames);
    for (const n of names) {
      files.push(join(classDir, n));
      labelList.push(c);
    }
  }
  if (files.length === 0) {
    throw new InvalidArgumentError(
      `loadImageFolder: no images with extensions ${exts.join(', ')} under the class folders of '${dir}'`,
    );
  }
  const per = 3 * outH * outW;
  const pixels = new Float32Array(files.length * per);
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (err) {
      throw new FormatError(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
    }
    const img = await decodeImage(bytes, file);
    resizeToChw(img, outH, outW, mean, std, pixels, i * per);
  }
  return {
    images: fromStorage(pixels, [files.length, 3, outH, outW], 'float32'),
    labels: fromStorage(Int32Array.from(labelList), [files.length], 'int32'),
    classNames,
    files,
  };
}
