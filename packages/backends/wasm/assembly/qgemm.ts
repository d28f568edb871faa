// int8 GEMM/conv with int32 accumulation and TFLite requantization (bit-exact with the reference kernels).
// Operands are packed as zero-point-corrected i16 pairs along K, so i32x4.dot_i16x8_s does two MACs per lane.
import { GEO } from './geom';

const QMR: i32 = 4;
const QNR: i32 = 8;
const QTILE: usize = memory.data(4 * 8 * 4, 16);
const QCOL_Y: usize = memory.data(8 * 4, 16);
const QCOL_X: usize = memory.data(8 * 4, 16);

/** gemmlowp SaturatingRoundingDoublingHighMul. */
@inline
function srdhm(a: i32, b: i32): i32 {
  if (a == i32.MIN_VALUE && b == i32.MIN_VALUE) return i32.MAX_VALUE;
  const ab = <i64>a * <i64>b;
  const t = ab + (ab >= 0 ? <i64>(1 << 30) : <i64>(1 - (1 << 30)));
  // t / 2^31 truncated toward zero, without a 64-bit division.
  return <i32>(t >= 0 ? t >> 31 : -(-t >> 31));
}

/** gemmlowp RoundingDivideByPOT (shift counts wrap like the reference's JS/C shifts). */
@inline
function rdbp(x: i32, e: i32): i32 {
  const mask: i32 = e >= 31 ? 0x7fffffff : (1 << e) - 1;
  const rem = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

/** TFLite requantization of one accumulator: clamp(MultiplyByQuantizedMultiplier(acc + bias) + zp). */
export function qRequant(acc: i32, bias: i32, mult: i32, shift: i32, zp: i32, lo: i32, hi: i32): i32 {
  const left = max<i32>(shift, 0);
  const right = max<i32>(-shift, 0);
  const y = rdbp(srdhm((acc + bias) * (1 << left), mult), right) + zp;
  return min<i32>(hi, max<i32>(lo, y));
}

/**
 * {@link qRequant} on 4 lanes with one multiplier/shift (bit-exact: SRDHM via i64 lanes, truncating division by
 * 2^31 as add-then-shift; the saturating case needs multiplier = INT32_MIN, which quantizeMultiplier never gives).
 */
@inline
function qRequantV(acc: v128, bias: i32, mult: i32, shift: i32, zp: i32, lo: i32, hi: i32): v128 {
  const left = max<i32>(shift, 0);
  const right = max<i32>(-shift, 0);
  const x = i32x4.shl(i32x4.add(acc, i32x4.splat(bias)), left);
  const mv = i32x4.splat(mult);
  let a = i64x2.extmul_low_i32x4_s(x, mv);
  let b = i64x2.extmul_high_i32x4_s(x, mv);
  const n1 = i64x2.splat(1 - (<i64>1 << 31));
  const n0 = i64x2.splat(<i64>1 << 30);
  a = i64x2.add(a, v128.or(n0, v128.and(i64x2.shr_s(a, 63), n1)) );
  b = i64x2.add(b, v128.or(n0, v128.and(i64x2.shr_s(b, 63), n1)) );
  const r31 = i64x2.splat((<i64>1 << 31) - 1);
  a = i64x2.shr_s(i64x2.add(a, v128.and(i64x2.shr_s(a, 63), r31)), 31);
  b = i64x2.shr_s(i64x2.add(b, v128.and(i64x2.shr_s(b, 63), r31)), 31);
  const h = v128.shuffle<i32>(a, b, 0, 2, 4, 6);
  const mask: i32 = right >= 31 ? 0x7fffffff : (1 << right) - 1;
  const rem = v128.and(h, i32x4.splat(mask));
  const thr = i32x4.sub(i32x4.splat(mask >> 1), i32x4.lt_s(h, i32x4.splat(0)));
  const y = i32x4.add(i32x4.sub(i32x4.shr_s(h, right), i32x4.gt_s(rem, thr)), i32x4.splat(zp));
  return i32x4.min_s(i32x4.max_s(y, i32x4.splat(lo)), i32x4.splat(hi));
}

/** Bytes of a packed int8 A: ceil(M/4) panels of ceil(K/2) × 4 rows × 2 i16. */
export function qPackedASize(M: i32, K: i32): i32 {
  return ((M + QMR - 1) / QMR) * ((K + 1) >> 1) * QMR * 4;
}

/** Packs int8 A (element (m,k) at src + m·rs + k·cs, zero point zp[m·zs]) as i16 pairs in 4-row panels. */
export function qPackA(src: usize, rs: i32, cs: i32, zp: usize, zs: i32, M: i32, K: i32, dst: usize): void {
  const kp = (K + 1) >> 1;
  let d = dst;
  for (let m0 = 0; m0 < M; m0 += QMR) {
    for (let p = 0; p < kp; p++) {
      for (let r = 0; r < QMR; r++) {
        const m = m0 + r;
        let v0: i32 = 0;
        let v1: i32 = 0;
        if (m < M) {
          const z = load<i32>(zp + ((<usize>(m * zs)) << 2));
          const k = 2 * p;
          v0 = <i32>load<i8>(src + <usize>(m * rs + k * cs)) - z;
          if (k + 1 < K) v1 = <i32>load<i8>(src + <usize>(m * rs + (k + 1) * cs)) - z;
        }
        store<i16>(d, <i16>v0);
        store<i16>(d, <i16>v1, 2);
        d += 4;
      }
    }
  }
}

/** Packs int8 B (element (k,n) at src + k·rs + n·cs, zero point zp[n·zs]) as i16 pairs in 8-column panels. */
export function qPackB(src: usize, rs: i32, cs: i32, zp: usize, zs: i32, K: i32, N: i32, dst: usize): void {
  const kp = (K + 1) >> 1;
  let d = dst;
  for (let n0 = 0; n0 < N; n0 += QNR) {
    if (ASC_FEATURE_SIMD) {
      if (cs == 1 && zs == 0 && n0 + QNR <= N) {
        // Rows 2p and 2p+1 of 8 contiguous columns: widen, subtract the zero point, interleave into pairs.
        const z = i16x8.splat(<i16>load<i32>(zp));
        for (let p = 0; p < kp; p++) {
          const k = 2 * p;
          const r0 = i16x8.sub(v128.load8x8_s(src + <usize>(k * rs + n0)), z);
          const r1 = k + 1 < K ? i16x8.sub(v128.load8x8_s(src + <usize>((k + 1) * rs + n0)), z) : i16x8.splat(0);
          v128.store(d, v128.shuffle<u8>(r0, r1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
          v128.store(d, v128.shuffle<u8>(r0, r1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
          d += 32;
        }
        continue;
      }
    }
    for (let p = 0; p < kp; p++) {
      const k = 2 * p;
      for (let t = 0; t < QNR; t++) {
        const n = n0 + t;
        let v0: i32 = 0;
        let v1: i32 = 0;
        if (n < N) {
          const z = load<i32>(zp + ((<usize>(n * zs)) << 2));
          v0 = <i32>load<i8>(src + <usize>(k * rs + n * cs)) - z;
          if (k + 1 < K) v1 = <i32>load<i8>(src + <usize>((k + 1) * rs + n * cs)) - z;
        }
        store<i16>(d, <i16>v0);
        store<i16>(d, <i16>v1, 2);
        d += 4;
      }
    }
  }
}

/** Implicit im2col of an int8 image (geometry from setConvGeometry), columns [n0, n0+N), padding = zero point. */
export function qPackConvB(x: usize, zx: i32, K: i32, n0: i32, N: i32, dst: usize): void {
  const gH = load<i32>(GEO, 4), gW = load<i32>(GEO, 8), gKh = load<i32>(GEO, 12), gKw = load<i32>(GEO, 16);
  const gSh = load<i32>(GEO, 20), gSw = load<i32>(GEO, 24), gPt = load<i32>(GEO, 28), gPl = load<i32>(GEO, 32);
  const gDh = load<i32>(GEO, 36), gDw = load<i32>(GEO, 40), gOw = load<i32>(GEO, 44);
  const khw = gKh * gKw;
  const kp = (K + 1) >> 1;
  let d = dst;
  for (let j = 0; j < N; j += QNR) {
    for (let t = 0; t < QNR; t++) {
      const n = n0 + j + t;
      const oy = n / gOw;
      store<i32>(QCOL_Y + (<usize>t << 2), j + t < N ? oy * gSh - gPt : -1000000000);
      store<i32>(QCOL_X + (<usize>t << 2), (n - oy * gOw) * gSw - gPl);
    }
    for (let p = 0; p < kp; p++) {
      for (let t = 0; t < QNR; t++) {
        const y0 = load<i32>(QCOL_Y + (<usize>t << 2));
        const x0 = load<i32>(QCOL_X + (<usize>t << 2));
        for (let h = 0; h < 2; h++) {
          const k = 2 * p + h;
          let v: i32 = 0;
          if (k < K) {
            const c = k / khw;
            const r = k - c * khw;
            const ky = r / gKw;
            const iy = y0 + ky * gDh;
            const ix = x0 + (r - ky * gKw) * gDw;
            if (<u32>iy < <u32>gH && <u32>ix < <u32>gW) v = <i32>load<i8>(x + <usize>((c * gH + iy) * gW + ix)) - zx;
          }
          store<i16>(d + (<usize>h << 1), <i16>v);
        }
        d += 4;
      }
    }
  }
}

/** One 4×8 int32 tile of A·B into QTILE. */
function qmicro(kp: i32, ap: usize, bp: usize): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    let a = ap;
    let b = bp;
    for (let p = 0; p < kp; p++) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      let s = v128.load32_splat(a);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(s, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(s, b1));
      s = v128.load32_splat(a, 4);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(s, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(s, b1));
      s = v128.load32_splat(a, 8);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(s, b0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(s, b1));
      s = v128.load32_splat(a, 12);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(s, b0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(s, b1));
      a += 16;
      b += 32;
    }
    v128.store(QTILE, c00); v128.store(QTILE, c01, 16);
    v128.store(QTILE, c10, 32); v128.store(QTILE, c11, 48);
    v128.store(QTILE, c20, 64); v128.store(QTILE, c21, 80);
    v128.store(QTILE, c30, 96); v128.store(QTILE, c31, 112);
  } else {
    for (let r = 0; r < QMR; r++) {
      for (let t = 0; t < QNR; t++) {
        let acc: i32 = 0;
        for (let p = 0; p < kp; p++) {
          const ao = ap + ((<usize>(p * QMR + r)) << 2);
          const bo = bp + ((<usize>(p * QNR + t)) << 2);
          acc += <i32>load<i16>(ao) * <i32>load<i16>(bo) + <i32>load<i16>(ao, 2) * <i32>load<i16>(bo, 2);
        }
        store<i32>(QTILE + ((<usize>(r * QNR + t)) << 2), acc);
      }
    }
  }
}

/** Columns per packed int8 chunk (about 128 KiB). */
function qChunkCols(kp: i32): i32 {
  return max<i32>(((32768 / max<i32>(kp, 1)) & ~(QNR - 1)), QNR);
}

/**
 * int8 C[M,N] (row stride ldc) = requant(A·B + bias). `Ap` from qPackA. B: bMode 0 strided int8 matrix
 * (zero points zpB[n·zsB]), 1 int8 image (implicit im2col, zero point load<i32>(zpB)).
 * Requantization per row (qMode 1: bias/mult/shift indexed by m) or per column (qMode 2: by n).
 */
export function qgemm(
  M: i32, N: i32, K: i32, Ap: usize, bsrc: usize, brs: i32, bcs: i32, bMode: i32, zpB: usize, zsB: i32,
  C: usize, ldc: i32, bias: usize, mult: usize, shift: usize, qMode: i32, zp: i32, lo: i32, hi: i32,
  scratch: usize,
): void {
  const kp = (K + 1) >> 1;
  const NC = qChunkCols(kp);
  for (let n0 = 0; n0 < N; n0 += NC) {
    const nc = min<i32>(NC, N - n0);
    if (bMode == 0) qPackB(bsrc + <usize>(n0 * bcs), brs, bcs, zpB + ((<usize>(n0 * zsB)) << 2), zsB, K, nc, scratch);
    else qPackConvB(bsrc, load<i32>(zpB), K, n0, nc, scratch);
    for (let m0 = 0; m0 < M; m0 += QMR) {
      const mr = min<i32>(QMR, M - m0);
      const ap = Ap + <usize>(m0 * kp * 4);
      for (let j = 0; j < nc; j += QNR) {
        qmicro(kp, ap, scratch + <usize>(j * kp * 4));
        const nr = min<i32>(QNR, nc - j);
        if (ASC_FEATURE_SIMD) {
          if (qMode == 1 && nr == QNR) {
            for (let r = 0; r < mr; r++) {
              const m = m0 + r;
              const qo = <usize>m << 2;
              const b = bias != 0 ? load<i32>(bias + qo) : 0;
              const mu = load<i32>(mult + qo);
              const sh = load<i32>(shift + qo);
              const t = QTILE + (<usize>(r * QNR) << 2);
              const y0 = qRequantV(v128.load(t), b, mu, sh, zp, lo, hi);
              const y1 = qRequantV(v128.load(t, 16), b, mu, sh, zp, lo, hi);
              const n8 = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(y0, y1), i16x8.splat(0));
              v128.store64_lane(C + <usize>(m * ldc + n0 + j), n8, 0);
            }
            continue;
          }
        }
        for (let r = 0; r < mr; r++) {
          const m = m0 + r;
          const orow = C + <usize>(m * ldc + n0 + j);
          for (let t = 0; t < nr; t++) {
            const q = qMode == 1 ? m : n0 + j + t;
            const qo = <usize>q << 2;
            const b = bias != 0 ? load<i32>(bias + qo) : 0;
            const acc = load<i32>(QTILE + ((<usize>(r * QNR + t)) << 2));
            store<i8>(orow + <usize>t, <i8>qRequant(acc, b, load<i32>(mult + qo), load<i32>(shift + qo), zp, lo, hi));
          }
        }
      }
    }
  }
}

/**
 * Direct int8 convolution of one image (any groups; used for depthwise/grouped), x [C,H,W] zero point zx,
 * w [O, C/groups, kh, kw] with per-output zero points zw[O], requantized per output channel.
 */
export function qconvDirect(
  x: usize, zx: i32, w: usize, zw: usize, bias: usize, out: usize, C: i32, H: i32, W: i32, O: i32, groups: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  mult: usize, shift: usize, zp: i32, lo: i32, hi: i32,
): void {
  const cg = C / groups;
  const og = O / groups;
  let o = out;
  for (let oc = 0; oc < O; oc++) {
    const g = oc / og;
    const z = load<i32>(zw + (<usize>oc << 2));
    const b = bias != 0 ? load<i32>(bias + (<usize>oc << 2)) : 0;
    const m = load<i32>(mult + (<usize>oc << 2));
    const s = load<i32>(shift + (<usize>oc << 2));
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        let acc: i32 = 0;
        for (let ic = 0; ic < cg; ic++) {
          const xb = x + <usize>((g * cg + ic) * H * W);
          const wb = w + <usize>((oc * cg + ic) * kh * kw);
          for (let ky = 0; ky < kh; ky++) {
            const iy = y * sh - pt + ky * dh;
            if (<u32>iy >= <u32>H) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = xo * sw - pl + kx * dw;
              if (<u32>ix >= <u32>W) continue;
              acc += (<i32>load<i8>(xb + <usize>(iy * W + ix)) - zx) * (<i32>load<i8>(wb + <usize>(ky * kw + kx)) - z);
            }
          }
        }
        store<i8>(o, <i8>qRequant(acc, b, m, s, zp, lo, hi));
        o += 1;
      }
    }
  }
}

