import type { DType, ReduceAttrs } from '@tinyvision/tensor';
import { allocStorage, sizeOf } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../host.js';
import { type ReduceKind, reduceFastImpl, reduceImpl } from './reduce.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from(
    { length: n },
    () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2,
  );
}

/** Naive reference: visits every input index and maps it to its output cell (no plan, no merging). */
function reference(x: HostTensor, axes: readonly number[], kind: ReduceKind): Float64Array {
  const rank = x.shape.length;
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new Float64Array(sizeOf(keep)).fill(
    kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0,
  );
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.values.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) o = o * keep[d]! + (axes.includes(d) ? 0 : idx[d]!);
    const v = x.values[i]!;
    const a = acc[o]!;
    if (kind === 'sum' || kind === 'mean') acc[o] = a + v;
    else if (kind === 'prod') acc[o] = a * v;
    else if (kind === 'max') acc[o] = v > a || Number.isNaN(v) ? v : a;
    else acc[o] = v < a || Number.isNaN(v) ? v : a;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < x.shape[d]!) break;
      idx[d] = 0;
    }
  }
  const count = axes.reduce((c, a) => c * x.shape[a]!, 1);
  if (kind === 'mean') for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! / count;
  return acc;
}

function host(shape: number[], seed: number, dtype: DType = 'float32'): HostTensor {
  const values = allocStorage(dtype, sizeOf(shape));
  values.set(
    dtype === 'float32'
      ? rand(values.length, seed)
      : rand(values.length, seed).map((v) => Math.round(v * 20)),
  );
  return { values, shape, dtype };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w)) expect(Number.isNaN(g), `${what}[${i}]`).toBe(true);
    else if (!Number.isFinite(w)) expect(g, `${what}[${i}]`).toBe(w);
    else
      expect(Math.abs(g - w), `${what}[${i}]: got ${g}, want ${w}`).toBeLessThanOrEqual(
        1e-5 * Math.abs(w) + 1e-6,
      );
  }
}

const KINDS: ReduceKind[] = ['sum', 'mean', 'max', 'min', 'prod'];

/** Shapes and axis sets: trailing, leading, middle, NCHW all-but-channel, interleaved, size-1 dims, all. */
const CASES: [number[], number[]][] = [
  [
    [4, 3, 5, 6],
    [0, 2, 3],
  ],
  [
    [4, 3, 5, 6],
    [2, 3],
  ],
  [[4, 3, 5, 6], [0]],
  [
    [4, 3, 5, 6],
    [0, 1],
  ],
  [[4, 3, 5, 6], [1]],
  [
    [4, 3, 5, 6],
    [1, 3],
  ],
  [
    [4, 3, 5, 6],
    [0, 2],
  ],
  [
    [4, 3, 5, 6],
    [0, 1, 2, 3],
  ],
  [
    [2, 1, 3, 1, 4],
    [1, 3],
  ],
  [
    [2, 1, 3, 1, 4],
    [0, 1, 4],
  ],
  [
    [1, 7, 1],
    [0, 2],
  ],
  [[7], [0]],
  [[5, 1], [1]],
  [[3, 0, 2], [1]],
  [
    [3, 0, 2],
    [0, 2],
  ],
];

describe('reduceFastImpl', () => {
  for (const [shape, axes] of CASES) {
    it(`matches a naive reduction: shape [${shape}] axes [${axes}]`, () => {
      const x = host(shape, shape.length * 31 + axes.length);
      for (const kind of KINDS) {
        for (const keepDims of [false, true]) {
          const got = reduceFastImpl(x, { axes, keepDims }, kind);
          const want = reference(x, axes, kind);
          expectClose(got.values, want, `${kind} [${shape}] axes [${axes}]`);
          const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          expect(got.shape).toEqual(keepDims ? kept : shape.filter((_, i) => !axes.includes(i)));
        }
      }
    });
  }

  it('propagates NaN through max/min/sum on every axis pattern', () => {
    const x = host([2, 3, 2, 2], 5);
    x.values[1 * 4 + 2] = Number.NaN; // n=0, c=1
    for (const axes of [[0, 2, 3], [2, 3], [0], [1], [0, 1, 2, 3]]) {
      for (const kind of ['max', 'min', 'sum'] as const) {
        expectClose(
          reduceFastImpl(x, { axes, keepDims: false }, kind).values,
          reference(x, axes, kind),
          kind,
        );
      }
    }
  });

  it('reduces int32 exactly and keeps the dtype', () => {
    const x = host([3, 4, 5], 9, 'int32');
    const got = reduceFastImpl(x, { axes: [0, 2], keepDims: false }, 'sum');
    expect(got.dtype).toBe('int32');
    expect(Array.from(got.values)).toEqual(Array.from(reference(x, [0, 2], 'sum')));
  });

  it('the mean over nothing is NaN and the sum is 0', () => {
    const x = host([0, 3], 1);
    const attrs: ReduceAttrs = { axes: [0], keepDims: false };
    expect(Array.from(reduceFastImpl(x, attrs, 'sum').values)).toEqual([0, 0, 0]);
    expect(Array.from(reduceFastImpl(x, attrs, 'mean').values).every(Number.isNaN)).toBe(true);
  });
});

describe('reduceImpl (custom accumulator)', () => {
  it('visits every value once per output cell', () => {
    const x = host([4, 3, 5, 6], 3);
    const got = reduceImpl(x, { axes: [0, 2, 3], keepDims: true }, 0, (a, v) => a + v * v);
    const sq: HostTensor = { ...x, values: x.values.map((v) => v * v) };
    expect(got.shape).toEqual([1, 3, 1, 1]);
    expectClose(got.values, reference(sq, [0, 2, 3], 'sum'), 'sum of squares');
  });
});
