import { describe, expect, it } from 'vitest';
import { gemm, KC, MC, NC } from './gemm.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from(
    { length: n },
    () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1,
  );
}

/** Reference in double precision: C = op(A)·op(B) with explicit leading dims and offsets. */
function reference(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  lda: number,
  tA: boolean,
  b: Float32Array,
  bOff: number,
  ldb: number,
  tB: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) {
        const av = tA ? a[aOff + q * lda + i]! : a[aOff + i * lda + q]!;
        const bv = tB ? b[bOff + j * ldb + q]! : b[bOff + q * ldb + j]!;
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

function maxError(
  c: Float32Array,
  cOff: number,
  ldc: number,
  ref: Float64Array,
  m: number,
  n: number,
  base?: Float32Array,
) {
  let err = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const want = ref[i * n + j]! + (base ? base[cOff + i * ldc + j]! : 0);
      err = Math.max(err, Math.abs(c[cOff + i * ldc + j]! - want) / (1 + Math.abs(want)));
    }
  }
  return err;
}

describe('gemm', () => {
  // Shapes crossing every block boundary: small path, MR/NR edges, KC, MC and NC blocks.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 7, 5],
    [4, 8, 128],
    [MC + 5, 19, KC + 13],
    [9, NC + 37, 6],
    [33, 41, 2 * KC + 1],
  ];
  for (const [m, n, k] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        it(`${m}x${n}x${k} transA=${tA} transB=${tB} matches a double-precision reference`, () => {
          const a = rand(m * k, m + 1);
          const b = rand(k * n, n + 2);
          const c = new Float32Array(m * n);
          const lda = tA ? m : k;
          const ldb = tB ? k : n;
          gemm({ m, n, k, a, lda, transA: tA, b, ldb, transB: tB, c, ldc: n });
          const ref = reference(m, n, k, a, 0, lda, tA, b, 0, ldb, tB);
          expect(maxError(c, 0, n, ref, m, n)).toBeLessThan(1e-5);
        });
      }
    }
  }

  it('accumulates into a strided sub-block of C and reads operands at offsets with padded leading dims', () => {
    const [m, n, k] = [13, 21, 300];
    const [lda, ldb, ldc] = [k + 3, n + 5, n + 7];
    const a = rand(2 + m * lda, 3);
    const b = rand(4 + k * ldb, 4);
    const c0 = rand(6 + m * ldc, 5);
    const c = c0.slice();
    gemm({ m, n, k, a, aOffset: 2, lda, b, bOffset: 4, ldb, c, cOffset: 6, ldc, accumulate: true });
    const ref = reference(m, n, k, a, 2, lda, false, b, 4, ldb, false);
    expect(maxError(c, 6, ldc, ref, m, n, c0)).toBeLessThan(1e-5);
    // Elements outside the sub-block are untouched.
    expect(c[0]).toBe(c0[0]);
    expect(c[6 + n]).toBe(c0[6 + n]);
  });

  it('k = 0 writes zeros (or leaves C as is when accumulating)', () => {
    const c = Float32Array.of(5, 5, 5, 5);
    gemm({
      m: 2,
      n: 2,
      k: 0,
      a: new Float32Array(0),
      lda: 0,
      b: new Float32Array(0),
      ldb: 2,
      c,
      ldc: 2,
      accumulate: true,
    });
    expect([...c]).toEqual([5, 5, 5, 5]);
    gemm({ m: 2, n: 2, k: 0, a: new Float32Array(0), lda: 0, b: new Float32Array(0), ldb: 2, c, ldc: 2 });
    expect([...c]).toEqual([0, 0, 0, 0]);
  });

  it('propagates NaN and Inf (no zero-skipping shortcuts)', () => {
    for (const [m, n, k] of [
      [2, 3, 2],
      [8, 16, 64],
    ] as const) {
      const a = new Float32Array(m * k);
      const b = new Float32Array(k * n).fill(1);
      b[0] = Number.POSITIVE_INFINITY;
      b[n + 1] = Number.NaN;
      const c = new Float32Array(m * n);
      gemm({ m, n, k, a, lda: k, b, ldb: n, c, ldc: n });
      expect(c[0]).toBeNaN(); // 0 · Inf
      expect(c[1]).toBeNaN(); // 0 · NaN
      expect(c[2]).toBe(0);
    }
  });
});