/** i16 padded-plane size (elements) the int8 depthwise kernel needs (same geometry as the f32 one). */
export function qdwScratch(kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, dw: i32, oh: i32, ow: i32): i32 {
  const hp = (oh - 1) * sh + (kh - 1) * dh + 1;
  const wp = ((ow + 3) & ~3) * sw + (kw - 1) * dw + 8;
  return hp * wp;
}

/**
 * int8 depthwise convolution of one image (groups = C, `mult` outputs per channel): the plane is widened to
 * zero-point-corrected i16 with zero padding, 4 outputs are accumulated per step in i32x4, then requantized.
 */
export function qdepthwise(
  x: usize, zx: i32, w: usize, zw: usize, bias: usize, out: usize, C: i32, mult: i32, H: i32, W: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32, oh: i32, ow: i32,
  mt: usize, st: usize, zp: i32, lo: i32, hi: i32, pad: usize,
): void {
  const hp = (oh - 1) * sh + (kh - 1) * dh + 1;
  const wp = ((ow + 3) & ~3) * sw + (kw - 1) * dw + 8;
  const nt = kh * kw;
  for (let ci = 0; ci < C; ci++) {
    memory.fill(pad, 0, (<usize>(hp * wp)) << 1);
    const plane = x + <usize>(ci * H * W);
    for (let y = 0; y < hp; y++) {
      const iy = y - pt;
      if (iy < 0 || iy >= H) continue;
      for (let xx = max<i32>(0, pl); xx < min<i32>(wp, W + pl); xx++) {
        store<i16>(pad + ((<usize>(y * wp + xx)) << 1), <i16>(<i32>load<i8>(plane + <usize>(iy * W + xx - pl)) - zx));
      }
    }
    for (let mi = 0; mi < mult; mi++) {
      const oc = ci * mult + mi;
      const z = load<i32>(zw + (<usize>oc << 2));
      const wk = w + <usize>(oc * nt);
      const b = bias != 0 ? load<i32>(bias + (<usize>oc << 2)) : 0;
      const m = load<i32>(mt + (<usize>oc << 2));
      const s = load<i32>(st + (<usize>oc << 2));
      const op = out + <usize>(oc * oh * ow);
      for (let y = 0; y < oh; y++) {
        for (let x0 = 0; x0 < ow; x0 += 4) {
          let a0: i32 = 0, a1: i32 = 0, a2: i32 = 0, a3: i32 = 0;
          if (ASC_FEATURE_SIMD) {
            let acc = i32x4.splat(0);
            for (let ky = 0; ky < kh; ky++) {
              const row = pad + ((<usize>((y * sh + ky * dh) * wp + x0 * sw)) << 1);
              for (let kx = 0; kx < kw; kx++) {
                const wv = i32x4.splat(<i32>load<i8>(wk + <usize>(ky * kw + kx)) - z);
                const p = row + ((<usize>(kx * dw)) << 1);
                let v: v128;
                if (sw == 1) v = i32x4.extend_low_i16x8_s(v128.load64_zero(p));
                else if (sw == 2) v = i32x4.extend_low_i16x8_s(v128.shuffle<u8>(v128.load(p), v128.load(p), 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 0, 1, 0, 1, 0, 1));
                else {
                  const q = <usize>sw << 1;
                  v = i32x4.splat(<i32>load<i16>(p));
                  v = i32x4.replace_lane(v, 1, <i32>load<i16>(p + q));
                  v = i32x4.replace_lane(v, 2, <i32>load<i16>(p + 2 * q));
                  v = i32x4.replace_lane(v, 3, <i32>load<i16>(p + 3 * q));
                }
                acc = i32x4.add(acc, i32x4.mul(v, wv));
              }
            }
            a0 = i32x4.extract_lane(acc, 0);
            a1 = i32x4.extract_lane(acc, 1);
            a2 = i32x4.extract_lane(acc, 2);
            a3 = i32x4.extract_lane(acc, 3);
          } else {
            for (let ky = 0; ky < kh; ky++) {
              const row = pad + ((<usize>((y * sh + ky * dh) * wp + x0 * sw)) << 1);
              for (let kx = 0; kx < kw; kx++) {
                const wv = <i32>load<i8>(wk + <usize>(ky * kw + kx)) - z;
                const p = row + ((<usize>(kx * dw)) << 1);
                const q = <usize>sw << 1;
                a0 += <i32>load<i16>(p) * wv;
                a1 += <i32>load<i16>(p + q) * wv;
                a2 += <i32>load<i16>(p + 2 * q) * wv;
                a3 += <i32>load<i16>(p + 3 * q) * wv;
              }
            }
          }
          const o = op + <usize>(y * ow + x0);
          store<i8>(o, <i8>qRequant(a0, b, m, s, zp, lo, hi));
          if (x0 + 1 < ow) store<i8>(o, <i8>qRequant(a1, b, m, s, zp, lo, hi), 1);
          if (x0 + 2 < ow) store<i8>(o, <i8>qRequant(a2, b, m, s, zp, lo, hi), 2);
          if (x0 + 3 < ow) store<i8>(o, <i8>qRequant(a3, b, m, s, zp, lo, hi), 3);
        }
      }
    }
  }
}
