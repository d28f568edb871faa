import { FormatError, fromStorage, type Tensor, TinyVisionError } from '@tinyvision/tensor';
import { FASHION_MNIST_CLASSES, loadFashionMnist, SYSTEM_FASHION_MNIST_DIR } from './fashion-mnist.js';
import { readIdxFile } from './idx.js';
import { loadImageFolder } from './image-folder.js';
import { type DetectionTargets, syntheticDetection } from './synthetic-detection.js';

/**
 * A parsed dataset spec (see {@link parseDatasetSpec} for the string forms).
 */
export type DatasetSpec =
  | {
      /** The Fashion-MNIST subset embedded in `@tinyvision/models`. */
      readonly kind: 'embedded';
    }
  | {
      /** The full Fashion-MNIST of the Debian package `dataset-fashion-mnist`. */
      readonly kind: 'fashion-mnist';
      /** Its folder, {@link SYSTEM_FASHION_MNIST_DIR}. */
      readonly dir: string;
    }
  | {
      /** MNIST-style IDX files. */
      readonly kind: 'idx';
      /** The folder holding the four files. */
      readonly dir: string;
    }
  | {
      /** An image folder, one sub-folder per class. */
      readonly kind: 'folder';
      /** The dataset root. */
      readonly dir: string;
    }
  | {
      /** Generated detection images (see `syntheticDetection`). */
      readonly kind: 'synthetic-detection';
      /** Number of images. */
      readonly count: number;
    };

/** The spec kinds {@link parseDatasetSpec} accepts, with their string form. */
export const DATASET_SPEC_FORMS: readonly string[] = Object.freeze([
  'embedded',
  'fashion-mnist',
  'idx:DIR',
  'folder:DIR',
  'synthetic-detection[:N]',
]);

/** Images of `synthetic-detection` when the spec gives no count. */
const DEFAULT_SYNTHETIC_COUNT = 64;

/**
 * A dataset spec is malformed, or the data it names is missing or unusable. The message names the spec, the
 * file or folder at fault and what was expected.
 * @example
 * ```ts
 * try { parseDatasetSpec('mnist'); } catch (e) { if (DatasetSpecError.isInstance(e)) console.error(e.spec); }
 * ```
 */
export class DatasetSpecError extends TinyVisionError {
  /** The spec string at fault. */
  readonly spec: string;
  /** The file or folder at fault, when there is one. */
  readonly file: string | undefined;
  /**
   * @param spec - the spec string
   * @param message - what is wrong and what was expected
   * @param file - the file or folder at fault
   * @param options - `cause`
   */
  constructor(spec: string, message: string, file?: string, options?: ErrorOptions) {
    super(`dataset '${spec}': ${message}`, 'DATASET_SPEC', options);
    this.spec = spec;
    this.file = file;
  }
}

/**
 * Parses a dataset spec string:
 * - `embedded`: the Fashion-MNIST subset shipped with `@tinyvision/models` (3,000 train / 1,000 test images);
 * - `fashion-mnist`: the full Fashion-MNIST of the Debian package `dataset-fashion-mnist`
 *   (`/usr/share/datasets/fashion-mnist`);
 * - `idx:DIR`: a folder with the four MNIST-style IDX files `{train,t10k}-{images-idx3,labels-idx1}-ubyte`,
 *   each raw or `.gz`;
 * - `folder:DIR`: an image folder, one sub-folder per class (with `train/` and `test/` or `val/` sub-folders
 *   when the split is given by the folder layout);
 * - `synthetic-detection[:N]`: `N` generated detection images (default 64).
 * @param spec - the spec string
 * @returns the parsed spec
 * @throws {DatasetSpecError} for an unknown kind, a missing folder path or a bad count (the message lists the forms)
 * @example
 * ```ts
 * parseDatasetSpec('idx:/data/mnist'); // { kind: 'idx', dir: '/data/mnist' }
 * parseDatasetSpec('synthetic-detection:32'); // { kind: 'synthetic-detection', count: 32 }
 * ```
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  const s = typeof spec === 'string' ? spec.trim() : '';
  const forms = `expected one of ${DATASET_SPEC_FORMS.join(', ')}`;
  if (s === 'embedded') return { kind: 'embedded' };
  if (s === 'fashion-mnist') return { kind: 'fashion-mnist', dir: SYSTEM_FASHION_MNIST_DIR };
  const colon = s.indexOf(':');
  const kind = colon < 0 ? s : s.slice(0, colon);
  const arg = colon < 0 ? undefined : s.slice(colon + 1);
  if (kind === 'idx' || kind === 'folder') {
    if (!arg) throw new DatasetSpecError(String(spec), `'${kind}:' needs a folder, as in '${kind}:DIR'`);
    return { kind, dir: arg };
  }
  if (kind === 'synthetic-detection') {
    if (arg === undefined) return { kind, count: DEFAULT_SYNTHETIC_COUNT };
    const count = /^[0-9]+$/.test(arg) ? Number(arg) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new DatasetSpecError(
        String(spec),
        `the image count must be a positive integer, as in 'synthetic-detection:64', got '${arg}'`,
      );
    }
    return { kind, count };
  }
  throw new DatasetSpecError(String(spec), `unknown dataset kind '${kind}'; ${forms}`);
}

/**
 * The string form of a parsed spec (inverse of {@link parseDatasetSpec}).
 * @param spec - a parsed spec
 * @returns the spec string
 * @example
 * ```ts
 * formatDatasetSpec({ kind: 'idx', dir: 'data' }); // 'idx:data'
 * ```
 */
