/**
 * Single-threaded float32 GEMM for the CPU backend: `C (+)= op(A) · op(B)`, row-major, with optional transposes.
 *
 * Layout (GotoBLAS style): the N dimension is cut into blocks of {@link NC} columns, K into blocks of
 * {@link KC} (a K up to 1.5·KC stays one block) and M into blocks of {@link MC}. For each (NC, KC) block, B is
 * packed into panels of {@link NR} columns (`kc × 8`, contiguous) and, for each MC block, A into panels of
 * {@link MR} rows (`kc × 4`, interleaved). A 4×8 micro-kernel keeps 32 accumulators in locals (V8 keeps them
 * as unboxed doubles), so every packed value is loaded once per 8 (A) or 4 (B) multiply-adds. Transposed
 * operands cost nothing extra: they are read transposed while packing. Sums accumulate in double precision
 * within a K block and are rounded to float32 when stored. Small problems skip packing and use direct loops.
 */

/** Rows of the micro-kernel tile. */
export const MR = 4;
/** Columns of the micro-kernel tile. */
export const NR = 8;
/** K block (depth of packed panels). */
export const KC = 256;
/** M block (rows of A packed at once). */
export const MC = 64;
/** N block (columns of B packed at once). */
export const NC = 2048;

/** Arguments of {@link gemm}: `C[m×n] (+)= op(A)[m×k] · op(B)[k×n]` on row-major float32 storage. */
export interface GemmArgs {
  /** Rows of `op(A)` and `C`. */
  readonly m: number;
  /** Columns of `op(B)` and `C`. */
  readonly n: number;
  /** Columns of `op(A)`, rows of `op(B)`. */
  readonly k: number;
  /** A's storage. */
  readonly a: Float32Array;
  /** First element of A. Default 0. */
  readonly aOffset?: number;
  /** Row stride of A as stored (`k` when not transposed, `m` when transposed, for dense A). */
  readonly lda: number;
  /** A is stored `[k, m]` and used transposed. */
  readonly transA?: boolean;
  /** B's storage. */
  readonly b: Float32Array;
  /** First element of B. Default 0. */
  readonly bOffset?: number;
  /** Row stride of B as stored (`n` when not transposed, `k` when transposed, for dense B). */
  readonly ldb: number;
  /** B is stored `[n, k]` and used transposed. */
  readonly transB?: boolean;
  /** Output storage. */
  readonly c: Float32Array;
  /** First element of C. Default 0. */
  readonly cOffset?: number;
  /** Row stride of C. */
  readonly ldc: number;
  /** Add into C instead of overwriting it. Default false. */
  readonly accumulate?: boolean;
}

let packA = new Float32Array(KC * (MC + MR));
let packB = new Float32Array(KC * NR * 64);
const tile = new Float32Array(MR * NR);

/**
 * Matrix multiply `C (+)= op(A) · op(B)` in float32 (see {@link GemmArgs}).
 * @param args - sizes, operands with offsets/strides/transposes, output and accumulate flag
 * @example
 * ```ts
 * const c = new Float32Array(4);
 * gemm({ m: 2, n: 2, k: 2, a: Float32Array.of(1, 2, 3, 4), lda: 2, b: Float32Array.of(1, 0, 0, 1), ldb: 2, c, ldc: 2 });
 * ```
 */
export function gemm(args: GemmArgs): void {
  const { m, n, k, a, lda, b, ldb, c, ldc } = args;
  const aOff = args.aOffset ?? 0;
  const bOff = args.bOffset ?? 0;
  const cOff = args.cOffset ?? 0;
  const tA = args.transA === true;
  const tB = args.transB === true;
  const acc = args.accumulate === true;
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!acc) for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    return;
  }
  if (m < MR || n < NR || m * n * k < 4096) {
    gemmSmall(m, n, k, a, aOff, lda, tA, b, bOff, ldb, tB, c, cOff, ldc, acc);
    return;
  }
  // A K a little over KC (e.g. 288 = 3·3·32 in convolutions) stays one block rather than KC + a thin rest.
  const kb = k <= KC + (KC >> 1) ? k : KC;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    const nPanels = Math.ceil(nc / NR);
    for (let k0 = 0; k0 < k; k0 += kb) {
      const kc = Math.min(kb, k - k0);
      if (packB.length < kc * nPanels * NR) packB = new Float32Array(kc * nPanels * NR);
      packPanelsB(b, bOff, ldb, tB, k0, kc, j0, nc, packB);
      const addTo = acc || k0 > 0;
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        const mPanels = Math.ceil(mc / MR);
        if (packA.length < kc * mPanels * MR) packA = new Float32Array(kc * mPanels * MR);
        packPanelsA(a, aOff, lda, tA, i0, mc, k0, kc, packA);
        for (let p = 0; p < nPanels; p++) {
          const nr = Math.min(NR, nc - p * NR);
          const bo = p * kc * NR;
          for (let q = 0; q < mPanels; q++) {
            const mr = Math.min(MR, mc - q * MR);
            const co = cOff + (i0 + q * MR) * ldc + j0 + p * NR;
            if (mr === MR && nr === NR) micro4x8(kc, packA, q * kc * MR, packB, bo, c, co, ldc, addTo);
            else {
              micro4x8(kc, packA, q * kc * MR, packB, bo, tile, 0, NR, false);
              storeEdge(tile, c, co, ldc, mr, nr, addTo);
            }
          }
        }
      }
    }
  }
}

