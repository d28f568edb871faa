import { broadcastShapes, sizeOf } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../host.js';
import { planBroadcast } from './broadcast-plan.js';
import { binaryImpl, whereImpl } from './elementwise.js';

function host(shape: number[], seed: number): HostTensor {
  let s = seed;
  const values = Float32Array.from(
    { length: sizeOf(shape) },
    () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2,
  );
  return { values, shape, dtype: 'float32' };
}

/** Naive broadcast read: element `i` of `shape` (row-major) as seen through the operand's shape. */
function at(t: HostTensor, shape: readonly number[], i: number): number {
  const off = shape.length - t.shape.length;
  let p = 0;
  let rest = i;
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  for (let d = 0; d < t.shape.length; d++) p = p * t.shape[d]! + (t.shape[d] === 1 ? 0 : idx[d + off]!);
  return t.values[p]!;
}

const PAIRS: [number[], number[]][] = [
  [
    [4, 3, 5, 6],
    [1, 3, 1, 1],
  ],
  [
    [4, 3, 5, 6],
    [4, 3, 1, 1],
  ],
  [
    [1, 3, 1, 1],
    [4, 3, 5, 6],
  ],
  [[4, 3, 5, 6], [6]],
  [
    [4, 3, 5, 6],
    [5, 1],
  ],
  [
    [3, 1],
    [1, 4],
  ],
  [[2, 3, 4], []],
  [[], [2, 3, 4]],
  [
    [2, 3, 4],
    [2, 3, 4],
  ],
  [
    [2, 1, 4],
    [1, 3, 1],
  ],
  [
    [1, 1],
    [1, 1],
  ],
  [
    [0, 3],
    [1, 3],
  ],
];

const OPS = [
  ['add', (x: number, y: number) => x + y],
  ['sub', (x: number, y: number) => x - y],
  ['mul', (x: number, y: number) => x * y],
  ['div', (x: number, y: number) => x / y],
  ['greater', (x: number, y: number) => (x > y ? 1 : 0)],
  ['less', (x: number, y: number) => (x < y ? 1 : 0)],
  ['equal', (x: number, y: number) => (x === y ? 1 : 0)],
] as const;

describe('planBroadcast', () => {
  it('merges NCHW ∘ [1,C,1,1] into [N, C, H·W] rows against a scalar', () => {
    const p = planBroadcast(
      [4, 3, 5, 6],
      [
        [4, 3, 5, 6],
        [1, 3, 1, 1],
      ],
    );
    expect(p.ext).toEqual([4, 3, 30]);
    expect(p.strides).toEqual([
      [90, 30, 1],
      [0, 1, 0],
    ]);
  });

  it('merges same-shape operands into one row and drops size-1 dims', () => {
    expect(
      planBroadcast(
        [2, 1, 3, 4],
        [
          [2, 1, 3, 4],
          [2, 1, 3, 4],
        ],
      ).ext,
    ).toEqual([24]);
    expect(planBroadcast([2, 3], [[2, 3], []]).strides).toEqual([[1], [0]]);
  });
});

describe('binaryImpl / whereImpl broadcasting', () => {
  for (const [sa, sb] of PAIRS) {
    it(`match a naive broadcast: [${sa}] ∘ [${sb}]`, () => {
      const a = host(sa, 7 + sa.length);
      const b = host(sb, 13 + sb.length);
      if (sb.length && sb.every((d) => d === 1)) b.values[0] = a.values[0] ?? 0; // an equal pair for 'equal'
      const shape = broadcastShapes(sa, sb);
      const n = sizeOf(shape);
      for (const [op, f] of OPS) {
        const cmp = op === 'greater' || op === 'less' || op === 'equal';
        const dtype = cmp ? 'bool' : 'float32';
        for (const tagged of [op, undefined]) {
          const got = binaryImpl(a, b, dtype, f, tagged);
          expect(got.shape).toEqual(shape);
          const want = allocLike(dtype, n, (i) => f(at(a, shape, i), at(b, shape, i)));
          expect(Array.from(got.values), `${op} (tag ${tagged})`).toEqual(Array.from(want));
        }
      }
      const cond: HostTensor = {
        values: Uint8Array.from(b.values, (v) => (v > 0 ? 1 : 0)),
        shape: sb,
        dtype: 'bool',
      };
      const w = whereImpl(cond, a, host([1], 3));
      const wshape = broadcastShapes(sb, sa);
      expect(Array.from(w.values)).toEqual(
        Array.from(
          allocLike('float32', sizeOf(wshape), (i) =>
            at(cond, wshape, i) ? at(a, wshape, i) : at(host([1], 3), wshape, i),
          ),
        ),
      );
    });
  }
});

function allocLike(dtype: 'bool' | 'float32', n: number, f: (i: number) => number) {
  const out = dtype === 'bool' ? new Uint8Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}
