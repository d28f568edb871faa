// Unary elementwise ops of the 'elementwise' family (re-exported from ./elementwise.ts).
import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertTensor } from './util.js';

function unary(kernel: string, op: string, x: Tensor, floatOnly: boolean): Tensor {
  assertTensor(x, 'x', op);
  if (floatOnly) assertFloat(x, 'x', op);
  return runKernel(kernel, [x])[0]!;
}

/**
 * Elementwise absolute value (integers wrap like PyTorch: `abs(int8 -128)` is -128).
 * @param x - input (float or integer)
 * @returns |x|
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * abs(tensor([-1, 2])); // [1, 2]
 * ```
 */
export function abs(x: Tensor): Tensor {
  return unary(K.Abs, 'abs', x, false);
}

/**
 * Elementwise reciprocal square root.
 * @param x - float input
 * @returns 1/√x (Inf at 0, NaN below 0)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * rsqrt(tensor([4])); // [0.5]
 * ```
 */
export function rsqrt(x: Tensor): Tensor {
  return unary(K.Rsqrt, 'rsqrt', x, true);
}

/**
 * Elementwise square (integers wrap).
 * @param x - input (float or integer)
 * @returns x²
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * square(tensor([-3])); // [9]
 * ```
 */
export function square(x: Tensor): Tensor {
  return unary(K.Square, 'square', x, false);
}

/**
 * Elementwise reciprocal.
 * @param x - float input
 * @returns 1/x
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * reciprocal(tensor([4])); // [0.25]
 * ```
 */
export function reciprocal(x: Tensor): Tensor {
  return unary(K.Reciprocal, 'reciprocal', x, true);
}

/**
 * Elementwise floor (identity on integers). Its gradient is zero.
 * @param x - input
 * @returns ⌊x⌋
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * floor(tensor([-1.5, 1.5])); // [-2, 1]
 * ```
 */
export function floor(x: Tensor): Tensor {
  return unary(K.Floor, 'floor', x, false);
}

/**
 * Elementwise rounding, half to even like `torch.round` (identity on integers). Its gradient is zero.
 * @param x - input
 * @returns the nearest integer (ties to even)
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * round(tensor([0.5, 1.5, 2.5])); // [0, 2, 2]
 * ```
 */
export function round(x: Tensor): Tensor {
  return unary(K.Round, 'round', x, false);
}

/**
 * Elementwise sign: -1, 0 or 1 (0 for NaN, like PyTorch). Its gradient is zero.
 * @param x - input (float or integer)
 * @returns sign(x)
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * sign(tensor([-2, 0, 3])); // [-1, 0, 1]
 * ```
 */
export function sign(x: Tensor): Tensor {
  return unary(K.Sign, 'sign', x, false);
}

/**
 * Elementwise error function.
 * @param x - float input
 * @returns erf(x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * erf(tensor([0])); // [0]
 * ```
 */
export function erf(x: Tensor): Tensor {
  return unary(K.Erf, 'erf', x, true);
}

/**
 * Elementwise hyperbolic tangent.
 * @param x - float input
 * @returns tanh(x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * tanh(tensor([0])); // [0]
 * ```
 */
export function tanh(x: Tensor): Tensor {
  return unary(K.Tanh, 'tanh', x, true);
}

/**
 * Elementwise logistic sigmoid.
 * @param x - float input
 * @returns 1/(1+e^-x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * sigmoid(tensor([0])); // [0.5]
 * ```
 */
export function sigmoid(x: Tensor): Tensor {
  return unary(K.Sigmoid, 'sigmoid', x, true);
}

/** Options of {@link clip}: a missing bound is unbounded. */
export interface ClipOptions {
  /** Lower bound. */
  readonly min?: number;
  /** Upper bound. */
  readonly max?: number;
}

/**
 * Clamps every element into `[min, max]` (`torch.clamp`): NaN stays NaN, and when `min > max` every element
 * becomes `max`. The gradient passes where `min <= x <= max` (bounds included).
 * @param x - input (float or integer)
 * @param opts - bounds
 * @returns the clamped tensor
 * @throws {InvalidArgumentError} when a bound is NaN or not a number
 * @example
 * ```ts
 * clip(tensor([-1, 0.5, 2]), { min: 0, max: 1 }); // [0, 0.5, 1]
 * ```
 */
export function clip(x: Tensor, opts: ClipOptions = {}): Tensor {
  assertTensor(x, 'x', 'clip');
  const attrs: { min?: number; max?: number } = {};
  for (const key of ['min', 'max'] as const) {
    const v = opts[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || Number.isNaN(v)) {
      throw new InvalidArgumentError(`clip: '${key}' must be a number, got ${String(v)}`);
    }
    attrs[key] = v;
  }
  return runKernel(K.Clip, [x], attrs)[0]!;
}
