import { fromStorage, InvalidArgumentError, Rng, stack, Tensor } from '@tinyvision/tensor';
import { type ChwImage, stackImages } from './augment.js';

/** A map-style dataset: a length and random access to items (which may be computed asynchronously). */
export interface Dataset<T> {
  /** Number of items. */
  readonly length: number;
  /**
   * Returns item `index`.
   * @param index - in `[0, length)`
   * @returns the item, or a promise of it
   */
  get(index: number): T | Promise<T>;
}

/**
 * How model inputs were prepared, recorded on a {@link DataLoader} so exporters can embed it (e.g. as
 * ONNX metadata) and deployments can reproduce it.
 */
export interface Preprocessing {
  /** Per-channel mean subtracted from pixels scaled to [0, 1]. */
  readonly mean: readonly number[];
  /** Per-channel divisor applied after the mean. */
  readonly std: readonly number[];
  /** Input `[height, width]`. */
  readonly size: readonly [number, number];
  /** Channel order of the input. */
  readonly channelOrder: 'RGB';
  /** Tensor layout of the input. */
  readonly layout: 'NCHW';
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T, B> {
  /** The dataset to batch. */
  readonly dataset: Dataset<T>;
  /** Items per batch (default 1). */
  readonly batchSize?: number;
  /** Visit items in a random order, reshuffled every epoch (default false). */
  readonly shuffle?: boolean;
  /** Seed of the shuffle; epoch `e` uses an order derived from `(seed, e)` (default 0). */
  readonly seed?: number;
  /** Skip the last batch when it is smaller than `batchSize` (default false). */
  readonly dropLast?: boolean;
  /** Turns a list of items into a batch (default {@link defaultCollate}). */
  readonly collate?: (items: T[]) => B;
  /** The preprocessing the dataset applies, recorded as {@link DataLoader.preprocessing}. */
  readonly preprocessing?: {
    readonly mean: number | readonly number[];
    readonly std: number | readonly number[];
    readonly size: readonly [number, number];
  };
}

function isChwImage(v: unknown): v is ChwImage {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as ChwImage).data instanceof Float32Array &&
    typeof (v as ChwImage).channels === 'number' &&
    typeof (v as ChwImage).height === 'number' &&
    typeof (v as ChwImage).width === 'number'
  );
}

function collateColumn(values: unknown[]): unknown {
  const first = values[0];
  if (first instanceof Tensor) return stack(values as Tensor[]);
  if (isChwImage(first)) return stackImages(values as ChwImage[]);
  if (typeof first === 'number') {
    const nums = values as number[];
    return nums.every(Number.isInteger)
      ? fromStorage(Int32Array.from(nums), [nums.length], 'int32')
      : fromStorage(Float32Array.from(nums), [nums.length], 'float32');
  }
  if (Array.isArray(first)) {
    return first.map((_, k) => collateColumn(values.map((v) => (v as unknown[])[k])));
  }
  if (typeof first === 'object' && first !== null && Object.getPrototypeOf(first) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first))
      out[key] = collateColumn(values.map((v) => (v as Record<string, unknown>)[key]));
    return out;
  }
  return values;
}

/**
 * The default batching rule (like PyTorch's `default_collate`), applied recursively: tensors are stacked
 * along a new first axis, host images ({@link ChwImage}) become one float32 NCHW tensor, numbers become an
 * int32 tensor (all integers) or a float32 tensor, tuples and plain objects are collated field by field,
 * and anything else (e.g. per-image detection boxes of different lengths) is kept as a list.
 * @param items - the items of one batch (non-empty)
 * @returns the batch
 * @throws {InvalidArgumentError} when `items` is empty
 * @throws {ShapeError} when tensors or images of one field differ in shape
 * @example
 * ```ts
 * defaultCollate([{ image: a, label: 1 }, { image: b, label: 0 }]);
 * // { image: Tensor [2, 3, H, W], label: Tensor int32 [2] }
 * ```
 */
export function defaultCollate<T>(items: T[]): unknown {
  if (items.length === 0) throw new InvalidArgumentError('defaultCollate: cannot collate an empty batch');
  return collateColumn(items);
}

function perChannel(v: number | readonly number[], name: string): number[] {
  const arr = typeof v === 'number' ? [v, v, v] : [...v];
  if (arr.length !== 3 || arr.some((x) => !Number.isFinite(x))) {
    throw new InvalidArgumentError(
      `DataLoader: preprocessing '${name}' must be a number or 3 numbers, got ${JSON.stringify(v)}`,
    );
  }
  return arr;
}

