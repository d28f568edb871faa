import * as K from '../backend/kernel-names.js';
import { runView } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import {
  broadcastShapes,
  broadcastStrides,
  contiguousStrides,
  fmtShape,
  normalizeAxes,
  normalizeAxis,
  sizeOf,
} from '../shape.js';
import type { Tensor } from '../tensor.js';
import { contiguous } from './copy.js';
import { assertTensor } from './util.js';

export { gather, takeAlongAxis } from './movement-gather.js';
export { chunk, concat, split, stack, tile, unstack } from './movement-join.js';
export { type PadMode, type PadOptions, pad } from './movement-pad.js';

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
 * Strides that view a strided tensor with a new shape without copying (PyTorch's `computeStride`), or
 * null when the dims to merge are not laid out contiguously with respect to each other.
 */
function viewStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] | null {
  if (shape.length === 0 || sizeOf(shape) === 0) return contiguousStrides(target);
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let base = strides[strides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * base)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        out[viewD] = viewNumel * base;
        viewNumel *= target[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        base = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/**
 * Reshapes: a view whenever the layout allows (always for contiguous inputs), else a contiguous copy
 * viewed with the new shape. One dim may be -1.
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
  const st = viewStrides(x.shape, x.strides, target);
  if (st) return runView(K.Reshape, x, target, st, x.offset, { shape: target });
  const src = contiguous(x);
  return runView(K.Reshape, src, target, contiguousStrides(target), src.offset, { shape: target });
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

function checkIndexList(v: readonly number[] | undefined, arg: string, x: Tensor, len: number): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length !== len) {
    throw new ShapeError(
      `slice: '${arg}' must have ${len} entries (one per sliced dim of ${fmtShape(x.shape)}), got ${JSON.stringify(v)}`,
    );
  }
  if (v.some((i) => !Number.isInteger(i) && Math.abs(i) !== Infinity)) {
    throw new InvalidArgumentError(`slice: '${arg}' must hold integers, got [${v.join(',')}]`);
  }
}

/** Python-style index normalisation: negative counts from the end, then clamp to `[0, n]`. */
function clampIndex(i: number, n: number): number {
  return Math.min(Math.max(i < 0 ? i + n : i, 0), n);
}

/**
 * Slices the leading dims with Python semantics: negative indices count from the end, out-of-range
 * indices clamp, and `end` is exclusive. A zero-copy view (offset + strides) sharing `x`'s storage.
 * @param x - input
 * @param begin - start per sliced dim (dims `0..begin.length-1`; the rest are kept whole)
 * @param end - exclusive end per sliced dim (default: to the end; `Infinity` also means the end)
 * @param steps - positive step per sliced dim (default 1)
 * @returns the view
 * @throws {ShapeError} when `begin` has more entries than `x` has dims, or `end`/`steps` differ in length
 * @throws {InvalidArgumentError} for non-integer indices or a step < 1
 * @example
 * ```ts
 * const x = reshape(arange(0, 12), [3, 4]);
 * slice(x, [1, -3], [3, Infinity], [1, 2]); // rows 1..2, columns 1 and 3
 * ```
 */
export function slice(
  x: Tensor,
  begin: readonly number[],
  end?: readonly number[],
  steps?: readonly number[],
): Tensor {
  assertTensor(x, 'x', 'slice');
  if (!Array.isArray(begin) || begin.length > x.rank) {
    throw new ShapeError(
      `slice: 'begin' has ${Array.isArray(begin) ? begin.length : 'no'} entries but 'x' has shape ${fmtShape(x.shape)}`,
    );
  }
  checkIndexList(begin, 'begin', x, begin.length);
  checkIndexList(end, 'end', x, begin.length);
  if (steps !== undefined) {
    checkIndexList(steps, 'steps', x, begin.length);
    if (steps.some((s) => s < 1 || !Number.isFinite(s))) {
      throw new InvalidArgumentError(`slice: 'steps' must be positive integers, got [${steps.join(',')}]`);
    }
  }
  const b: number[] = [];
  const e: number[] = [];
  const s: number[] = [];
  const shape: number[] = [];
  const strides: number[] = [];
  let offset = x.offset;
  for (let d = 0; d < x.rank; d++) {
    const n = x.shape[d]!;
    const sliced = d < begin.length;
    const bd = sliced ? clampIndex(begin[d]!, n) : 0;
    const ed = Math.max(bd, sliced && end ? clampIndex(end[d]!, n) : n);
    const sd = sliced && steps ? steps[d]! : 1;
    b.push(bd);
    e.push(ed);
    s.push(sd);
    shape.push(Math.ceil((ed - bd) / sd));
    strides.push(x.strides[d]! * sd);
    offset += bd * x.strides[d]!;
  }
  return runView(K.Slice, x, shape, strides, offset, { begin: b, end: e, steps: s });
}

/**
 * `length` entries of `axis` starting at `start` (torch.narrow), as a view.
 * @param x - input
 * @param axis - the dim to narrow (negative counts from the end)
 * @param start - first index (negative counts from the end)
 * @param length - number of entries
 * @returns the view
 * @throws {ShapeError} when the axis is out of range or `[start, start+length)` is not inside the dim
 * @example
 * ```ts
 * narrow(zeros([2, 8]), -1, 2, 4).shape; // [2, 4]
 * ```
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  assertTensor(x, 'x', 'narrow');
  const a = normalizeAxis(axis, x.rank, 'narrow');
  const n = x.shape[a]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new ShapeError(
      `narrow: start ${start} and length ${length} do not fit axis ${a} of size ${n} (shape ${fmtShape(x.shape)})`,
    );
  }
  const begin = x.shape.map(() => 0);
  const end = [...x.shape];
  begin[a] = s;
  end[a] = s + length;
  return slice(x, begin, end);
}

/**
 * Reverses the order of entries along `axes` (torch.flip), as a zero-copy view with negative strides.
 * @param x - input
 * @param axes - dims to reverse (negative count from the end)
 * @returns the view
 * @throws {ShapeError} for an out-of-range or repeated axis
 * @example
 * ```ts
 * flip(tensor([1, 2, 3]), 0).toArray(); // [3, 2, 1]
 * ```
 */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  assertTensor(x, 'x', 'flip');
  const ax = normalizeAxes(axes, x.rank, 'flip');
  const strides = [...x.strides];
  let offset = x.offset;
  for (const a of ax) {
    if (x.shape[a]! > 0) offset += (x.shape[a]! - 1) * x.strides[a]!;
    strides[a] = -strides[a]!;
  }
  return runView(K.Flip, x, x.shape, strides, offset, { axes: ax });
}

/**
 * Removes size-1 dims (all of them, or only `axes`), as a view.
 * @param x - input
 * @param axes - dims to remove (each must have size 1); default: every size-1 dim
 * @returns the view
 * @throws {ShapeError} when a named axis is out of range or its size is not 1
 * @example
 * ```ts
 * squeeze(zeros([1, 3, 1])).shape; // [3]
 * ```
 */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  assertTensor(x, 'x', 'squeeze');
  const drop = new Set(
    axes === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : normalizeAxes(axes, x.rank, 'squeeze'),
  );
  for (const a of drop) {
    if (x.shape[a] !== 1) {
      throw new ShapeError(
        `squeeze: axis ${a} of 'x' ${fmtShape(x.shape)} has size ${x.shape[a]}, expected 1`,
      );
    }
  }
  const shape = x.shape.filter((_, i) => !drop.has(i));
  const strides = x.strides.filter((_, i) => !drop.has(i));
  return runView(K.Reshape, x, shape, strides, x.offset, { shape });
}

