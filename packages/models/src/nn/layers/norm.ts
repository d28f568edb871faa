import {
  add,
  batchNorm,
  cast,
  type DType,
  groupNorm,
  InvalidArgumentError,
  layerNorm,
  noGrad,
  ones,
  type Tensor,
  tidy,
  zeros,
} from '@tinyvision/tensor';
import { Module } from '../module.js';

/** Options of {@link BatchNorm2d} (torch `nn.BatchNorm2d` keywords). */
export interface BatchNorm2dOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** Running-statistics factor (default 0.1); null uses the cumulative average `1/numBatchesTracked`. */
  readonly momentum?: number | null;
  /** Learnable `weight` (1) and `bias` (0) (default true). */
  readonly affine?: boolean;
  /** Keep running statistics and use them in eval mode (default true). */
  readonly trackRunningStats?: boolean;
  /** Parameter dtype (default float32). */
  readonly dtype?: DType;
}

/**
 * Batch normalisation over `[N, C, H, W]` (`torch.nn.BatchNorm2d`). Training mode normalises with batch
 * statistics, updates `running_mean`/`running_var` and increments `num_batches_tracked` (int32; torch's int64
 * loads into it); eval mode uses the running statistics.
 * @example
 * ```ts
 * const bn = new BatchNorm2d(16);
 * bn.eval().call(randn([2, 16, 8, 8])).shape; // [2, 16, 8, 8]
 * ```
 */
export class BatchNorm2d extends Module {
  /** Scale `[C]` or null. */
  readonly weight: Tensor | null;
  /** Shift `[C]` or null. */
  readonly bias: Tensor | null;
  /** Running mean `[C]` or null. */
  readonly runningMean: Tensor | null;
  /** Running (unbiased) variance `[C]` or null. */
  readonly runningVar: Tensor | null;
  /** Number of training batches seen (int32 scalar) or null. */
  readonly numBatchesTracked: Tensor | null;
  /** Epsilon. */
  readonly eps: number;
  /** Momentum (null: cumulative average). */
  readonly momentum: number | null;

  /**
   * @param numFeatures - channels C
   * @param opts - eps, momentum, affine, trackRunningStats, dtype
   * @throws {InvalidArgumentError} when `numFeatures` is not a positive integer
   */
  constructor(numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new InvalidArgumentError(
        `BatchNorm2d: 'numFeatures' must be a positive integer, got ${numFeatures}`,
      );
    }
    const c = [numFeatures];
    const dtype = opts.dtype ?? 'float32';
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', affine ? ones(c, dtype) : null);
    this.bias = this.registerParameter('bias', affine ? zeros(c, dtype) : null);
    this.runningMean = this.registerBuffer('running_mean', track ? zeros(c, dtype) : null);
    this.runningVar = this.registerBuffer('running_var', track ? ones(c, dtype) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? zeros([], 'int32') : null);
  }

  /**
   * @param x - `[N, C, H, W]`
   * @returns the normalised tensor
   */
  forward(x: Tensor): Tensor {
    let momentum = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && nbt) {
      noGrad(() => tidy(() => void nbt.assign_(cast(add(nbt, 1), 'int32'))));
      if (this.momentum === null) momentum = 1 / nbt.item();
    }
    return batchNorm(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      // without running statistics, eval mode normalises with batch statistics too (as torch)
      training: this.training || !this.runningMean,
      momentum,
      eps: this.eps,
    });
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** Learnable `weight` (1) and `bias` (0) shaped like `normalizedShape` (default true). */
  readonly elementwiseAffine?: boolean;
  /** Learnable bias when affine (default true). */
  readonly bias?: boolean;
  /** Parameter dtype (default float32). */
  readonly dtype?: DType;
}

/**
 * Layer normalisation over the trailing dims (`torch.nn.LayerNorm`).
 * @example
 * ```ts
 * new LayerNorm(16).call(randn([2, 5, 16])).shape; // [2, 5, 16]
 * ```
 */
export class LayerNorm extends Module {
  /** Scale or null. */
  readonly weight: Tensor | null;
  /** Shift or null. */
  readonly bias: Tensor | null;
  /** The normalised trailing dims. */
  readonly normalizedShape: number[];
  /** Epsilon. */
  readonly eps: number;

  /**
   * @param normalizedShape - trailing dims (a number means `[number]`)
   * @param opts - eps, elementwiseAffine, bias, dtype
   * @throws {InvalidArgumentError} on an empty or non-positive shape
   */
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (
      this.normalizedShape.length === 0 ||
      !this.normalizedShape.every((d) => Number.isInteger(d) && d > 0)
    ) {
      throw new InvalidArgumentError(
        `LayerNorm: 'normalizedShape' must be positive integers, got ${JSON.stringify(normalizedShape)}`,
      );
    }
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.registerParameter('weight', affine ? ones(this.normalizedShape, dtype) : null);
    this.bias = this.registerParameter(
      'bias',
      affine && (opts.bias ?? true) ? zeros(this.normalizedShape, dtype) : null,
    );
  }

  /**
   * @param x - input ending with `normalizedShape`
   * @returns the normalised tensor
   */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** Learnable per-channel `weight` (1) and `bias` (0) (default true). */
  readonly affine?: boolean;
  /** Parameter dtype (default float32). */
  readonly dtype?: DType;
}

/**
 * Group normalisation (`torch.nn.GroupNorm`).
 * @example
 * ```ts
 * new GroupNorm(4, 8).call(randn([2, 8, 4, 4])).shape; // [2, 8, 4, 4]
 * ```
 */
export class GroupNorm extends Module {
  /** Scale `[C]` or null. */
  readonly weight: Tensor | null;
  /** Shift `[C]` or null. */
  readonly bias: Tensor | null;
  /** Number of groups. */
  readonly numGroups: number;
  /** Epsilon. */
  readonly eps: number;

  /**
   * @param numGroups - groups (divides numChannels)
   * @param numChannels - channels C
   * @param opts - eps, affine, dtype
   * @throws {InvalidArgumentError} when `numGroups` does not divide `numChannels`
   */
  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0) {
      throw new InvalidArgumentError(
        `GroupNorm: 'numGroups' ${numGroups} must be a positive divisor of numChannels ${numChannels}`,
      );
    }
    this.numGroups = numGroups;
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = this.registerParameter('weight', affine ? ones([numChannels], dtype) : null);
    this.bias = this.registerParameter('bias', affine ? zeros([numChannels], dtype) : null);
  }

  /**
   * @param x - `[N, C, ...]`
   * @returns the normalised tensor
   */
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}
