// f32 GEMM: C[M,N] = A[M,K] · B[K,N] (+ bias, + activation), GotoBLAS-style packing with a 6×8 register-blocked
// micro-kernel (12 f32x4 accumulators). A is packed once (weights, cached by the host); B is packed per chunk
// of NC columns, either from a strided matrix or straight from an image (implicit im2col).
import { actIsVector, actRange, actv } from './common';
import { GEO } from './geom';

export const MR: i32 = 6;
export const NR: i32 = 8;
const TILE: usize = memory.data(6 * 8 * 4, 16);

const COL_Y: usize = memory.data(8 * 4, 16);
const COL_X: usize = memory.data(8 * 4, 16);

/** Bytes of a packed A (`ceil(M/MR)` panels of `K·MR` floats). */
export function packedASize(M: i32, K: i32): i32 {
  return ((M + MR - 1) / MR) * MR * K * 4;
}

/** Packs A (element (m,k) at `src + (m·rs + k·cs)·4`) into MR-row panels, zero-padded. */
export function packA(src: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void {
  let d = dst;
  for (let m0 = 0; m0 < M; m0 += MR) {
    for (let k = 0; k < K; k++) {
      for (let r = 0; r < MR; r++) {
        const m = m0 + r;
        store<f32>(d, m < M ? load<f32>(src + ((<usize>(m * rs + k * cs)) << 2)) : 0);
        d += 4;
      }
    }
  }
}

/** Packs B (element (k,n) at `src + (k·rs + n·cs)·4`) into NR-column panels, zero-padded. */
export function packB(src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  let d = dst;
  for (let n0 = 0; n0 < N; n0 += NR) {
    const full = n0 + NR <= N;
    if (ASC_FEATURE_SIMD) {
      if (full && cs == 1) {
        let s = src + ((<usize>n0) << 2);
        const step = (<usize>rs) << 2;
        for (let k = 0; k < K; k++) {
          v128.store(d, v128.load(s));
          v128.store(d, v128.load(s, 16), 16);
          s += step;
          d += 32;
        }
        continue;
      }
    }
    for (let k = 0; k < K; k++) {
      for (let t = 0; t < NR; t++) {
        const n = n0 + t;
        store<f32>(d, n < N ? load<f32>(src + ((<usize>(k * rs + n * cs)) << 2)) : 0);
        d += 4;
      }
    }
  }
}

/** Packs columns `[n0, n0+N)` of the im2col matrix of image `x` (K = C·kh·kw rows) into NR panels. */
function packConvB(x: usize, K: i32, n0: i32, N: i32, dst: usize): void {
  let d = dst;
  const gH = load<i32>(GEO, 4),
    gW = load<i32>(GEO, 8),
    gKh = load<i32>(GEO, 12),
    gKw = load<i32>(GEO, 16);
  const gSh = load<i32>(GEO, 20),
    gSw = load<i32>(GEO, 24),
    gPt = load<i32>(GEO, 28),
    gPl = load<i32>(GEO, 32);
  const gDh = load<i32>(GEO, 36),
    gDw = load<i32>(GEO, 40),
    gOw = load<i32>(GEO, 44);
  const khw = gKh * gKw;
  for (let j = 0; j < N; j += NR) {
    for (let t = 0; t < NR; t++) {
      const n = n0 + j + t;
      const oy = n / gOw;
      store<i32>(COL_Y + ((<usize>t) << 2), j + t < N ? oy * gSh - gPt : -1000000000);
      store<i32>(COL_X + ((<usize>t) << 2), (n - oy * gOw) * gSw - gPl);
    }
    for (let k = 0; k < K; k++) {
      const c = k / khw;
      const r = k - c * khw;
      const ky = r / gKw;
      const kx = r - ky * gKw;
      const plane = x + ((<usize>(c * gH * gW)) << 2);
      for (let t = 0; t < NR; t++) {
        const iy = load<i32>(COL_Y + ((<usize>t) << 2)) + ky * gDh;
        const ix = load<i32>(COL_X + ((<usize>t) << 2)) + kx * gDw;
        let v: f32 = 0;
        if (<u32>iy < <u32>gH && <u32>ix < <u32>gW) v = load<f32>(plane + ((<usize>(iy * gW + ix)) << 2));
        store<f32>(d, v);
        d += 4;
      }
    }
  }
}

/** One MR×NR tile: C = Ap·Bp (+bias) then activation; partial tiles go through TILE. */
function micro(
  K: i32,
  ap: usize,
  bp: usize,
  c: usize,
  ldc: i32,
  mr: i32,
  nr: i32,
  bias: usize,
  biasMode: i32,
  act: i32,
): void {
  const full = mr == MR && nr == NR;
  const out = full ? c : TILE;
  const ld: usize = full ? (<usize>ldc) << 2 : 32;
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0),
      c01 = f32x4.splat(0),
      c10 = f32x4.splat(0),
      c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0),
      c21 = f32x4.splat(0),
      c30 = f32x4.splat(0),
      c31 = f32x4.splat(0);
    let c40 = f32x4.splat(0),
      c41 = f32x4.splat(0),
      c50 = f32x4.splat(0),
      c51 = f32x4.splat(0);
    let a = ap;
    let b = bp;
    for (let k = 0; k < K; k++) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      let s = v128.load32_splat(a);
      c00 = f32x4.add(c00, f32x4.mul(s, b0));
      c01 = f32x4.add(c01, f32x4.mul(s, b1));
      s = v128.load32_splat(a, 4);
      c10 = f32x4.add(c10, f32x4.mul(s, b0));
      c11 = f32x4.add(c11, f32x4.mul(s, b1));
      s = v128.load32_splat(a, 8);
      c20 = f32x4.add(c20, f32x4.mul(s, b0));
      c21 = f32x4.add(c21, f32x4.mul(s, b1));
      s = v128.load32_splat(a, 12);
      c30 = f32x4.add(c30, f32x4.mul(s, b0));
      c31 = f32x4.add(c31, f32x4.mul(s, b1));
      s = v128.load32_splat(a, 16);
      c40 = f32x4.add(c40, f32x4.mul(s, b0));
      c41 = f32x4.add(c41, f32x4.mul(s, b1));
      s = v128.load32_splat(a, 20);
      c50 = f32x4.add(c50, f32x4.mul(s, b0));
      c51 = f32x4.add(c51, f32x4.mul(s, b1));
      a += 24;
      b += 32;
    }
    if (biasMode == 1) {
      // Per row; rows past mr read bias slack (allocations carry 32 bytes of slack) and are discarded.
      let s = v128.load32_splat(bias);
      c00 = f32x4.add(c00, s);
      c01 = f32x4.add(c01, s);
      s = v128.load32_splat(bias, 4);
      c10 = f32x4.add(c10, s);
      c11 = f32x4.add(c11, s);
      s = v128.load32_splat(bias, 8);
      c20 = f32x4.add(c20, s);
      c21 = f32x4.add(c21, s);
      s = v128.load32_splat(bias, 12);
      c30 = f32x4.add(c30, s);
      c31 = f32x4.add(c31, s);
      s = v128.load32_splat(bias, 16);
      c40 = f32x4.add(c40, s);
      c41 = f32x4.add(c41, s);
      s = v128.load32_splat(bias, 20);
      c50 = f32x4.add(c50, s);
      c51 = f32x4.add(c51, s);
    } else if (biasMode == 2) {
      const s0 = v128.load(bias);
      const s1 = v128.load(bias, 16);
      c00 = f32x4.add(c00, s0);
      c01 = f32x4.add(c01, s1);
      c10 = f32x4.add(c10, s0);
      c11 = f32x4.add(c11, s1);
      c20 = f32x4.add(c20, s0);
      c21 = f32x4.add(c21, s1);
      c30 = f32x4.add(c30, s0);
      c31 = f32x4.add(c31, s1);
      c40 = f32x4.add(c40, s0);
      c41 = f32x4.add(c41, s1);
      c50 = f32x4.add(c50, s0);
      c51 = f32x4.add(c51, s1);
    }
    if (act != 0 && actIsVector(act)) {
      c00 = actv(c00, act);
      c01 = actv(c01, act);
      c10 = actv(c10, act);
      c11 = actv(c11, act);
      c20 = actv(c20, act);
      c21 = actv(c21, act);
      c30 = actv(c30, act);
      c31 = actv(c31, act);
      c40 = actv(c40, act);
      c41 = actv(c41, act);
      c50 = actv(c50, act);
      c51 = actv(c51, act);
    }
    let o = out;
    v128.store(o, c00);
    v128.store(o, c01, 16);
    o += ld;
    if (full || mr > 1) {
      v128.store(o, c10);
      v128.store(o, c11, 16);
      o += ld;
    }
    if (full || mr > 2) {
      v128.store(o, c20);
      v128.store(o, c21, 16);
      o += ld;
    }
    if (full || mr > 3) {
      v128.store(o, c30);
      v128.store(o, c31, 16);
      o += ld;
    }
    if (full || mr > 4) {
      v128.store(o, c40);
      v128.store(o, c41, 16);
      o += ld;
    }
    if (full || mr > 5) {
      v128.store(o, c50);
      v128.store(o, c51, 16);
    }
  } else {
    for (let r = 0; r < mr; r++) {
      for (let t = 0; t < NR; t++) {
        let acc: f32 = 0;
        for (let k = 0; k < K; k++) {
          acc += load<f32>(ap + ((<usize>(k * MR + r)) << 2)) * load<f32>(bp + ((<usize>(k * NR + t)) << 2));
        }
        if (biasMode == 1) acc += load<f32>(bias + ((<usize>r) << 2));
        else if (biasMode == 2) acc += load<f32>(bias + ((<usize>t) << 2));
        store<f32>(out + <usize>r * ld + ((<usize>t) << 2), acc);
      }
    }
    if (act != 0 && actIsVector(act)) {
      for (let r = 0; r < mr; r++) actRange(out + <usize>r * ld, NR, act);
    }
  }
  if (!full) {
    for (let r = 0; r < mr; r++) {
      for (let t = 0; t < nr; t++) {
        store<f32>(c + ((<usize>(r * ldc + t)) << 2), load<f32>(TILE + ((<usize>(r * NR + t)) << 2)));
      }
    }
  }
}

