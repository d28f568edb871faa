import * as K from '../backend/kernel-names.js';
import { runView } from '../engine.js';
import { ShapeError } from '../errors/index.js';
import {
  broadcastShapes,
  broadcastStrides,
  fmtShape,
  isContiguous,
  normalizeAxis,
  sizeOf,
} from '../shape.js';
import type { Tensor } from '../tensor.js';
import { contiguous } from './copy.js';
import { assertTensor } from './util.js';

/**
 * Resolves a shape with at most one -1 against a size.
 * @internal
 */
export function resolveShape(shape: readonly number[], size: number, op: string): number[] {
  const out = [...shape];
  const neg = out.indexOf(-1);
  if (neg !== out.lastIndexOf(-1)) throw new ShapeError(`${op}: at most one -1 in ${fmtShape(shape)}`);
  const known = out.reduce((a, d, i) => (i === neg ? a : a * d), 1);
  if (out.some((d, i) => i !== neg && (!Number.isInteger(d) || d < 0))) {
    throw new ShapeError(`${op}: invalid target shape ${fmtShape(shape)}`);
  }
  if (neg >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(`${op}: cannot infer -1 in ${fmtShape(shape)} for ${size} elements`);
    }
    out[neg] = size / known;
  }
  if (sizeOf(out) !== size)
    throw new ShapeError(`${op}: cannot reshape ${size} elements to ${fmtShape(shape)}`);
  return out;
}

/**
 * Reshapes (a view when the input is contiguous, else a copy then a view). One dim may be -1.
 * @param x - input
 * @param shape - new shape
 * @returns the reshaped tensor
 * @throws {ShapeError} when the element count differs
 * @example
 * ```ts
 * reshape(arange(0, 6), [2, -1]); // shape [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor(x, 'x', 'reshape');
  const target = resolveShape(shape, x.size, 'reshape');
  const src = isContiguous(x.shape, x.strides) ? x : contiguous(x);
  const strides: number[] = [];
  let acc = 1;
  for (let i = target.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= target[i]!;
  }
  return runView(K.Reshape, src, target, strides, src.offset, { shape: target });
}

/**
 * Permutes dims (a view; no copy).
 * @param x - input
 * @param perm - permutation of `0..rank-1` (default: reversed)
 * @returns the transposed view
 * @throws {ShapeError} when `perm` is not a permutation
 * @example
 * ```ts
 * transpose(zeros([2, 3]), [1, 0]).shape; // [3, 2]
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  assertTensor(x, 'x', 'transpose');
  const p = perm
    ? perm.map((a) => normalizeAxis(a, x.rank, 'transpose'))
    : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || new Set(p).size !== x.rank) {
    throw new ShapeError(`transpose: perm [${perm?.join(',')}] is not a permutation of rank ${x.rank}`);
  }
  return runView(
    K.Transpose,
    x,
    p.map((a) => x.shape[a]!),
    p.map((a) => x.strides[a]!),
    x.offset,
    { perm: p },
  );
}

/**
 * Broadcasts to a larger shape (a view with zero strides; no copy).
 * @param x - input
 * @param shape - target shape (broadcast-compatible)
 * @returns the expanded view
 * @throws {ShapeError} when not broadcastable to `shape`
 * @example
 * ```ts
 * expand(tensor([1, 2]), [3, 2]).shape; // [3, 2]
 * ```
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor(x, 'x', 'expand');
  const b = broadcastShapes(x.shape, shape, 'expand');
  if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expand: ${fmtShape(x.shape)} cannot expand to ${fmtShape(shape)}`);
  }
  return runView(K.Expand, x, [...shape], broadcastStrides(x.shape, x.strides, shape), x.offset, {
    shape: [...shape],
  });
}