function storeEdge(
  t: Float32Array,
  c: Float32Array,
  co: number,
  ldc: number,
  mr: number,
  nr: number,
  add: boolean,
) {
  for (let i = 0; i < mr; i++) {
    const r = co + i * ldc;
    if (add) for (let j = 0; j < nr; j++) c[r + j]! += t[i * NR + j]!;
    else for (let j = 0; j < nr; j++) c[r + j] = t[i * NR + j]!;
  }
}

/** Packs `op(B)[k0:k0+kc, j0:j0+nc]` into `kc × NR` panels, zero-padding the last panel. */
function packPanelsB(
  b: Float32Array,
  bOff: number,
  ldb: number,
  tB: boolean,
  k0: number,
  kc: number,
  j0: number,
  nc: number,
  out: Float32Array,
): void {
  for (let p = 0; p * NR < nc; p++) {
    const jj = j0 + p * NR;
    const w = Math.min(NR, nc - p * NR);
    let o = p * kc * NR;
    if (!tB && w === NR) {
      let s = bOff + k0 * ldb + jj;
      for (let kk = 0; kk < kc; kk++, s += ldb, o += NR) {
        out[o] = b[s]!;
        out[o + 1] = b[s + 1]!;
        out[o + 2] = b[s + 2]!;
        out[o + 3] = b[s + 3]!;
        out[o + 4] = b[s + 4]!;
        out[o + 5] = b[s + 5]!;
        out[o + 6] = b[s + 6]!;
        out[o + 7] = b[s + 7]!;
      }
    } else if (!tB) {
      for (let kk = 0; kk < kc; kk++, o += NR) {
        const s = bOff + (k0 + kk) * ldb + jj;
        let j = 0;
        for (; j < w; j++) out[o + j] = b[s + j]!;
        for (; j < NR; j++) out[o + j] = 0;
      }
    } else {
      // B stored [n, k]: walk each column's contiguous k run.
      for (let j = 0; j < NR; j++) {
        if (j < w) {
          const s = bOff + (jj + j) * ldb + k0;
          for (let kk = 0; kk < kc; kk++) out[o + kk * NR + j] = b[s + kk]!;
        } else for (let kk = 0; kk < kc; kk++) out[o + kk * NR + j] = 0;
      }
    }
  }
}

/** Packs `op(A)[i0:i0+mc, k0:k0+kc]` into `kc × MR` interleaved panels, zero-padding the last panel. */
function packPanelsA(
  a: Float32Array,
  aOff: number,
  lda: number,
  tA: boolean,
  i0: number,
  mc: number,
  k0: number,
  kc: number,
  out: Float32Array,
): void {
  for (let p = 0; p * MR < mc; p++) {
    const ii = i0 + p * MR;
    const h = Math.min(MR, mc - p * MR);
    const o = p * kc * MR;
    if (tA) {
      // A stored [k, m]: each k row holds MR consecutive values.
      for (let kk = 0; kk < kc; kk++) {
        const s = aOff + (k0 + kk) * lda + ii;
        const d = o + kk * MR;
        for (let i = 0; i < MR; i++) out[d + i] = i < h ? a[s + i]! : 0;
      }
    } else {
      for (let i = 0; i < MR; i++) {
        if (i < h) {
          const s = aOff + (ii + i) * lda + k0;
          for (let kk = 0; kk < kc; kk++) out[o + kk * MR + i] = a[s + kk]!;
        } else for (let kk = 0; kk < kc; kk++) out[o + kk * MR + i] = 0;
      }
    }
  }
}