/**
 * Inserts a size-1 dim at `axis`, as a view.
 * @param x - input
 * @param axis - position of the new dim in the output, in `[-(rank+1), rank]`
 * @returns the view
 * @throws {ShapeError} when the axis is out of range
 * @example
 * ```ts
 * unsqueeze(zeros([3]), -1).shape; // [3, 1]
 * ```
 */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  assertTensor(x, 'x', 'unsqueeze');
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(a, 0, 1);
  strides.splice(a, 0, a < x.rank ? x.shape[a]! * x.strides[a]! : 1);
  return runView(K.Reshape, x, shape, strides, x.offset, { shape });
}

/**
 * Merges dims `startDim..endDim` (inclusive) into one (torch.flatten); a view when the layout allows.
 * A scalar becomes shape `[1]`.
 * @param x - input
 * @param startDim - first dim to merge (default 0)
 * @param endDim - last dim to merge (default -1)
 * @returns the flattened tensor
 * @throws {ShapeError} when a dim is out of range or `startDim > endDim`
 * @example
 * ```ts
 * flatten(zeros([2, 3, 4]), 1).shape; // [2, 12]
 * ```
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  assertTensor(x, 'x', 'flatten');
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis(startDim, x.rank, 'flatten');
  const e = normalizeAxis(endDim, x.rank, 'flatten');
  if (s > e) {
    throw new ShapeError(
      `flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${fmtShape(x.shape)}`,
    );
  }
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}
