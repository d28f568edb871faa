import * as K from '../backend/kernel-names.js';
import { full } from '../creation.js';
import { noGrad, runComposite, runKernel } from '../engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import { fmtShape, normalizeAxes, normalizeAxis, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { abs, add, cast, equal, exp, log, mul, sqrt, sub, where } from './elementwise.js';
import { reshape } from './movement.js';
import { assertFloat, assertTensor } from './util.js';

/** Options of reductions. */
export interface ReduceOptions {
  /** Axes to reduce (negative allowed); all axes when omitted. */
  readonly axes?: number | readonly number[];
  /** Keep reduced dims as size 1. Default false. */
  readonly keepDims?: boolean;
}

function reduceAttrs(op: string, x: Tensor, opts: ReduceOptions): { axes: number[]; keepDims: boolean } {
  assertTensor(x, 'x', op);
  return { axes: normalizeAxes(opts.axes, x.rank, op), keepDims: opts.keepDims ?? false };
}

function reduce(kernel: string, op: string, x: Tensor, opts: ReduceOptions): Tensor {
  return runKernel(kernel, [x], reduceAttrs(op, x, opts))[0]!;
}

/** Output shape of a reduction. */
function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Rejects reducing an empty axis into a non-empty output (max/min/argmax have no identity). */
function assertNonEmpty(op: string, x: Tensor, axes: readonly number[]): void {
  const count = axes.reduce((a, ax) => a * x.shape[ax]!, 1);
  if (count === 0 && sizeOf(reducedShape(x.shape, axes, false)) > 0) {
    throw new InvalidArgumentError(
      `${op}: cannot reduce the empty axes [${axes.join(',')}] of shape ${fmtShape(x.shape)} (no identity)`,
    );
  }
}

/**
 * Sum over axes.
 * @param x - input
 * @param opts - axes and keepDims
 * @returns the sum (bool inputs are counted in int32)
 * @throws {ShapeError} on an out-of-range axis
 * @example
 * ```ts
 * sum(tensor([[1, 2], [3, 4]]), { axes: 1 }); // [3, 7]
 * ```
 */