/** Columns per packed chunk of B: about 128 KiB of packed panels. */
export function chunkCols(K: i32): i32 {
  const nc = (32768 / max<i32>(K, 1)) & ~(NR - 1);
  return max<i32>(nc, NR);
}

/**
 * C[M,N] (row stride ldc) = A·B + bias, then activation.
 * @param Ap - A packed by {@link packA}
 * @param bsrc - B: strided matrix (bMode 0), image for implicit im2col (bMode 1), or fully packed B (bMode 2)
 * @param biasMode - 0 none, 1 per row (bias[M]), 2 per column (bias[N])
 * @param scratch - chunkCols(K)·K floats for the packed chunk (unused for bMode 2)
 */
export function sgemm(
  M: i32,
  N: i32,
  K: i32,
  Ap: usize,
  bsrc: usize,
  brs: i32,
  bcs: i32,
  bMode: i32,
  C: usize,
  ldc: i32,
  bias: usize,
  biasMode: i32,
  act: i32,
  scratch: usize,
): void {
  const NC = chunkCols(K);
  for (let n0 = 0; n0 < N; n0 += NC) {
    const nc = min<i32>(NC, N - n0);
    let bchunk = scratch;
    if (bMode == 0) packB(bsrc + ((<usize>(n0 * bcs)) << 2), brs, bcs, K, nc, scratch);
    else if (bMode == 1) packConvB(bsrc, K, n0, nc, scratch);
    else bchunk = bsrc + ((<usize>n0 * <usize>K) << 2);
    for (let m0 = 0; m0 < M; m0 += MR) {
      const mr = min<i32>(MR, M - m0);
      const ap = Ap + ((<usize>m0 * <usize>K) << 2);
      const rowBias = biasMode == 1 ? bias + ((<usize>m0) << 2) : bias;
      for (let j = 0; j < nc; j += NR) {
        const colBias = biasMode == 2 ? bias + ((<usize>(n0 + j)) << 2) : rowBias;
        micro(
          K,
          ap,
          bchunk + ((<usize>j * <usize>K) << 2),
          C + ((<usize>(m0 * ldc + n0 + j)) << 2),
          ldc,
          mr,
          min<i32>(NR, nc - j),
          colBias,
          biasMode,
          act,
        );
      }
    }
  }
  if (act != 0 && !actIsVector(act)) {
    for (let m = 0; m < M; m++) actRange(C + ((<usize>(m * ldc)) << 2), N, act);
  }
}

