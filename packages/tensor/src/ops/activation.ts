// Ops of the 'activation' family (see docs/guides/adding-an-op.md).
import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertTensor } from './util.js';

function act(kernel: string, op: string, x: Tensor, floatOnly: boolean, attrs = {}): Tensor {
  assertTensor(x, 'x', op);
  if (floatOnly) assertFloat(x, 'x', op);
  return runKernel(kernel, [x], attrs)[0]!;
}

/**
 * Rectified linear unit, `max(x, 0)`. The gradient at 0 is 0 (PyTorch convention).
 * @param x - input (float or integer)
 * @returns relu(x)
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * relu(tensor([-1, 2])); // [0, 2]
 * ```
 */
export function relu(x: Tensor): Tensor {
  return act(K.Relu, 'relu', x, false);
}

/**
 * `min(max(x, 0), 6)`. The gradient is 0 at both kinks (0 and 6), as in PyTorch's `hardtanh`.
 * @param x - input (float or integer)
 * @returns relu6(x)
 * @throws {InvalidArgumentError} when `x` is not a tensor
 * @example
 * ```ts
 * relu6(tensor([-1, 3, 9])); // [0, 3, 6]
 * ```
 */
export function relu6(x: Tensor): Tensor {
  return act(K.Relu6, 'relu6', x, false);
}

/** Options of {@link leakyRelu}. */
export interface LeakyReluOptions {
  /** Slope for negative inputs. Default 0.01. */
  readonly alpha?: number;
}

/**
 * Leaky ReLU: `x < 0 ? alpha·x : x` (the gradient at 0 is `alpha`, like PyTorch).
 * @param x - float input
 * @param opts - negative slope
 * @returns leakyRelu(x)
 * @throws {DTypeError} for non-float dtypes
 * @throws {InvalidArgumentError} when `alpha` is not a finite number
 * @example
 * ```ts
 * leakyRelu(tensor([-10, 1]), { alpha: 0.1 }); // [-1, 1]
 * ```
 */
export function leakyRelu(x: Tensor, opts: LeakyReluOptions = {}): Tensor {
  const alpha = opts.alpha ?? 0.01;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) {
    throw new InvalidArgumentError(`leakyRelu: 'alpha' must be a finite number, got ${String(alpha)}`);
  }
  return act(K.LeakyRelu, 'leakyRelu', x, true, { alpha });
}

/**
 * Hard swish, `x·relu6(x+3)/6` (MobileNetV3). Gradients at ±3 follow PyTorch (-0.5 at -3, 1.5 at 3).
 * @param x - float input
 * @returns hardSwish(x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * hardSwish(tensor([-4, 0, 4])); // [0, 0, 4]
 * ```
 */
export function hardSwish(x: Tensor): Tensor {
  return act(K.HardSwish, 'hardSwish', x, true);
}

/**
 * Hard sigmoid with the PyTorch definition `relu6(x+3)/6` (the gradient is 0 at ±3).
 * @param x - float input
 * @returns hardSigmoid(x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * hardSigmoid(tensor([-4, 0, 4])); // [0, 0.5, 1]
 * ```
 */
export function hardSigmoid(x: Tensor): Tensor {
  return act(K.HardSigmoid, 'hardSigmoid', x, true);
}

/**
 * SiLU (swish), `x·sigmoid(x)`.
 * @param x - float input
 * @returns silu(x)
 * @throws {DTypeError} for non-float dtypes
 * @example
 * ```ts
 * silu(tensor([0])); // [0]
 * ```
 */
export function silu(x: Tensor): Tensor {
  return act(K.Silu, 'silu', x, true);
}

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `'none'` (exact, erf form; default) or `'tanh'` (the tanh approximation). */
  readonly approximate?: 'none' | 'tanh';
}

/**
 * Gaussian error linear unit, `x·Φ(x)`, exact or with the tanh approximation (`torch.nn.functional.gelu`).
 * @param x - float input
 * @param opts - approximation
 * @returns gelu(x)
 * @throws {DTypeError} for non-float dtypes
 * @throws {InvalidArgumentError} for an unknown `approximate`
 * @example
 * ```ts
 * gelu(tensor([0, 1]), { approximate: 'tanh' });
 * ```
 */
export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new InvalidArgumentError(
      `gelu: 'approximate' must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`,
    );
  }
  return act(K.Gelu, 'gelu', x, true, { approximate });
}