export function formatDatasetSpec(spec: DatasetSpec): string {
  switch (spec.kind) {
    case 'embedded':
    case 'fashion-mnist':
      return spec.kind;
    case 'idx':
    case 'folder':
      return `${spec.kind}:${spec.dir}`;
    case 'synthetic-detection':
      return `synthetic-detection:${spec.count}`;
  }
}

/** Per-channel input normalisation, `(x / 255 - mean) / std`. */
export interface DatasetNormalization {
  /** Per-channel mean. */
  readonly mean: readonly number[];
  /** Per-channel divisor. */
  readonly std: readonly number[];
}

/** Fashion-MNIST training-set statistics (also used for other IDX data). */
const FASHION_NORM: DatasetNormalization = Object.freeze({ mean: [0.286], std: [0.353] });
/** ImageNet statistics, for RGB image folders. */
const IMAGENET_NORM: DatasetNormalization = Object.freeze({
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});

/**
 * The default normalisation of a dataset kind: Fashion-MNIST statistics for the grayscale kinds, ImageNet
 * statistics for image folders, none (mean 0, std 1) for synthetic data.
 * @param spec - spec string or parsed spec
 * @returns per-channel mean and std
 * @throws {DatasetSpecError} when the spec string is malformed
 * @example
 * ```ts
 * datasetNormalization('fashion-mnist'); // { mean: [0.286], std: [0.353] }
 * ```
 */
export function datasetNormalization(spec: string | DatasetSpec): DatasetNormalization {
  const p = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (p.kind === 'folder') return IMAGENET_NORM;
  if (p.kind === 'synthetic-detection') return { mean: [0, 0, 0], std: [1, 1, 1] };
  return FASHION_NORM;
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** `'train'` (default) or `'test'`. */
  readonly split?: 'train' | 'test';
  /** Keep only the first `limit` images. */
  readonly limit?: number;
  /** `folder:` images are resized to this `[height, width]` (default `[32, 32]`); `synthetic-detection` uses the height as its side (default 64). */
  readonly size?: readonly [number, number];
  /** Normalisation (default {@link datasetNormalization} of the spec). */
  readonly normalization?: DatasetNormalization;
}

/** A classification dataset as tensors. */
export interface ClassificationData {
  /** Discriminant. */
  readonly task: 'classification';
  /** The spec string it was loaded from. */
  readonly spec: string;
  /** Which split. */
  readonly split: 'train' | 'test';
  /** float32 `[N, C, H, W]`, normalised. */
  readonly images: Tensor;
  /** int32 `[N]`, indices into `classNames`. */
  readonly labels: Tensor;
  /** Class names, indexed by label. */
  readonly classNames: readonly string[];
  /** Number of images. */
  readonly count: number;
  /** The normalisation applied. */
  readonly normalization: DatasetNormalization;
}

/** A detection dataset as tensors and per-image targets. */
export interface DetectionData {
  /** Discriminant. */
  readonly task: 'detection';
  /** The spec string it was loaded from. */
  readonly spec: string;
  /** Which split. */
  readonly split: 'train' | 'test';
  /** float32 `[N, 3, S, S]`. */
  readonly images: Tensor;
  /** Boxes and labels per image. */
  readonly targets: DetectionTargets;
  /** Class names, indexed by label. */
  readonly classNames: readonly string[];
  /** Number of images. */
  readonly count: number;
}

/** What {@link loadDataset} returns. */
export type LoadedDataset = ClassificationData | DetectionData;

