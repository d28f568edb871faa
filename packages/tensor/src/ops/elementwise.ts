import * as K from '../backend/kernel-names.js';
import type { DType } from '../dtype.js';
import { runKernel } from '../engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertSameDType, assertTensor, type TensorOrScalar, toTensor } from './util.js';

function binary(kernel: string, op: string, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new InvalidArgumentError(`${op}: at least one argument must be a Tensor`);
  }
  const dtype = (typeof a === 'number' ? (b as Tensor) : a).dtype;
  const ta = toTensor(a, dtype, 'a', op);
  const tb = toTensor(b, dtype, 'b', op);
  assertSameDType(ta, tb, op);
  broadcastShapes(ta.shape, tb.shape, op);
  return runKernel(kernel, [ta, tb])[0]!;
}

function unary(kernel: string, op: string, x: Tensor, attrs: Record<string, unknown> = {}): Tensor {
  assertTensor(x, 'x', op);
  return runKernel(kernel, [x], attrs)[0]!;
}

/**
 * Elementwise `a + b` with broadcasting.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns the sum
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * add(tensor([1, 2]), 1); // [2, 3]
 * ```
 */
export function add(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Add, 'add', a, b);
}

/**
 * Elementwise `a - b` with broadcasting.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns the difference
 * @throws {ShapeError} when shapes do not broadcast
 * @example
 * ```ts
 * sub(tensor([1, 2]), 1); // [0, 1]
 * ```
 */
export function sub(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Sub, 'sub', a, b);
}

/**
 * Elementwise `a * b` with broadcasting.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns the product
 * @throws {ShapeError} when shapes do not broadcast
 * @example
 * ```ts
 * mul(tensor([1, 2]), 3); // [3, 6]
 * ```
 */
export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Mul, 'mul', a, b);
}

/**
 * Elementwise `a / b` with broadcasting (integer dtypes truncate toward zero).
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns the quotient
 * @throws {ShapeError} when shapes do not broadcast
 * @example
 * ```ts
 * div(tensor([1, 2]), 2); // [0.5, 1]
 * ```
 */
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Div, 'div', a, b);
}

/**
 * Elementwise `-x`.
 * @param x - input
 * @returns the negation
 * @example
 * ```ts
 * neg(tensor([1, -2])); // [-1, 2]
 * ```
 */
export function neg(x: Tensor): Tensor {
  return unary(K.Neg, 'neg', x);
}

/**
 * Elementwise `e^x`.
 * @param x - input
 * @returns the exponential
 * @example
 * ```ts
 * exp(tensor([0])); // [1]
 * ```
 */
export function exp(x: Tensor): Tensor {
  return unary(K.Exp, 'exp', x);
}

/**
 * Elementwise natural logarithm.
 * @param x - input
 * @returns ln x (NaN for x < 0, -Inf at 0)
 * @example
 * ```ts
 * log(tensor([1])); // [0]
 * ```
 */
export function log(x: Tensor): Tensor {
  return unary(K.Log, 'log', x);
}

/**
 * Elementwise square root.
 * @param x - input
 * @returns √x
 * @example
 * ```ts
 * sqrt(tensor([4])); // [2]
 * ```
 */
export function sqrt(x: Tensor): Tensor {
  return unary(K.Sqrt, 'sqrt', x);
}

/**
 * Converts to another dtype (PyTorch `.to(dtype)` semantics: float → int truncates).
 * @param x - input
 * @param dtype - target dtype
 * @returns the converted tensor (x itself when the dtype is unchanged)
 * @example
 * ```ts
 * cast(tensor([1.7]), 'int32'); // [1]
 * ```
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  assertTensor(x, 'x', 'cast');
  if (x.dtype === dtype) return x;
  return runKernel(K.Cast, [x], { dtype })[0]!;
}
