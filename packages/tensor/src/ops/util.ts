import { full } from '../creation.js';
import { type DType, isFloat } from '../dtype.js';
import { DTypeError, InvalidArgumentError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** A tensor or a plain number (converted to a scalar of the other operand's dtype). */
export type TensorOrScalar = Tensor | number;

/**
 * Checks that `x` is a live tensor argument.
 * @internal
 */
export function assertTensor(x: unknown, arg: string, op: string): Tensor {
  if (!(x instanceof Tensor)) {
    throw new InvalidArgumentError(`${op}: '${arg}' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  return x;
}

/**
 * Checks a float dtype.
 * @internal
 */
export function assertFloat(x: Tensor, arg: string, op: string): void {
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: '${arg}' has dtype ${x.dtype}, expected a float dtype`);
}

/**
 * Checks that dtypes match.
 * @internal
 */
export function assertSameDType(a: Tensor, b: Tensor, op: string, names = ['a', 'b']): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(
      `${op}: '${names[0]}' is ${a.dtype} but '${names[1]}' is ${b.dtype}; cast one with cast()`,
    );
  }
}

/**
 * Checks rank.
 * @internal
 */
export function assertRank(x: Tensor, rank: number, arg: string, op: string): void {
  if (x.rank !== rank) {
    throw new InvalidArgumentError(`${op}: '${arg}' must have rank ${rank}, got shape ${fmtShape(x.shape)}`);
  }
}

/**
 * Converts a number to a scalar tensor of `dtype`; passes tensors through.
 * @internal
 */
export function toTensor(x: TensorOrScalar, dtype: DType, arg: string, op: string): Tensor {
  if (typeof x === 'number') return full([], x, dtype);
  return assertTensor(x, arg, op);
}

/**
 * Normalises a number-or-pair argument to a pair.
 * @internal
 */
export function pair(v: number | readonly number[], name: string, op: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x))) {
    throw new InvalidArgumentError(
      `${op}: '${name}' must be an integer or a pair of integers, got ${JSON.stringify(v)}`,
    );
  }
  return [p[0]!, p[1]!];
}