/** y[M] = A[M,K] (row-major, lda) · x[K] + bias, then activation: the batch-1 fully connected layer. */
export function sgemv(M: i32, K: i32, A: usize, lda: i32, x: usize, y: usize, bias: usize, act: i32): void {
  for (let m = 0; m < M; m++) {
    const row = A + ((<usize>(m * lda)) << 2);
    let k = 0;
    let s: f32 = 0;
    if (ASC_FEATURE_SIMD) {
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      for (; k + 8 <= K; k += 8) {
        const o = (<usize>k) << 2;
        a0 = f32x4.add(a0, f32x4.mul(v128.load(row + o), v128.load(x + o)));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(row + o, 16), v128.load(x + o, 16)));
      }
      const t = f32x4.add(a0, a1);
      s =
        f32x4.extract_lane(t, 0) +
        f32x4.extract_lane(t, 1) +
        f32x4.extract_lane(t, 2) +
        f32x4.extract_lane(t, 3);
    }
    for (; k < K; k++) s += load<f32>(row + ((<usize>k) << 2)) * load<f32>(x + ((<usize>k) << 2));
    if (bias != 0) s += load<f32>(bias + ((<usize>m) << 2));
    store<f32>(y + ((<usize>m) << 2), s);
  }
  actRange(y, M, act);
}

