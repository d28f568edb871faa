import type { Pool2DAttrs } from '../backend/kernel-names.js';
import * as K from '../backend/kernel-names.js';
import { runComposite, runKernel } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { assertFloat, assertRank, assertTensor, pair } from './util.js';

/**
 * Padding of a 2-D window op: one amount for all sides, `[padH, padW]` (both sides), explicit
 * `[top, left, bottom, right]`, TensorFlow's `'same'` (output = ⌈input / stride⌉, extra padding at the
 * bottom/right) or `'valid'` (no padding).
 */
export type Padding2D =
  | number
  | readonly [number, number]
  | readonly [number, number, number, number]
  | 'same'
  | 'valid';

/** Options of {@link maxPool2d} (PyTorch `F.max_pool2d` semantics). */
export interface MaxPool2DOptions {
  /** Window size `k` or `[kH, kW]`. */
  readonly kernelSize: number | readonly [number, number];
  /** Step; defaults to `kernelSize`. */
  readonly stride?: number | readonly [number, number];
  /** Padding (padded cells never win the max); default 0. */
  readonly padding?: Padding2D;
  /** Spacing between window taps; default 1. */
  readonly dilation?: number | readonly [number, number];
  /** Round the output size up (the last window must still start inside the input or the leading padding). */
  readonly ceilMode?: boolean;
}

/** Options of {@link avgPool2d} (PyTorch `F.avg_pool2d` semantics). */
export interface AvgPool2DOptions extends MaxPool2DOptions {
  /** Whether zero padding counts in the divisor; default true (torch `count_include_pad`). */
  readonly countIncludePad?: boolean;
}

function positive(v: readonly [number, number], name: string, op: string, min: number): void {
  if (v.some((d) => d < min)) {
    throw new InvalidArgumentError(`${op}: '${name}' must be >= ${min}, got [${v.join(',')}]`);
  }
}

/**
 * Resolves a {@link Padding2D} to explicit `[top, left, bottom, right]` pads for a window op.
 * @param padding - the user's padding
 * @param inHW - input `[H, W]`
 * @param kernel - `[kH, kW]`
 * @param strides - `[sH, sW]`
 * @param dilations - `[dH, dW]`
 * @param op - op name for messages
 * @returns explicit pads
 * @throws {InvalidArgumentError} on negative or malformed pads
 * @example
 * ```ts
 * resolvePadding2D('same', [5, 5], [3, 3], [2, 2], [1, 1], 'maxPool2d'); // [1, 1, 1, 1]
 * ```
 */
export function resolvePadding2D(
  padding: Padding2D,
  inHW: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  op: string,
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const total = inHW.map((n, i) => {
      const out = Math.ceil(n / strides[i]!);
      const eff = (kernel[i]! - 1) * dilations[i]! + 1;
      return Math.max((out - 1) * strides[i]! + eff - n, 0);
    });
    const top = Math.floor(total[0]! / 2);
    const left = Math.floor(total[1]! / 2);
    return [top, left, total[0]! - top, total[1]! - left];
  }
  let p: number[];
  if (typeof padding === 'number') p = [padding, padding, padding, padding];
  else if (Array.isArray(padding) && padding.length === 2)
    p = [padding[0], padding[1], padding[0], padding[1]];
  else if (Array.isArray(padding) && padding.length === 4) p = [...(padding as number[])];
  else p = [];
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new InvalidArgumentError(
      `${op}: 'padding' must be a non-negative integer, a pair, [top,left,bottom,right], 'same' or 'valid'; got ${JSON.stringify(padding)}`,
    );
  }
  return p as [number, number, number, number];
}

function outDim(n: number, k: number, s: number, d: number, p0: number, p1: number, ceil: boolean): number {
  const span = n + p0 + p1 - ((k - 1) * d + 1);
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // torch: with ceil_mode the last window must start inside the input or the leading padding.
  if (ceil && (out - 1) * s >= n + p0) out--;
  return out;
}

/**
 * Output shape of a 2-D pooling window op over an NCHW input (PyTorch's rule, including `ceil_mode`).
 * Backends use it to size their outputs.
 * @param inputShape - `[N, C, H, W]`
 * @param attrs - resolved pooling attrs
 * @returns `[N, C, outH, outW]`
 * @example
 * ```ts
 * pool2dOutputShape([1, 3, 5, 5], { kernelSize: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0],
 *   dilations: [1, 1], ceilMode: true, countIncludePad: true }); // [1, 3, 3, 3]
 * ```
 */
export function pool2dOutputShape(inputShape: readonly number[], attrs: Pool2DAttrs): number[] {
  const { kernelSize: k, strides: s, dilations: d, pads: p, ceilMode } = attrs;
  return [
    inputShape[0]!,
    inputShape[1]!,
    outDim(inputShape[2]!, k[0], s[0], d[0], p[0], p[2], ceilMode),
    outDim(inputShape[3]!, k[1], s[1], d[1], p[1], p[3], ceilMode),
  ];
}

