import { full } from '../creation.js';
import { add } from '../ops/elementwise.js';
import { reshape } from '../ops/movement.js';
import { sum } from '../ops/reduce.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * Ones with the shape and dtype of `t`.
 * @internal
 */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, t.dtype);
}

/**
 * Zeros with the shape and dtype of `t`.
 * @internal
 */
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, t.dtype);
}

/**
 * Sum of two gradients.
 * @internal
 */
export function addGrads(a: Tensor, b: Tensor): Tensor {
  return add(a, b);
}

/**
 * Sums a broadcast gradient back to `shape` (the reverse of NumPy broadcasting).
 * @internal
 */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(g, { axes, keepDims: true }) : g;
  return reshape(s, shape);
}
