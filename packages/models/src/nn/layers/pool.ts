import {
  avgPool2d,
  flatten,
  globalAvgPool,
  maxPool2d,
  type Padding2D,
  type Tensor,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { Module } from '../module.js';
import type { Size2 } from './conv.js';

/** Options of {@link MaxPool2d} (torch `nn.MaxPool2d` keywords). */
export interface MaxPool2dOptions {
  /** Step (default: the kernel size). */
  readonly stride?: Size2;
  /** Padding (default 0). */
  readonly padding?: Padding2D;
  /** Dilation (default 1). */
  readonly dilation?: Size2;
  /** Round the output size up (default false). */
  readonly ceilMode?: boolean;
}

/**
 * 2-D max pooling (`torch.nn.MaxPool2d`).
 * @example
 * ```ts
 * new MaxPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 * ```
 */
export class MaxPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Size2;
  private readonly opts: MaxPool2dOptions;

  /**
   * @param kernelSize - window size
   * @param opts - stride, padding, dilation, ceilMode
   */
  constructor(kernelSize: Size2, opts: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.opts = opts;
  }

  /**
   * @param x - `[N, C, H, W]`
   * @returns the pooled tensor
   */
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, ...this.opts });
  }
}

/** Options of {@link AvgPool2d} (torch `nn.AvgPool2d` keywords). */
export interface AvgPool2dOptions {
  /** Step (default: the kernel size). */
  readonly stride?: Size2;
  /** Padding (default 0). */
  readonly padding?: Padding2D;
  /** Round the output size up (default false). */
  readonly ceilMode?: boolean;
  /** Count zero padding in the divisor (default true). */
  readonly countIncludePad?: boolean;
}

/**
 * 2-D average pooling (`torch.nn.AvgPool2d`).
 * @example
 * ```ts
 * new AvgPool2d(2).call(randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 * ```
 */
export class AvgPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Size2;
  private readonly opts: AvgPool2dOptions;

  /**
   * @param kernelSize - window size
   * @param opts - stride, padding, ceilMode, countIncludePad
   */
  constructor(kernelSize: Size2, opts: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.opts = opts;
  }

  /**
   * @param x - `[N, C, H, W]`
   * @returns the pooled tensor
   */
  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernelSize: this.kernelSize, ...this.opts });
  }
}

/**
 * Adaptive average pooling (`torch.nn.AdaptiveAvgPool2d`); only output size 1 (global average pooling) is
 * supported.
 * @example
 * ```ts
 * new AdaptiveAvgPool2d(1).call(randn([2, 16, 7, 7])).shape; // [2, 16, 1, 1]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /**
   * @param outputSize - must be 1 or `[1, 1]`
   * @throws {UnsupportedOpError} for any other output size
   */
  constructor(outputSize: Size2) {
    super();
    const [h, w] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
    if (h !== 1 || w !== 1) {
      throw new UnsupportedOpError(
        `AdaptiveAvgPool2d: output size ${JSON.stringify(outputSize)} is not supported, only 1 (global average)`,
      );
    }
  }

  /**
   * @param x - `[N, C, H, W]`
   * @returns `[N, C, 1, 1]`
   */
  forward(x: Tensor): Tensor {
    return globalAvgPool(x);
  }
}

/**
 * Flattens dims `startDim..endDim` into one (`torch.nn.Flatten`; default keeps the batch dim).
 * @example
 * ```ts
 * new Flatten().call(randn([2, 16, 1, 1])).shape; // [2, 16]
 * ```
 */
export class Flatten extends Module {
  /** First flattened dim. */
  readonly startDim: number;
  /** Last flattened dim. */
  readonly endDim: number;

  /**
   * @param startDim - first dim (default 1)
   * @param endDim - last dim (default -1)
   */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  /**
   * @param x - input
   * @returns the flattened view
   */
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}