function resolvePool(x: Tensor, opts: AvgPool2DOptions, op: string): Pool2DAttrs {
  assertTensor(x, 'x', op);
  assertRank(x, 4, 'x', op);
  if (opts === null || typeof opts !== 'object' || opts.kernelSize === undefined) {
    throw new InvalidArgumentError(`${op}: options with 'kernelSize' are required`);
  }
  const kernelSize = pair(opts.kernelSize, 'kernelSize', op);
  const strides = pair(opts.stride ?? kernelSize, 'stride', op);
  const dilations = pair(opts.dilation ?? 1, 'dilation', op);
  positive(kernelSize, 'kernelSize', op, 1);
  positive(strides, 'stride', op, 1);
  positive(dilations, 'dilation', op, 1);
  const hw: [number, number] = [x.shape[2]!, x.shape[3]!];
  const pads = resolvePadding2D(opts.padding ?? 0, hw, kernelSize, strides, dilations, op);
  // torch's rule (it keeps every window overlapping the input); TF 'same' pads satisfy it by construction.
  if (opts.padding !== 'same' && pads.some((p, i) => p > Math.floor(kernelSize[i % 2]! / 2))) {
    throw new InvalidArgumentError(
      `${op}: pads [${pads.join(',')}] must be at most half the kernel [${kernelSize.join(',')}] on each side`,
    );
  }
  const attrs: Pool2DAttrs = {
    kernelSize,
    strides,
    pads,
    dilations,
    ceilMode: opts.ceilMode ?? false,
    countIncludePad: opts.countIncludePad ?? true,
  };
  const out = pool2dOutputShape(x.shape, attrs);
  if (out[2]! <= 0 || out[3]! <= 0) {
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} is too small for kernel [${kernelSize.join(',')}] with dilation [${dilations.join(',')}] and pads [${pads.join(',')}] (output ${fmtShape(out)})`,
    );
  }
  return attrs;
}

/**
 * 2-D max pooling over an NCHW tensor (PyTorch `F.max_pool2d`: padded cells never win, NaN propagates,
 * ties route the gradient to the first maximum). Works on float and integer dtypes (quant params are kept).
 * @param x - input `[N, C, H, W]`
 * @param opts - kernel size, stride, padding, dilation, ceil mode
 * @returns `[N, C, outH, outW]`
 * @throws {InvalidArgumentError} when `x` is not rank 4 or an option is malformed
 * @throws {ShapeError} when the window does not fit the input
 * @throws {DTypeError} for bool inputs
 * @example
 * ```ts
 * const y = maxPool2d(randn([1, 8, 32, 32]), { kernelSize: 3, stride: 2, padding: 1 }); // [1, 8, 16, 16]
 * ```
 */
export function maxPool2d(x: Tensor, opts: MaxPool2DOptions): Tensor {
  const attrs = resolvePool(x, opts, 'maxPool2d');
  if (x.dtype === 'bool') throw new DTypeError(`maxPool2d: 'x' has dtype bool, expected a numeric dtype`);
  return runKernel(K.MaxPool2D, [x], { ...attrs })[0]!;
}

/**
 * 2-D average pooling over an NCHW tensor (PyTorch `F.avg_pool2d`, including its `ceil_mode` and
 * `count_include_pad` divisor rules).
 * @param x - input `[N, C, H, W]` (float)
 * @param opts - kernel size, stride, padding, dilation, ceil mode, countIncludePad
 * @returns `[N, C, outH, outW]`
 * @throws {InvalidArgumentError} when `x` is not rank 4 or an option is malformed
 * @throws {ShapeError} when the window does not fit the input
 * @throws {DTypeError} for non-float inputs
 * @example
 * ```ts
 * const y = avgPool2d(randn([1, 8, 7, 7]), { kernelSize: 2, ceilMode: true }); // [1, 8, 4, 4]
 * ```
 */
export function avgPool2d(x: Tensor, opts: AvgPool2DOptions): Tensor {
  const attrs = resolvePool(x, opts, 'avgPool2d');
  assertFloat(x, 'x', 'avgPool2d');
  return runKernel(K.AvgPool2D, [x], { ...attrs })[0]!;
}

function assertNCHW(x: Tensor, op: string): void {
  assertTensor(x, 'x', op);
  assertRank(x, 4, 'x', op);
  assertFloat(x, 'x', op);
}

/**
 * Mean over H and W, keeping them as size 1 (PyTorch `F.adaptive_avg_pool2d(x, 1)`).
 * @param x - input `[N, C, H, W]` (float)
 * @returns `[N, C, 1, 1]`
 * @throws {InvalidArgumentError} when `x` is not rank 4
 * @throws {DTypeError} for non-float inputs
 * @example
 * ```ts
 * globalAvgPool(randn([2, 16, 7, 7])).shape; // [2, 16, 1, 1]
 * ```
 */
export function globalAvgPool(x: Tensor): Tensor {
  assertNCHW(x, 'globalAvgPool');
  return runComposite(K.GlobalAvgPool, [x], {}, ([t]) => [mean(t!, { axes: [2, 3], keepDims: true })])[0]!;
}

/**
 * Max over H and W, keeping them as size 1 (PyTorch `F.adaptive_max_pool2d(x, 1)`; the gradient goes to
 * the first maximum). Composed as a max pool whose window is the whole plane.
 * @param x - input `[N, C, H, W]` (float)
 * @returns `[N, C, 1, 1]`
 * @throws {InvalidArgumentError} when `x` is not rank 4 or a plane is empty
 * @throws {DTypeError} for non-float inputs
 * @example
 * ```ts
 * globalMaxPool(randn([2, 16, 7, 7])).shape; // [2, 16, 1, 1]
 * ```
 */
export function globalMaxPool(x: Tensor): Tensor {
  assertNCHW(x, 'globalMaxPool');
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (h === 0 || w === 0) {
    throw new InvalidArgumentError(`globalMaxPool: 'x' ${fmtShape(x.shape)} has an empty spatial plane`);
  }
  return runComposite(K.GlobalMaxPool, [x], {}, ([t]) => [maxPool2d(t!, { kernelSize: [h, w] })])[0]!;
}