async function exists(path: string): Promise<'file' | 'dir' | undefined> {
  const { stat } = await import('node:fs/promises');
  try {
    const st = await stat(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** The path of `base` or `base.gz` in `dir`, or a DatasetSpecError naming both. */
async function idxFile(spec: string, dir: string, base: string, hint: string): Promise<string> {
  const { join } = await import('node:path');
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    if ((await exists(p)) === 'file') return p;
  }
  throw new DatasetSpecError(
    spec,
    `missing file '${join(dir, base)}' (or '${base}.gz'); expected the four MNIST-style IDX files ` +
      `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]${hint}`,
    join(dir, base),
  );
}

async function checkDir(spec: string, dir: string, what: string): Promise<void> {
  if ((await exists(dir)) !== 'dir') {
    throw new DatasetSpecError(spec, `folder '${dir}' does not exist; expected ${what}`, dir);
  }
}

function checkNorm(spec: string, n: DatasetNormalization, channels: number): void {
  const ok = (v: readonly number[], pos: boolean) =>
    Array.isArray(v) &&
    (v.length === 1 || v.length === channels) &&
    v.every((x) => Number.isFinite(x) && (!pos || x > 0));
  if (!ok(n.mean, false) || !ok(n.std, true)) {
    throw new DatasetSpecError(
      spec,
      `normalization needs 1 or ${channels} finite means and stds > 0, got ${JSON.stringify(n)}`,
    );
  }
}

function checkLimit(spec: string, limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new DatasetSpecError(spec, `'limit' must be a positive integer, got ${limit}`);
  }
}

/** Loads the four IDX files of `idx:DIR` (uint8 images `[N,H,W]` or `[N,C,H,W]`, labels `[N]`). */
async function loadIdx(
  spec: string,
  dir: string,
  split: 'train' | 'test',
  limit: number | undefined,
  norm: DatasetNormalization,
): Promise<ClassificationData> {
  await checkDir(spec, dir, 'a folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]');
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = await idxFile(spec, dir, `${prefix}-images-idx3-ubyte`, '');
  const labelsPath = await idxFile(spec, dir, `${prefix}-labels-idx1-ubyte`, '');
  const [imgs, lbls] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  const shape = imgs.shape.length === 3 ? [imgs.shape[0]!, 1, imgs.shape[1]!, imgs.shape[2]!] : imgs.shape;
  if (shape.length !== 4 || shape.some((d) => d < 1)) {
    throw new FormatError(
      `${imagesPath}: image shape [${imgs.shape.join(',')}] must be [N,H,W] or [N,C,H,W] with non-zero sizes`,
    );
  }
  const [n, c, h, w] = shape as [number, number, number, number];
  if (lbls.shape.length !== 1 || lbls.shape[0] !== n) {
    throw new FormatError(
      `${labelsPath}: label shape [${lbls.shape.join(',')}] must be [${n}] to match the images`,
    );
  }
  checkNorm(spec, norm, c);
  const count = Math.min(n, limit ?? n);
  const per = c * h * w;
  const px = new Float32Array(count * per);
  for (let ch = 0; ch < c; ch++) {
    const m = norm.mean[norm.mean.length === 1 ? 0 : ch]!;
    const s = norm.std[norm.std.length === 1 ? 0 : ch]!;
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = (Math.fround(v / 255) - m) / s;
    for (let i = 0; i < count; i++) {
      const off = i * per + ch * h * w;
      for (let k = 0; k < h * w; k++) px[off + k] = table[imgs.data[off + k]!]!;
    }
  }
  const labels = Int32Array.from(lbls.data.subarray(0, count));
  let numClasses = 0;
  for (const l of labels) numClasses = Math.max(numClasses, l + 1);
  return {
    task: 'classification',
    spec,
    split,
    images: fromStorage(px, [count, c, h, w], 'float32'),
    labels: fromStorage(labels, [count], 'int32'),
    // IDX files carry no class names: the labels' numbers stand in for them.
    classNames: Array.from({ length: numClasses }, (_, i) => String(i)),
    count,
    normalization: norm,
  };
}

/** Keeps every image of an image folder whose index satisfies `keep`. */
function subset(images: Tensor, labels: Tensor, keep: (i: number) => boolean, limit: number | undefined) {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const per = c * h * w;
  const src = images.dataSync() as Float32Array;
  const lab = labels.dataSync() as Int32Array;
  const idx: number[] = [];
  for (let i = 0; i < n && (limit === undefined || idx.length < limit); i++) if (keep(i)) idx.push(i);
  const px = new Float32Array(idx.length * per);
  idx.forEach((i, k) => px.set(src.subarray(i * per, (i + 1) * per), k * per));
  return {
    images: fromStorage(px, [idx.length, c, h, w], 'float32'),
    labels: fromStorage(
      Int32Array.from(idx, (i) => lab[i]!),
      [idx.length],
      'int32',
    ),
  };
}

async function loadFolder(
  spec: string,
  dir: string,
  split: 'train' | 'test',
  opts: LoadDatasetOptions,
  norm: DatasetNormalization,
): Promise<ClassificationData> {
  const { join } = await import('node:path');
  await checkDir(spec, dir, 'an image folder with one sub-folder of PNG/JPEG images per class');
  checkNorm(spec, norm, 3);
  const size = opts.size ?? [32, 32];
  const pick = (v: readonly number[]) => (v.length === 1 ? v[0]! : ([v[0]!, v[1]!, v[2]!] as const));
  const testDir = (await exists(join(dir, 'test'))) === 'dir' ? 'test' : 'val';
  const splitLayout =
    (await exists(join(dir, 'train'))) === 'dir' && (await exists(join(dir, testDir))) === 'dir';
  const root = splitLayout ? join(dir, split === 'train' ? 'train' : testDir) : dir;
  let ds: Awaited<ReturnType<typeof loadImageFolder>>;
  try {
    ds = await loadImageFolder(root, { size, mean: pick(norm.mean), std: pick(norm.std) });
  } catch (e) {
    if (!TinyVisionError.isInstance(e)) throw e;
    throw new DatasetSpecError(spec, e.message, root, { cause: e });
  }
  // Without train/ and test/ sub-folders, every fifth image (in dataset order) is held out as the test split.
  const keep = splitLayout ? () => true : (i: number) => (i % 5 === 4) === (split === 'test');
  const { images, labels } = subset(ds.images, ds.labels, keep, opts.limit);
  ds.images.dispose();
  ds.labels.dispose();
  if (images.shape[0] === 0) {
    throw new DatasetSpecError(spec, `the ${split} split of '${root}' has no images`, root);
  }
  return {
    task: 'classification',
    spec,
    split,
    images,
    labels,
    classNames: ds.classNames,
    count: images.shape[0]!,
    normalization: norm,
  };
}

/**
 * Loads the dataset a spec names (Node only), see {@link parseDatasetSpec} for the forms. Classification kinds
 * give normalised float32 images `[N, C, H, W]` and int32 labels; `synthetic-detection` gives images and
 * per-image boxes (the test split uses another seed than the train split). An `folder:` without `train/` and
 * `test/` (or `val/`) sub-folders holds out every fifth image as its test split.
 * @param spec - spec string or parsed spec
 * @param opts - split, limit, image size (folders, synthetic) and normalisation
 * @returns the dataset
 * @throws {DatasetSpecError} naming the spec and the file or folder when the spec is malformed, a folder or
 *   file is missing, or an option is invalid
 * @throws {FormatError} naming the file when an IDX file or an image is malformed
 * @example
 * ```ts
 * registerBackend(cpu());
 * const test = await loadDataset('embedded', { split: 'test' });
 * if (test.task === 'classification') test.images.shape; // [1000, 1, 28, 28]
 * ```
 */
export async function loadDataset(
  spec: string | DatasetSpec,
  opts: LoadDatasetOptions = {},
): Promise<LoadedDataset> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const name = typeof spec === 'string' ? spec.trim() : formatDatasetSpec(spec);
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw new DatasetSpecError(name, `'split' must be 'train' or 'test', got '${String(split)}'`);
  }
  checkLimit(name, opts.limit);
  const norm = opts.normalization ?? datasetNormalization(parsed);
  switch (parsed.kind) {
    case 'embedded':
    case 'fashion-mnist': {
      if (parsed.kind === 'fashion-mnist') {
        await checkDir(
          name,
          parsed.dir,
          'the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)',
        );
        const prefix = split === 'train' ? 'train' : 't10k';
        for (const f of ['images-idx3', 'labels-idx1'])
          await idxFile(name, parsed.dir, `${prefix}-${f}-ubyte`, ' (reinstall dataset-fashion-mnist)');
      }
      checkNorm(name, norm, 1);
      const fm = await loadFashionMnist({
        split,
        source: parsed.kind === 'embedded' ? 'embedded' : parsed.dir,
        mean: norm.mean[0]!,
        std: norm.std[0]!,
        ...(opts.limit === undefined ? {} : { limit: opts.limit }),
      });
      return {
        task: 'classification',
        spec: name,
        split,
        ...fm,
        classNames: FASHION_MNIST_CLASSES,
        normalization: norm,
      };
    }
    case 'idx':
      return loadIdx(name, parsed.dir, split, opts.limit, norm);
    case 'folder':
      return loadFolder(name, parsed.dir, split, opts, norm);
    case 'synthetic-detection': {
      const count = Math.min(parsed.count, opts.limit ?? parsed.count);
      const size = opts.size?.[0] ?? 64;
      const ds = syntheticDetection({ count, size, seed: split === 'train' ? 0 : 1 });
      return { task: 'detection', spec: name, split, ...ds, count };
    }
  }
}
