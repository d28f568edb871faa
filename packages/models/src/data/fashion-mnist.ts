import { FormatError, fromStorage, InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { gunzipIfNeeded, parseIdx } from './idx.js';

/** The ten Fashion-MNIST classes, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Where the Debian package `dataset-fashion-mnist` installs the full dataset. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Folder of the embedded subset, relative to the package root. */
const EMBEDDED_SUBDIR = 'data/fashion-mnist-mini';

/** Which half of the dataset. */
export type FashionMnistSplit = 'train' | 'test';

/**
 * Where to read Fashion-MNIST from: `'embedded'` (the balanced 3,000 + 1,000 image subset shipped with this
 * package), `'system'` (the full 60,000 + 10,000 images of the Debian package `dataset-fashion-mnist`), or a
 * directory holding `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
 */
export type FashionMnistSource = 'embedded' | 'system' | (string & {});

/** Options of {@link readFashionMnistRaw}. */
export interface ReadFashionMnistOptions {
  /** `'train'` (default) or `'test'`. */
  readonly split?: FashionMnistSplit;
  /** Where to read from (default `'embedded'`). */
  readonly source?: FashionMnistSource;
  /** Keep only the first `limit` images. */
  readonly limit?: number;
}

/** Options of {@link loadFashionMnist}. */
export interface LoadFashionMnistOptions extends ReadFashionMnistOptions {
  /** Subtracted from the [0, 1]-scaled pixels (default 0). */
  readonly mean?: number;
  /** Divides the centred pixels (default 1). */
  readonly std?: number;
}

/** Fashion-MNIST as raw bytes, straight from the IDX files. */
export interface FashionMnistRaw {
  /** Pixels, `count × 28 × 28` uint8, row-major. */
  readonly images: Uint8Array;
  /** Labels in `0..9`, one per image. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** The files that were read. */
  readonly files: { readonly images: string; readonly labels: string };
}

/** Fashion-MNIST as tensors, ready for training. */
export interface FashionMnist {
  /** float32 `[N, 1, 28, 28]`, pixels scaled to [0, 1] then normalised as `(x - mean) / std`. */
  readonly images: Tensor;
  /** int32 `[N]`, class indices into `classNames`. */
  readonly labels: Tensor;
  /** The ten class names. */
  readonly classNames: readonly string[];
  /** Number of images. */
  readonly count: number;
}

const ROWS = 28;
const COLS = 28;

async function findEmbeddedDir(): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { join } = await import('node:path');
  const here = fileURLToPath(new URL('.', import.meta.url));
  // src/data/*.ts sits two levels below the package root, the bundled dist/index.js one level.
  const tried: string[] = [];
  for (const up of ['..', '../..', '../../..']) {
    const dir = join(here, up, EMBEDDED_SUBDIR);
    tried.push(dir);
    if (existsSync(join(dir, 'train-labels-idx1-ubyte.gz'))) return dir;
  }
  throw new FormatError(`fashion-mnist: embedded data not found; looked in ${tried.join(', ')}`);
}

async function resolveFile(dir: string, base: string): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new InvalidArgumentError(
    `fashion-mnist: source directory '${dir}' has no '${base}' or '${base}.gz'` +
      (dir === SYSTEM_FASHION_MNIST_DIR ? ' (install the Debian package dataset-fashion-mnist)' : ''),
  );
}

/**
 * Reads Fashion-MNIST images and labels as raw bytes (Node only).
 * @param opts - split, source and an optional limit
 * @returns the pixels, labels and the files read
 * @throws {InvalidArgumentError} on an unknown split, a bad limit or a source folder without the files
 * @throws {FormatError} when a file is not valid IDX, images are not 28×28, or counts disagree
 * @example
 * ```ts
 * const raw = await readFashionMnistRaw({ split: 'test', source: 'embedded' });
 * raw.count; // 1000
 * ```
 */
export async function readFashionMnistRaw(opts: ReadFashionMnistOptions = {}): Promise<FashionMnistRaw> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw new InvalidArgumentError(
      `fashion-mnist: 'split' must be 'train' or 'test', got '${String(split)}'`,
    );
  }
  const { limit } = opts;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidArgumentError(`fashion-mnist: 'limit' must be a non-negative integer, got ${limit}`);
  }
  const source = opts.source ?? 'embedded';
  const dir =
    source === 'embedded' ? await findEmbeddedDir() : source === 'system' ? SYSTEM_FASHION_MNIST_DIR : source;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = await resolveFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = await resolveFile(dir, `${prefix}-labels-idx1-ubyte`);
  const { readFile } = await import('node:fs/promises');
  const [imgBytes, lblBytes] = await Promise.all([readFile(imagesPath), readFile(labelsPath)]);
  const images = parseIdx(await gunzipIfNeeded(new Uint8Array(imgBytes), imagesPath), imagesPath);
  const labels = parseIdx(await gunzipIfNeeded(new Uint8Array(lblBytes), labelsPath), labelsPath);
  const [n, rows, cols] = images.shape;
  if (images.shape.length !== 3 || rows !== ROWS || cols !== COLS) {
    throw new FormatError(`${imagesPath}: image shape [${images.shape.join(',')}] must be [N,28,28]`);
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new FormatError(
      `${labelsPath}: label shape [${labels.shape.join(',')}] must be [${n}] to match the images`,
    );
  }
  const bad = labels.data.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new FormatError(`${labelsPath}: label ${labels.data[bad]} at ${bad} is not in 0..9`);
  const count = Math.min(n!, limit ?? n!);
  return {
    images: count === n ? images.data : images.data.slice(0, count * ROWS * COLS),
    labels: count === n ? labels.data : labels.data.slice(0, count),
    count,
    files: { images: imagesPath, labels: labelsPath },
  };
}

/**
 * Loads Fashion-MNIST as tensors (Node only): float32 images `[N,1,28,28]` scaled to [0, 1] (optionally
 * normalised with `mean`/`std`) and int32 labels `[N]`. The default source is the balanced subset embedded
 * in this package (300 train / 100 test images per class), so it works offline and needs no download.
 * @param opts - split (`'train'`), source (`'embedded'`), limit, mean and std
 * @returns images, labels, class names and the count
 * @throws {InvalidArgumentError} on bad options or a missing source folder
 * @throws {FormatError} when the files are malformed
 * @example
 * ```ts
 * registerBackend(cpu());
 * const { images, labels, classNames } = await loadFashionMnist({ split: 'train', mean: 0.286, std: 0.353 });
 * images.shape; // [3000, 1, 28, 28]
 * ```
 */
export async function loadFashionMnist(opts: LoadFashionMnistOptions = {}): Promise<FashionMnist> {
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std <= 0) {
    throw new InvalidArgumentError(
      `fashion-mnist: 'mean' must be finite and 'std' finite and > 0, got mean ${mean}, std ${std}`,
    );
  }
  const raw = await readFashionMnistRaw(opts);
  // A 256-entry table computed like torchvision: ToTensor (x / 255 in float32), then Normalize.
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (Math.fround(v / 255) - mean) / std;
  const px = new Float32Array(raw.images.length);
  for (let i = 0; i < px.length; i++) px[i] = table[raw.images[i]!]!;
  return {
    images: fromStorage(px, [raw.count, 1, ROWS, COLS], 'float32'),
    labels: fromStorage(Int32Array.from(raw.labels), [raw.count], 'int32'),
    classNames: FASHION_MNIST_CLASSES,
    count: raw.count,
  };
}
