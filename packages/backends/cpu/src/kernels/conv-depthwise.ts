import type { Activation } from '@tinyvision/tensor';

/**
 * Applies a fused activation to `v` (NaN propagates, as in the standalone activation ops).
 * @param v - value
 * @param act - activation
 * @returns the activated value
 */
export function activate(v: number, act: Activation): number {
  switch (act) {
    case 'none':
      return v;
    case 'relu':
      return Math.max(v, 0);
    case 'relu6':
      return Math.min(Math.max(v, 0), 6);
    case 'hardSwish':
      return v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6;
    case 'hardSigmoid':
      return v <= -3 ? 0 : v >= 3 ? 1 : (v + 3) / 6;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'silu':
      return v / (1 + Math.exp(-v));
    case 'tanh':
      return Math.tanh(v);
  }
}

/**
 * Adds `bias` to `out[start:end)` and applies the activation in place (one specialised loop per activation).
 * @param out - storage
 * @param start - first index
 * @param end - end index (exclusive)
 * @param bias - value added before the activation
 * @param act - activation
 */
export function biasActivate(
  out: Float32Array,
  start: number,
  end: number,
  bias: number,
  act: Activation,
): void {
  if (act === 'none') {
    if (bias !== 0) for (let i = start; i < end; i++) out[i]! += bias;
  } else if (act === 'relu') {
    for (let i = start; i < end; i++) out[i] = Math.max(out[i]! + bias, 0);
  } else if (act === 'relu6') {
    for (let i = start; i < end; i++) out[i] = Math.min(Math.max(out[i]! + bias, 0), 6);
  } else for (let i = start; i < end; i++) out[i] = activate(out[i]! + bias, act);
}

/**
 * Conv epilogue: adds `bias[channel]` and applies the activation to each channel plane of `out` (`[N, O, len]`).
 * @param out - output storage
 * @param n - batch
 * @param o - channels
 * @param len - plane size
 * @param bias - per-channel bias or null
 * @param act - activation
 */
export function epilogue(
  out: Float32Array,
  n: number,
  o: number,
  len: number,
  bias: ArrayLike<number> | null,
  act: Activation,
): void {
  if (!bias && act === 'none') return;
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const start = (ni * o + oc) * len;
      biasActivate(out, start, start + len, bias ? bias[oc]! : 0, act);
    }
  }
}

/** Geometry of one depthwise plane. */
export interface DepthwiseGeometry {
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Kernel height. */
  readonly kh: number;
  /** Kernel width. */
  readonly kw: number;
  /** Vertical stride. */
  readonly sh: number;
  /** Horizontal stride. */
  readonly sw: number;
  /** Top pad (may be negative). */
  readonly pt: number;
  /** Left pad (may be negative). */
  readonly pl: number;
  /** Vertical dilation. */
  readonly dh: number;
  /** Horizontal dilation. */
  readonly dw: number;
  /** Output height. */
  readonly oh: number;
  /** Output width. */
  readonly ow: number;
}

/**
 * Direct (no im2col) convolution of one input plane with one `kH × kW` filter into one output plane, in double
 * precision, then the bias and activation over the finished plane. The interior of each row runs without bounds
 * checks, and full 3×3 windows are unrolled.
 * @param x - input storage
 * @param xo - offset of the input plane
 * @param wt - filter storage
 * @param wo - offset of the filter
 * @param g - geometry
 * @param out - output storage
 * @param oo - offset of the output plane
 * @param bias - bias added to every output
 * @param act - activation
 */
export function depthwisePlane(
  x: Float32Array,
  xo: number,
  wt: Float32Array,
  wo: number,
  g: DepthwiseGeometry,
  out: Float32Array,
  oo: number,
  bias: number,
  act: Activation,
): void {
  const { h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = g;
  // Interior columns: every tap kx in [0, kw) reads inside [0, w).
  const oxA = Math.min(ow, Math.max(0, Math.ceil(pl / sw)));
  const oxB = Math.min(ow, Math.max(oxA, Math.floor((w - 1 + pl - (kw - 1) * dw) / sw) + 1));
  const full3 = kh === 3 && kw === 3;
  for (let oy = 0; oy < oh; oy++) {
    const iy0 = oy * sh - pt;
    const ky0 = Math.max(0, Math.ceil(-iy0 / dh));
    const ky1 = Math.min(kh, Math.ceil((h - iy0) / dh));
    const orow = oo + oy * ow;
    for (let ox = 0; ox < oxA; ox++) out[orow + ox] = edgeTap(x, xo, wt, wo, g, iy0, ky0, ky1, ox);
    if (full3 && ky0 === 0 && ky1 === 3) {
      row3x3(x, xo + iy0 * w - pl, dh * w, wt, wo, sw, dw, out, orow, oxA, oxB);
    } else {
      for (let ox = oxA; ox < oxB; ox++) {
        let s = 0;
        const ix0 = ox * sw - pl;
        for (let ky = ky0; ky < ky1; ky++) {
          const row = xo + (iy0 + ky * dh) * w + ix0;
          const wr = wo + ky * kw;
          for (let kx = 0; kx < kw; kx++) s += wt[wr + kx]! * x[row + kx * dw]!;
        }
        out[orow + ox] = s;
      }
    }
    for (let ox = Math.max(oxA, oxB); ox < ow; ox++) {
      out[orow + ox] = edgeTap(x, xo, wt, wo, g, iy0, ky0, ky1, ox);
    }
  }
  biasActivate(out, oo, oo + oh * ow, bias, act);
}

/** Interior of one output row of a full 3×3 window: the nine taps unrolled with the weights in locals. */
function row3x3(
  x: Float32Array,
  r0: number,
  rowStep: number,
  wt: Float32Array,
  wo: number,
  sw: number,
  dw: number,
  out: Float32Array,
  orow: number,
  oxA: number,
  oxB: number,
): void {
  const w0 = wt[wo]!;
  const w1 = wt[wo + 1]!;
  const w2 = wt[wo + 2]!;
  const w3 = wt[wo + 3]!;
  const w4 = wt[wo + 4]!;
  const w5 = wt[wo + 5]!;
  const w6 = wt[wo + 6]!;
  const w7 = wt[wo + 7]!;
  const w8 = wt[wo + 8]!;
  const r1 = r0 + rowStep;
  const r2 = r1 + rowStep;
  const d2 = 2 * dw;
  for (let ox = oxA; ox < oxB; ox++) {
    const p = ox * sw;
    const a = w0 * x[r0 + p]! + w1 * x[r0 + p + dw]! + w2 * x[r0 + p + d2]!;
    const b = w3 * x[r1 + p]! + w4 * x[r1 + p + dw]! + w5 * x[r1 + p + d2]!;
    const c = w6 * x[r2 + p]! + w7 * x[r2 + p + dw]! + w8 * x[r2 + p + d2]!;
    out[orow + ox] = a + b + c;
  }
}

/** One output pixel near the left/right border (taps outside the row are skipped). */
function edgeTap(
  x: Float32Array,
  xo: number,
  wt: Float32Array,
  wo: number,
  g: DepthwiseGeometry,
  iy0: number,
  ky0: number,
  ky1: number,
  ox: number,
): number {
  const { w, kw, sw, pl, dh, dw } = g;
  let s = 0;
  const ix0 = ox * sw - pl;
  for (let ky = ky0; ky < ky1; ky++) {
    const row = xo + (iy0 + ky * dh) * w;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx * dw;
      if (ix >= 0 && ix < w) s += wt[wo + ky * kw + kx]! * x[row + ix]!;
    }
  }
  return s;
}