/**
 * Batches a map-style dataset, optionally shuffled, as an async iterable (one pass = one epoch). With a
 * seed the visiting order of every epoch is reproducible: epoch `e` (counting iterations of the loader
 * from 0, or passed to {@link DataLoader.epoch}) always gives the same batches. The preprocessing of the
 * inputs can be recorded for exporters.
 * @typeParam T - dataset item type
 * @typeParam B - batch type (what `collate` returns)
 * @example
 * ```ts
 * const ds = { length: 100, get: (i: number) => ({ image: imageAt(images, i), label: i % 3 }) };
 * const loader = new DataLoader({ dataset: ds, batchSize: 16, shuffle: true, seed: 1 });
 * for await (const batch of loader) {
 *   // batch.image: [16, 3, H, W] float32, batch.label: [16] int32
 * }
 * ```
 */
export class DataLoader<T, B = unknown> implements AsyncIterable<B> {
  /** The dataset being batched. */
  readonly dataset: Dataset<T>;
  /** Items per batch. */
  readonly batchSize: number;
  /** Whether each epoch visits items in a shuffled order. */
  readonly shuffle: boolean;
  /** Seed of the shuffle. */
  readonly seed: number;
  /** Whether an incomplete last batch is skipped. */
  readonly dropLast: boolean;
  /** The recorded input preprocessing (`undefined` when none was given). */
  readonly preprocessing: Preprocessing | undefined;
  private readonly collate: (items: T[]) => B;
  private nextEpoch = 0;

  /**
   * @param opts - dataset, batch size, shuffling, seed, dropLast, collate, preprocessing
   * @throws {InvalidArgumentError} when the dataset has no valid length/get, or an option is invalid
   */
  constructor(opts: DataLoaderOptions<T, B>) {
    const { dataset } = opts;
    if (
      !dataset ||
      typeof dataset.get !== 'function' ||
      !Number.isInteger(dataset.length) ||
      dataset.length < 0
    ) {
      throw new InvalidArgumentError(
        "DataLoader: 'dataset' must have an integer 'length' >= 0 and a 'get(i)' method",
      );
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new InvalidArgumentError(`DataLoader: 'batchSize' must be a positive integer, got ${batchSize}`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isFinite(seed))
      throw new InvalidArgumentError(`DataLoader: 'seed' must be a number, got ${seed}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = seed;
    this.dropLast = opts.dropLast ?? false;
    this.collate = opts.collate ?? (defaultCollate as (items: T[]) => B);
    const p = opts.preprocessing;
    if (p) {
      const [h, w] = p.size ?? [];
      if (!Number.isInteger(h) || !Number.isInteger(w) || h! <= 0 || w! <= 0) {
        throw new InvalidArgumentError(
          `DataLoader: preprocessing 'size' must be [height, width], got ${JSON.stringify(p.size)}`,
        );
      }
      this.preprocessing = Object.freeze({
        mean: Object.freeze(perChannel(p.mean, 'mean')),
        std: Object.freeze(perChannel(p.std, 'std')),
        size: Object.freeze([h!, w!]) as readonly [number, number],
        channelOrder: 'RGB',
        layout: 'NCHW',
      });
    } else {
      this.preprocessing = undefined;
    }
  }

  /** Number of batches in one epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * The item order of an epoch: `0..N-1`, or a permutation derived from `(seed, epoch)` when shuffling.
   * @param epoch - the epoch number (>= 0)
   * @returns dataset indices in visiting order
   * @throws {InvalidArgumentError} when `epoch` is not a non-negative integer
   */
  order(epoch: number): number[] {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new InvalidArgumentError(`DataLoader: 'epoch' must be a non-negative integer, got ${epoch}`);
    }
    const idx = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (!this.shuffle) return idx;
    return new Rng((this.seed ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0).shuffle(idx);
  }

  /**
   * Iterates the batches of one specific epoch (does not advance the loader's own epoch counter).
   * @param epoch - the epoch number (>= 0)
   * @returns an async iterable of batches
   * @throws {InvalidArgumentError} when `epoch` is invalid
   */
  async *epoch(epoch: number): AsyncGenerator<B, void, undefined> {
    const order = this.order(epoch);
    const nBatches = this.length;
    for (let b = 0; b < nBatches; b++) {
      const ids = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
      const items = await Promise.all(ids.map((i) => this.dataset.get(i)));
      yield this.collate(items);
    }
  }

  /**
   * Iterates the next epoch: the first `for await` over the loader is epoch 0, the next epoch 1, and so on.
   * @returns an async iterator of batches
   */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    return this.epoch(this.nextEpoch++);
  }
}
