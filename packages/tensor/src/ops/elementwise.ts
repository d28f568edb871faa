import * as K from '../backend/kernel-names.js';
import { full } from '../creation.js';
import type { DType } from '../dtype.js';
import { runComposite, runKernel } from '../engine.js';
import { DTypeError, InvalidArgumentError } from '../errors/index.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, assertSameDType, assertTensor, type TensorOrScalar, toTensor } from './util.js';

export * from './elementwise-unary.js';

function operands(op: string, a: TensorOrScalar, b: TensorOrScalar): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new InvalidArgumentError(`${op}: at least one argument must be a Tensor`);
  }
  const dtype = (typeof a === 'number' ? assertTensor(b, 'b', op) : assertTensor(a, 'a', op)).dtype;
  const ta = toTensor(a, dtype, 'a', op);
  const tb = toTensor(b, dtype, 'b', op);
  assertSameDType(ta, tb, op);
  broadcastShapes(ta.shape, tb.shape, op);
  return [ta, tb];
}

function binary(kernel: string, op: string, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return runKernel(kernel, operands(op, a, b))[0]!;
}

function unary(kernel: string, op: string, x: Tensor): Tensor {
  assertTensor(x, 'x', op);
  return runKernel(kernel, [x])[0]!;
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

/**
 * Elementwise `a ** b` with broadcasting (float dtypes). `pow(x, 1)` with `x = 1` and `pow(1, NaN)` follow C `pow`.
 * @param a - base, tensor or number
 * @param b - exponent, tensor or number
 * @returns the power
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @example
 * ```ts
 * pow(tensor([2, 3]), 2); // [4, 9]
 * ```
 */
export function pow(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [ta, tb] = operands('pow', a, b);
  assertFloat(ta, 'a', 'pow');
  return runKernel(K.Pow, [ta, tb])[0]!;
}

/**
 * Elementwise maximum with broadcasting; NaN propagates (like `torch.maximum`).
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns max(a, b)
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * maximum(tensor([1, 5]), 3); // [3, 5]
 * ```
 */
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Maximum, 'maximum', a, b);
}

/**
 * Elementwise minimum with broadcasting; NaN propagates (like `torch.minimum`).
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns min(a, b)
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * minimum(tensor([1, 5]), 3); // [1, 3]
 * ```
 */
export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Minimum, 'minimum', a, b);
}

/**
 * Elementwise `a == b` with broadcasting.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * equal(tensor([1, 2]), 2); // [false, true]
 * ```
 */
export function equal(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Equal, 'equal', a, b);
}

/**
 * Elementwise `a > b` with broadcasting (false when either is NaN).
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * greater(tensor([1, 2]), 1); // [false, true]
 * ```
 */
export function greater(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Greater, 'greater', a, b);
}

/**
 * Elementwise `a < b` with broadcasting (false when either is NaN).
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * less(tensor([1, 2]), 2); // [true, false]
 * ```
 */
export function less(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binary(K.Less, 'less', a, b);
}

/**
 * Elementwise `a >= b` with broadcasting (false when either is NaN). A composite of `greater` and `equal`.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * greaterEqual(tensor([1, 2]), 2); // [false, true]
 * ```
 */
export function greaterEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return runComposite(K.GreaterEqual, operands('greaterEqual', a, b), {}, ([x, y]) => [
    maximum(greater(x!, y!), equal(x!, y!)),
  ])[0]!;
}

/**
 * Elementwise `a <= b` with broadcasting (false when either is NaN). A composite of `less` and `equal`.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * lessEqual(tensor([1, 2]), 1); // [true, false]
 * ```
 */
export function lessEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return runComposite(K.LessEqual, operands('lessEqual', a, b), {}, ([x, y]) => [
    maximum(less(x!, y!), equal(x!, y!)),
  ])[0]!;
}

/**
 * Elementwise `a != b` with broadcasting (true when either is NaN). A composite of `equal`.
 * @param a - tensor or number
 * @param b - tensor or number
 * @returns a bool tensor
 * @throws {ShapeError} when shapes do not broadcast
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * notEqual(tensor([1, 2]), 2); // [true, false]
 * ```
 */
export function notEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return runComposite(K.NotEqual, operands('notEqual', a, b), {}, ([x, y]) => [
    equal(equal(x!, y!), full([], 0, 'bool')),
  ])[0]!;
}

/**
 * Picks `a` where `cond` is true, else `b`, broadcasting all three (like `torch.where`).
 * @param cond - bool tensor
 * @param a - values where true (tensor or number)
 * @param b - values where false (tensor or number)
 * @returns a tensor of the broadcast shape and the dtype of `a`/`b` (float32 when both are numbers)
 * @throws {DTypeError} when `cond` is not bool or `a` and `b` differ in dtype
 * @throws {ShapeError} when the shapes do not broadcast
 * @example
 * ```ts
 * const x = tensor([-1, 2]);
 * where(greater(x, 0), x, 0); // [0, 2]
 * ```
 */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  assertTensor(cond, 'cond', 'where');
  if (cond.dtype !== 'bool') {
    throw new DTypeError(`where: 'cond' has dtype ${cond.dtype}, expected bool`);
  }
  const [ta, tb] =
    typeof a === 'number' && typeof b === 'number' ? [full([], a), full([], b)] : operands('where', a, b);
  broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  return runKernel(K.Where, [cond, ta, tb])[0]!;
}