/**
 * The SIMD multiply-add peak: 8 f32x4 accumulators fed by 4×2 register-resident operands (the micro-kernel's
 * multiply-add pattern without its loads); the two B operands advance each iteration so nothing is hoisted.
 * Each iteration is 18 vector ops: 72 flops.
 */
export function peakLoop(iters: i32, seed: f32): f32 {
  if (ASC_FEATURE_SIMD) {
    const a0 = f32x4.splat(seed),
      a1 = f32x4.splat(seed * 0.5),
      a2 = f32x4.splat(seed * 0.25),
      a3 = f32x4.splat(seed * 0.125);
    const d = f32x4.splat(1e-7);
    let b0 = f32x4.splat(0.999),
      b1 = f32x4.splat(0.998);
    let c00 = f32x4.splat(0),
      c01 = f32x4.splat(0),
      c10 = f32x4.splat(0),
      c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0),
      c21 = f32x4.splat(0),
      c30 = f32x4.splat(0),
      c31 = f32x4.splat(0);
    for (let i = 0; i < iters; i++) {
      c00 = f32x4.add(c00, f32x4.mul(a0, b0));
      c01 = f32x4.add(c01, f32x4.mul(a0, b1));
      c10 = f32x4.add(c10, f32x4.mul(a1, b0));
      c11 = f32x4.add(c11, f32x4.mul(a1, b1));
      c20 = f32x4.add(c20, f32x4.mul(a2, b0));
      c21 = f32x4.add(c21, f32x4.mul(a2, b1));
      c30 = f32x4.add(c30, f32x4.mul(a3, b0));
      c31 = f32x4.add(c31, f32x4.mul(a3, b1));
      b0 = f32x4.add(b0, d);
      b1 = f32x4.add(b1, d);
    }
    const s = f32x4.add(
      f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)),
      f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)),
    );
    return f32x4.extract_lane(s, 0);
  }
  let s: f32 = seed;
  for (let i = 0; i < iters; i++) s = s * 0.999 + seed;
  return s;
}