export function sum(x: Tensor, opts: ReduceOptions = {}): Tensor {
  // Like torch, a bool sum counts: it is computed in int32.
  return reduce(K.Sum, 'sum', x instanceof Tensor && x.dtype === 'bool' ? cast(x, 'int32') : x, opts);
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

/**
 * Maximum over axes (`torch.amax`): NaN propagates; the gradient is split evenly between tied maxima.
 * @param x - input (float or integer)
 * @param opts - axes (default all) and keepDims
 * @returns the maxima
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @throws {InvalidArgumentError} when a reduced axis is empty
 * @example
 * ```ts
 * max(tensor([[1, 5], [3, 2]]), { axes: 1 }); // [5, 3]
 * ```
 */
export function max(x: Tensor, opts: ReduceOptions = {}): Tensor {
  const attrs = reduceAttrs('max', x, opts);
  assertNonEmpty('max', x, attrs.axes);
  return runKernel(K.Max, [x], attrs)[0]!;
}

/**
 * Minimum over axes (`torch.amin`): NaN propagates; the gradient is split evenly between tied minima.
 * @param x - input (float or integer)
 * @param opts - axes (default all) and keepDims
 * @returns the minima
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @throws {InvalidArgumentError} when a reduced axis is empty
 * @example
 * ```ts
 * min(tensor([[1, 5], [3, 2]]), { axes: 1 }); // [1, 2]
 * ```
 */
export function min(x: Tensor, opts: ReduceOptions = {}): Tensor {
  const attrs = reduceAttrs('min', x, opts);
  assertNonEmpty('min', x, attrs.axes);
  return runKernel(K.Min, [x], attrs)[0]!;
}

/**
 * Product over axes (1 over an empty axis).
 * @param x - float input
 * @param opts - axes (default all) and keepDims
 * @returns the product
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * prod(tensor([1, 2, 3])); // 6
 * ```
 */
export function prod(x: Tensor, opts: ReduceOptions = {}): Tensor {
  assertTensor(x, 'x', 'prod');
  assertFloat(x, 'x', 'prod');
  return reduce(K.Prod, 'prod', x, opts);
}

/** Options of {@link argMax} and {@link argMin}. */
export interface ArgReduceOptions {
  /** Axis (negative allowed); when omitted the input is flattened. */
  readonly axis?: number;
  /** Keep the reduced dim as size 1 (all dims when `axis` is omitted). Default false. */
  readonly keepDims?: boolean;
}

function argReduce(kernel: string, op: string, x: Tensor, opts: ArgReduceOptions): Tensor {
  assertTensor(x, 'x', op);
  const keepDims = opts.keepDims ?? false;
  if (opts.axis === undefined) {
    const flat = reshape(x, [x.size]);
    assertNonEmpty(op, flat, [0]);
    const y = runKernel(kernel, [flat], { axis: 0, keepDims: false })[0]!;
    return keepDims
      ? reshape(
          y,
          x.shape.map(() => 1),
        )
      : y;
  }
  const axis = x.rank === 0 ? normalizeAxis(opts.axis, 1, op) : normalizeAxis(opts.axis, x.rank, op);
  assertNonEmpty(op, x, x.rank === 0 ? [] : [axis]);
  return runKernel(kernel, [x], { axis, keepDims })[0]!;
}

/**
 * Index of the maximum along an axis (int32; the first index on ties; a NaN counts as the maximum).
 * @param x - input (float or integer)
 * @param opts - axis (default: flattened) and keepDims
 * @returns int32 indices
 * @throws {ShapeError} on an out-of-range axis
 * @throws {InvalidArgumentError} when the axis is empty
 * @example
 * ```ts
 * argMax(tensor([[1, 5], [3, 2]]), { axis: 1 }); // [1, 0]
 * ```
 */
export function argMax(x: Tensor, opts: ArgReduceOptions = {}): Tensor {
  return argReduce(K.ArgMax, 'argMax', x, opts);
}

/**
 * Index of the minimum along an axis (int32; the first index on ties; a NaN counts as the minimum).
 * @param x - input (float or integer)
 * @param opts - axis (default: flattened) and keepDims
 * @returns int32 indices
 * @throws {ShapeError} on an out-of-range axis
 * @throws {InvalidArgumentError} when the axis is empty
 * @example
 * ```ts
 * argMin(tensor([[1, 5], [3, 2]]), { axis: 1 }); // [0, 1]
 * ```
 */
export function argMin(x: Tensor, opts: ArgReduceOptions = {}): Tensor {
  return argReduce(K.ArgMin, 'argMin', x, opts);
}

/** Options of {@link topk}. */
export interface TopKOptions {
  /** How many elements to keep (0 ≤ k ≤ size of the axis). */
  readonly k: number;
  /** Axis (negative allowed). Default -1. */
  readonly axis?: number;
  /** Largest (default) or smallest elements. NaN counts as larger than everything. */
  readonly largest?: boolean;
  /** Sorted by value (default); when false the k elements keep their original order along the axis. */
  readonly sorted?: boolean;
}

/**
 * The k largest (or smallest) elements along an axis and their indices (`torch.topk`; ties keep the lower index first).
 * @param x - input (float or integer)
 * @param opts - k, axis, largest, sorted
 * @returns `[values, indices]`, indices int32; values carry the gradient
 * @throws {ShapeError} on an out-of-range axis
 * @throws {InvalidArgumentError} when k is not an integer in `[0, size]`
 * @example
 * ```ts
 * const [v, i] = topk(tensor([1, 4, 2]), { k: 2 }); // v = [4, 2], i = [1, 2]
 * ```
 */
export function topk(x: Tensor, opts: TopKOptions): [Tensor, Tensor] {
  assertTensor(x, 'x', 'topk');
  const axis = normalizeAxis(opts.axis ?? -1, Math.max(x.rank, 1), 'topk');
  const size = x.shape[axis] ?? 1;
  const k = opts.k;
  const lo = x.rank === 0 ? 1 : 0;
  if (!Number.isInteger(k) || k < lo || k > size) {
    throw new InvalidArgumentError(
      `topk: 'k' must be an integer in [${lo}, ${size}] for axis ${axis} of shape ${fmtShape(x.shape)}, got ${k}`,
    );
  }
  const attrs = { k, axis, largest: opts.largest ?? true, sorted: opts.sorted ?? true };
  const [values, indices] = runKernel(K.TopK, [x], attrs);
  return [values!, indices!];
}

function softmaxLike(kernel: string, op: string, x: Tensor, axis: number): Tensor {
  assertTensor(x, 'x', op);
  assertFloat(x, 'x', op);
  return runKernel(kernel, [x], { axis: normalizeAxis(axis, Math.max(x.rank, 1), op) })[0]!;
}

/**
 * Softmax along an axis, `exp(x - max) / Σ exp(x - max)` (numerically stable).
 * @param x - float input
 * @param axis - axis (negative allowed). Default -1.
 * @returns probabilities summing to 1 along `axis`
 * @throws {DTypeError} for non-float dtypes
 * @throws {ShapeError} on an out-of-range axis
 * @example
 * ```ts
 * softmax(tensor([[1, 2, 3]])); // [[0.090, 0.245, 0.665]]
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxLike(K.Softmax, 'softmax', x, axis);
}

/**
 * Log-softmax along an axis, `x - max - log Σ exp(x - max)` (numerically stable).
 * @param x - float input
 * @param axis - axis (negative allowed). Default -1.
 * @returns log-probabilities along `axis`
 * @throws {DTypeError} for non-float dtypes
 * @throws {ShapeError} on an out-of-range axis
 * @example
 * ```ts
 * logSoftmax(tensor([[1, 2, 3]])); // [[-2.408, -1.408, -0.408]]
 * ```
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxLike(K.LogSoftmax, 'logSoftmax', x, axis);
}

/**
 * `log Σ exp(x)` over axes, stable for large inputs (`torch.logsumexp`; -Inf over all -Inf, +Inf with any +Inf).
 * @param x - float input
 * @param opts - axes (default all) and keepDims
 * @returns the log-sum-exp
 * @throws {DTypeError} for non-float dtypes
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @example
 * ```ts
 * logSumExp(tensor([0, 0])); // ln 2
 * ```
 */
export function logSumExp(x: Tensor, opts: ReduceOptions = {}): Tensor {
  const attrs = reduceAttrs('logSumExp', x, opts);
  assertFloat(x, 'x', 'logSumExp');
  return runComposite(K.LogSumExp, [x], attrs, ([t]) => {
    const { axes, keepDims } = attrs;
    // The shift is a constant for autograd: d/dx log Σ exp(x - m) + m is exactly softmax(x).
    const m = noGrad(() => {
      if (t!.size === 0) return full(reducedShape(t!.shape, axes, true), 0, t!.dtype);
      const mx = max(t!, { axes, keepDims: true });
      return where(equal(abs(mx), Number.POSITIVE_INFINITY), 0, mx);
    });
    const s = log(sum(exp(sub(t!, m)), { axes, keepDims }));
    return [add(s, keepDims ? m : reshape(m, reducedShape(t!.shape, axes, false)))];
  })[0]!;
}

/** Options of {@link variance} and {@link std}. */
export interface VarianceOptions extends ReduceOptions {
  /** Divisor is `max(0, N - correction)`. Default 1 (Bessel's correction, unbiased). */
  readonly correction?: number;
}

/**
 * Variance over axes, `Σ (x - mean)² / max(0, N - correction)` (`torch.var`).
 * @param x - float input
 * @param opts - axes (default all), keepDims, correction (default 1)
 * @returns the variance (NaN or Inf when the divisor is 0)
 * @throws {DTypeError} for non-float dtypes
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @throws {InvalidArgumentError} when `correction` is not a finite number
 * @example
 * ```ts
 * variance(tensor([1, 2, 3, 4])); // 1.6667
 * ```
 */
export function variance(x: Tensor, opts: VarianceOptions = {}): Tensor {
  const base = reduceAttrs('variance', x, opts);
  assertFloat(x, 'x', 'variance');
  const correction = opts.correction ?? 1;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) {
    throw new InvalidArgumentError(
      `variance: 'correction' must be a finite number, got ${String(correction)}`,
    );
  }
  const attrs = { ...base, correction };
  return runComposite(K.Variance, [x], attrs, ([t]) => {
    const n = base.axes.reduce((a, ax) => a * t!.shape[ax]!, 1);
    const d = sub(t!, mean(t!, { axes: base.axes, keepDims: true }));
    const ss = sum(mul(d, d), { axes: base.axes, keepDims: base.keepDims });
    return [mul(ss, 1 / Math.max(0, n - correction))];
  })[0]!;
}

/**
 * Standard deviation over axes, `√variance` (`torch.std`).
 * @param x - float input
 * @param opts - axes (default all), keepDims, correction (default 1)
 * @returns the standard deviation
 * @throws {DTypeError} for non-float dtypes
 * @throws {ShapeError} on an out-of-range or repeated axis
 * @example
 * ```ts
 * std(tensor([1, 2, 3, 4])); // 1.291
 * ```
 */
export function std(x: Tensor, opts: VarianceOptions = {}): Tensor {
  return sqrt(variance(x, opts));
}
