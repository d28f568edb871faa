import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { normalizeAxes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from './util.js';

/** Options of reductions. */
export interface ReduceOptions {
  /** Axes to reduce (negative allowed); all axes when omitted. */
  readonly axes?: number | readonly number[];
  /** Keep reduced dims as size 1. Default false. */
  readonly keepDims?: boolean;
}

function reduce(kernel: string, op: string, x: Tensor, opts: ReduceOptions): Tensor {
  assertTensor(x, 'x', op);
  const axes = normalizeAxes(opts.axes, x.rank, op);
  return runKernel(kernel, [x], { axes, keepDims: opts.keepDims ?? false })[0]!;
}

/**
 * Sum over axes.
 * @param x - input
 * @param opts - axes and keepDims
 * @returns the sum
 * @throws {ShapeError} on an out-of-range axis
 * @example
 * ```ts
 * sum(tensor([[1, 2], [3, 4]]), { axes: 1 }); // [3, 7]
 * ```
 */
export function sum(x: Tensor, opts: ReduceOptions = {}): Tensor {
  return reduce(K.Sum, 'sum', x, opts);
}

/**
 * Mean over axes.
 * @param x - input
 * @param opts - axes and keepDims
 * @returns the mean (NaN over an empty axis)
 * @throws {ShapeError} on an out-of-range axis
 * @example
 * ```ts
 * mean(tensor([1, 2, 3])); // 2
 * ```
 */
export function mean(x: Tensor, opts: ReduceOptions = {}): Tensor {
  return reduce(K.Mean, 'mean', x, opts);
}