/** The 4×8 register-blocked micro-kernel over packed panels. */
// biome-ignore format: one register tile row per line
function micro4x8(
  kc: number,
  ap: Float32Array,
  ao: number,
  bp: Float32Array,
  bo: number,
  c: Float32Array,
  co: number,
  ldc: number,
  add: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let kk = 0; kk < kc; kk++) {
    const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
    const b0 = bp[bo]!, b1 = bp[bo + 1]!, b2 = bp[bo + 2]!, b3 = bp[bo + 3]!;
    const b4 = bp[bo + 4]!, b5 = bp[bo + 5]!, b6 = bp[bo + 6]!, b7 = bp[bo + 7]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
    ao += 4; bo += 8;
  }
  const r0 = co, r1 = co + ldc, r2 = co + 2 * ldc, r3 = co + 3 * ldc;
  if (add) {
    c00 += c[r0]!; c01 += c[r0 + 1]!; c02 += c[r0 + 2]!; c03 += c[r0 + 3]!;
    c04 += c[r0 + 4]!; c05 += c[r0 + 5]!; c06 += c[r0 + 6]!; c07 += c[r0 + 7]!;
    c10 += c[r1]!; c11 += c[r1 + 1]!; c12 += c[r1 + 2]!; c13 += c[r1 + 3]!;
    c14 += c[r1 + 4]!; c15 += c[r1 + 5]!; c16 += c[r1 + 6]!; c17 += c[r1 + 7]!;
    c20 += c[r2]!; c21 += c[r2 + 1]!; c22 += c[r2 + 2]!; c23 += c[r2 + 3]!;
    c24 += c[r2 + 4]!; c25 += c[r2 + 5]!; c26 += c[r2 + 6]!; c27 += c[r2 + 7]!;
    c30 += c[r3]!; c31 += c[r3 + 1]!; c32 += c[r3 + 2]!; c33 += c[r3 + 3]!;
    c34 += c[r3 + 4]!; c35 += c[r3 + 5]!; c36 += c[r3 + 6]!; c37 += c[r3 + 7]!;
  }
  c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
  c[r0 + 4] = c04; c[r0 + 5] = c05; c[r0 + 6] = c06; c[r0 + 7] = c07;
  c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
  c[r1 + 4] = c14; c[r1 + 5] = c15; c[r1 + 6] = c16; c[r1 + 7] = c17;
  c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
  c[r2 + 4] = c24; c[r2 + 5] = c25; c[r2 + 6] = c26; c[r2 + 7] = c27;
  c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
  c[r3 + 4] = c34; c[r3 + 5] = c35; c[r3 + 6] = c36; c[r3 + 7] = c37;
}

let rowAcc = new Float64Array(64);

/** Direct loops for small or skinny problems (no packing); accumulates in double. */
function gemmSmall(
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
  c: Float32Array,
  cOff: number,
  ldc: number,
  acc: boolean,
): void {
  const sak = tA ? lda : 1; // step of A(i, ·) along k
  const sai = tA ? 1 : lda; // step of A(·, k) along i
  if (tB) {
    // B(k, j) = b[j*ldb + k]: dot products along contiguous k.
    for (let i = 0; i < m; i++) {
      const ai = aOff + i * sai;
      const ci = cOff + i * ldc;
      for (let j = 0; j < n; j++) {
        const bj = bOff + j * ldb;
        let s = 0;
        for (let kk = 0; kk < k; kk++) s += a[ai + kk * sak]! * b[bj + kk]!;
        c[ci + j] = acc ? c[ci + j]! + s : s;
      }
    }
    return;
  }
  // B rows are contiguous: axpy rows of B into a double accumulator row.
  if (rowAcc.length < n) rowAcc = new Float64Array(n);
  const r = rowAcc;
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * sai;
    const ci = cOff + i * ldc;
    if (acc) for (let j = 0; j < n; j++) r[j] = c[ci + j]!;
    else r.fill(0, 0, n);
    for (let kk = 0; kk < k; kk++) {
      const av = a[ai + kk * sak]!;
      const bk = bOff + kk * ldb;
      for (let j = 0; j < n; j++) r[j]! += av * b[bk + j]!;
    }
    for (let j = 0; j < n; j++) c[ci + j] = r[j]!;
  }
}
