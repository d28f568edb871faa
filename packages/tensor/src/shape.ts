import { ShapeError } from './errors/index.js';

/** A tensor shape: non-negative integer sizes, outermost first. */
export type Shape = readonly number[];

/**
 * Number of elements of a shape (1 for a scalar, 0 when any dim is 0).
 * @param shape - the shape
 * @returns the product of the dims
 * @example
 * ```ts
 * sizeOf([2, 3]); // 6
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major (C-contiguous) strides of a shape, in elements.
 * @param shape - the shape
 * @returns strides, same length as `shape`
 * @example
 * ```ts
 * contiguousStrides([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * Whether `strides` describe a contiguous row-major layout of `shape` (size-1 dims may have any stride).
 * @param shape - the shape
 * @param strides - element strides
 * @returns true when a flat copy would be identical
 * @example
 * ```ts
 * isContiguous([2, 3], [3, 1]); // true
 * ```
 */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}

/**
 * Validates a user-supplied shape.
 * @param shape - candidate shape
 * @param where - op/argument name for the error message
 * @returns the shape as a fresh array
 * @throws {ShapeError} when a dim is negative or not an integer
 * @example
 * ```ts
 * checkShape([2, 3], 'zeros');
 * ```
 */
export function checkShape(shape: readonly number[], where: string): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${where}: invalid shape [${shape.join(',')}]`);
  }
  return [...shape];
}

/**
 * NumPy/PyTorch broadcast of two shapes (align trailing dims; a dim of 1 stretches).
 * @param a - first shape
 * @param b - second shape
 * @param op - op name for the error message
 * @returns the broadcast shape
 * @throws {ShapeError} when the shapes are incompatible
 * @example
 * ```ts
 * broadcastShapes([4, 1, 3], [2, 1], 'add'); // [4, 2, 3]
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes [${a.join(',')}] and [${b.join(',')}] are not broadcastable (dim ${i})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides that read a tensor of `shape`/`strides` as if broadcast to `target` (0 on stretched dims).
 * @param shape - source shape
 * @param strides - source strides
 * @param target - broadcast shape (must be compatible)
 * @returns strides of length `target.length`
 * @example
 * ```ts
 * broadcastStrides([3], [1], [2, 3]); // [0, 1]
 * ```
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const off = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 ? 0 : strides[i]!;
  return out;
}

/**
 * Resolves a possibly negative axis against a rank.
 * @param axis - axis, negative counts from the end
 * @param rank - tensor rank
 * @param op - op name for the error message
 * @returns axis in `[0, rank)`
 * @throws {ShapeError} when out of range
 * @example
 * ```ts
 * normalizeAxis(-1, 4, 'softmax'); // 3
 * ```
 */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Resolves a list of axes (or all axes when undefined), sorted and de-duplicated.
 * @param axes - axes or undefined for all
 * @param rank - tensor rank
 * @param op - op name for the error message
 * @returns sorted unique axes
 * @throws {ShapeError} when an axis is out of range or repeated
 * @example
 * ```ts
 * normalizeAxes([-1, 0], 3, 'sum'); // [0, 2]
 * ```
 */
export function normalizeAxes(
  axes: number | readonly number[] | undefined,
  rank: number,
  op: string,
): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(a, rank, op));
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: repeated axis in [${list.join(',')}]`);
  return out.sort((x, y) => x - y);
}

/**
 * Formats a shape for messages: `[2,3,4]`.
 * @param shape - the shape
 * @returns the formatted string
 * @example
 * ```ts
 * fmtShape([2, 3]); // '[2,3]'
 * ```
 */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * Whether two shapes are equal.
 * @param a - first shape
 * @param b - second shape
 * @returns true when same rank and dims
 * @example
 * ```ts
 * shapesEqual([2, 3], [2, 3]); // true
 * ```
 */
export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
