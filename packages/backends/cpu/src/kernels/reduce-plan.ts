/**
 * Reduction iteration plans and the specialised row loops shared by the CPU reduction kernels.
 * @packageDocumentation
 */
import type { ReduceAttrs, TypedArray } from '@tinyvision/tensor';
import { sizeOf } from '@tinyvision/tensor';

/** The reductions with a specialised loop. */
export type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod';

/**
 * A reduction's iteration plan: the input shape with size-1 dims dropped and adjacent dims of the same kind
 * (reduced or kept) merged, so e.g. axes [0, 2, 3] of NCHW become `[N·(reduced), C, H·W (reduced)]` and every
 * reduction runs as rows of the last merged dim.
 */
export interface ReducePlan {
  /** Merged extents (at least one). */
  readonly ext: readonly number[];
  /** Output stride of each merged dim (0 on reduced dims). */
  readonly ostr: readonly number[];
  /** Output shape. */
  readonly shape: readonly number[];
  /** Number of output cells. */
  readonly nOut: number;
  /** Number of input values reduced into each output cell. */
  readonly count: number;
}

/**
 * Plans a reduction of `inShape` over sorted axes.
 * @param inShape - input shape
 * @param attrs - axes and keepDims
 * @returns the merged extents, output strides, output shape and counts
 */
export function planReduce(inShape: readonly number[], attrs: ReduceAttrs): ReducePlan {
  const { axes, keepDims } = attrs;
  const red = new Set(axes);
  const ext: number[] = [];
  const isRed: boolean[] = [];
  inShape.forEach((d, i) => {
    if (d === 1) return;
    const r = red.has(i);
    if (ext.length && isRed[ext.length - 1] === r) ext[ext.length - 1]! *= d;
    else {
      ext.push(d);
      isRed.push(r);
    }
  });
  if (!ext.length) {
    ext.push(1);
    isRed.push(false);
  }
  const ostr = new Array<number>(ext.length);
  let nOut = 1;
  for (let i = ext.length - 1; i >= 0; i--) {
    ostr[i] = isRed[i] ? 0 : nOut;
    if (!isRed[i]) nOut *= ext[i]!;
  }
  const shape = keepDims
    ? inShape.map((d, i) => (red.has(i) ? 1 : d))
    : inShape.filter((_, i) => !red.has(i));
  const count = axes.reduce((acc, ax) => acc * inShape[ax]!, 1);
  return { ext, ostr, shape, nOut: sizeOf(shape), count };
}

/**
 * Calls `run(o, p, len, reduceRow)` for each row of the plan's last merged dim: input offset `p`, output offset
 * `o`; `reduceRow` tells whether the row folds into `acc[o]` or updates `acc[o .. o+len)` elementwise.
 * @param plan - the reduction plan
 * @param n - number of input values
 * @param run - the row body
 * @returns nothing
 */
export function forEachRow(
  plan: ReducePlan,
  n: number,
  run: (o: number, p: number, len: number, reduceRow: boolean) => void,
): void {
  const { ext, ostr } = plan;
  const last = ext.length - 1;
  const len = ext[last]!;
  const reduceRow = ostr[last] === 0;
  const idx = new Array<number>(last).fill(0);
  let o = 0;
  for (let p = 0; p < n; p += len) {
    run(o, p, len, reduceRow);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      o += ostr[d]!;
      if (idx[d]! < ext[d]!) break;
      o -= ostr[d]! * ext[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * Folds `v[p .. p+len)` into `a` (max/min: a NaN wins and stays, since `NaN > a` is false afterwards).
 * @param kind - which reduction
 * @param a - the accumulator so far
 * @param v - input values
 * @param p - first index
 * @param len - number of values
 * @returns the new accumulator
 */
export function foldRow(kind: ReduceKind, a: number, v: TypedArray, p: number, len: number): number {
  const end = p + len;
  if (kind === 'sum' || kind === 'mean') {
    let a1 = 0;
    let i = p;
    for (; i + 1 < end; i += 2) {
      a += v[i]!;
      a1 += v[i + 1]!;
    }
    if (i < end) a += v[i]!;
    return a + a1;
  }
  if (kind === 'prod') for (let i = p; i < end; i++) a *= v[i]!;
  else if (kind === 'max') {
    for (let i = p; i < end; i++) {
      const e = v[i]!;
      if (e > a || Number.isNaN(e)) a = e;
    }
  } else {
    for (let i = p; i < end; i++) {
      const e = v[i]!;
      if (e < a || Number.isNaN(e)) a = e;
    }
  }
  return a;
}

/**
 * Folds `v[p .. p+len)` elementwise into `acc[o .. o+len)`.
 * @param kind - which reduction
 * @param acc - accumulators
 * @param o - first accumulator
 * @param v - input values
 * @param p - first input index
 * @param len - number of values
 * @returns nothing
 */
export function foldVec(
  kind: ReduceKind,
  acc: Float64Array,
  o: number,
  v: TypedArray,
  p: number,
  len: number,
): void {
  const d = p - o;
  const end = o + len;
  if (kind === 'sum' || kind === 'mean') for (let i = o; i < end; i++) acc[i]! += v[i + d]!;
  else if (kind === 'prod') for (let i = o; i < end; i++) acc[i]! *= v[i + d]!;
  else if (kind === 'max') {
    for (let i = o; i < end; i++) {
      const e = v[i + d]!;
      if (e > acc[i]! || Number.isNaN(e)) acc[i] = e;
    }
  } else {
    for (let i = o; i < end; i++) {
      const e = v[i + d]!;
      if (e < acc[i]! || Number.isNaN(e)) acc[i] = e;
    }
  }
}
