import type { DepthwiseGeometry } from './conv-depthwise.js';

/*
 * Direct loops for the depthwise cases of ConvTranspose2D (which is also the input gradient of a depthwise
 * Conv2D) and Conv2DBackpropFilter. Both walk one kernel tap at a time over a whole plane, with the valid column
 * range of the tap computed once per tap, so the inner loops have no bounds checks. The geometry is the forward
 * convolution's: image `h × w`, output grid `oh × ow`; tap (ky, kx) links grid pixel (gy, gx) to image pixel
 * (gy·sh − pt + ky·dh, gx·sw − pl + kx·dw).
 */

/** Range `[g0, g1)` of grid columns whose image column `g·sw + off` lies inside `[0, w)`. */
function validRange(off: number, sw: number, w: number, ow: number): [number, number] {
  const g0 = Math.min(ow, Math.max(0, Math.ceil(-off / sw)));
  const g1 = Math.min(ow, Math.max(g0, Math.ceil((w - off) / sw)));
  return [g0, g1];
}

/**
 * Scatters one grid plane through one filter into an image plane accumulator (transposed depthwise convolution):
 * `acc[image pixel] += grid[gy, gx] · filter[ky, kx]` for every tap.
 * @param grid - storage of the grid plane (the transposed convolution's input)
 * @param go - offset of the grid plane
 * @param wt - filter storage
 * @param wo - offset of the `kH × kW` filter
 * @param g - forward geometry (`h × w` is the image being accumulated)
 * @param acc - image accumulator of `h·w` doubles (added into)
 */
export function depthwiseTransposePlane(
  grid: Float32Array,
  go: number,
  wt: Float32Array,
  wo: number,
  g: DepthwiseGeometry,
  acc: Float64Array,
): void {
  const { h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = g;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const wv = wt[wo + ky * kw + kx]!;
      const off = kx * dw - pl;
      const [g0, g1] = validRange(off, sw, w, ow);
      for (let gy = 0; gy < oh; gy++) {
        const iy = gy * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) continue;
        const dst = iy * w + off;
        const src = go + gy * ow;
        for (let gx = g0; gx < g1; gx++) acc[dst + gx * sw]! += wv * grid[src + gx]!;
      }
    }
  }
}

/**
 * Adds one image/grid plane pair's contribution to a depthwise filter gradient:
 * `acc[ky·kW + kx] += Σ grid[gy, gx] · image[gy·sh − pt + ky·dh, gx·sw − pl + kx·dw]`.
 * @param img - storage of the image plane (the forward input)
 * @param io - offset of the image plane
 * @param grid - storage of the grid plane (the output gradient)
 * @param go - offset of the grid plane
 * @param g - forward geometry
 * @param acc - `kH·kW` doubles (added into)
 */
export function depthwiseFilterGradPlane(
  img: Float32Array,
  io: number,
  grid: Float32Array,
  go: number,
  g: DepthwiseGeometry,
  acc: Float64Array,
): void {
  const { h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = g;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const off = kx * dw - pl;
      const [g0, g1] = validRange(off, sw, w, ow);
      let s = 0;
      for (let gy = 0; gy < oh; gy++) {
        const iy = gy * sh - pt + ky * dh;
        if (iy < 0 || iy >= h) continue;
        const src = io + iy * w + off;
        const dst = go + gy * ow;
        for (let gx = g0; gx < g1; gx++) s += grid[dst + gx]! * img[src + gx * sw]!;
      }
      acc[ky * kw + kx]! += s;
    }
  }
}

/**
 * Depthwise filter gradient (`groups = C`, one input channel per group): `dW[oc, 0, ky, kx]` summed over the
 * batch in double precision.
 * @param x - forward input values `[N, C, H, W]`
 * @param dy - output gradient values `[N, O, outH, outW]`, `O` a multiple of `C`
 * @param n - batch
 * @param c - input channels
 * @param o - output channels
 * @param g - forward geometry
 * @param dw - destination `[O, 1, kH, kW]`
 */
export function depthwiseFilterGrad(
  x: Float32Array,
  dy: Float32Array,
  n: number,
  c: number,
  o: number,
  g: DepthwiseGeometry,
  dw: Float32Array,
): void {
  const kk = g.kh * g.kw;
  const plane = g.h * g.w;
  const len = g.oh * g.ow;
  const og = o / c;
  const acc = new Float64Array(kk);
  for (let oc = 0; oc < o; oc++) {
    const ci = Math.floor(oc / og);
    acc.fill(0);
    for (let ni = 0; ni < n; ni++)
      depthwiseFilterGradPlane(x, (ni * c + ci) * plane, dy, (ni * o + oc) * len, g, acc);
    for (let t = 0; t < kk; t++) dw[oc * kk + t] = acc[t]!;
  }
}

/**
 * Depthwise transposed convolution (`groups = I`, one input channel per group), in double precision per plane.
 * @param x - input values `[N, I, H, W]` (the forward convolution's output grid)
 * @param w - filter values `[I, O/I, kH, kW]`
 * @param n - batch
 * @param ci - input channels `I`
 * @param og - output channels per input channel
 * @param g - forward geometry (image = this op's output plane, grid = its input plane)
 * @param out - destination `[N, I·og, outH, outW]`
 */
export function depthwiseTranspose(
  x: Float32Array,
  w: Float32Array,
  n: number,
  ci: number,
  og: number,
  g: DepthwiseGeometry,
  out: Float32Array,
): void {
  const kk = g.kh * g.kw;
  const olen = g.h * g.w;
  const ilen = g.oh * g.ow;
  const acc = new Float64Array(olen);
  for (let ni = 0; ni < n; ni++) {
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < og; o++) {
        acc.fill(0);
        depthwiseTransposePlane(x, (ni * ci + i) * ilen, w, (i * og + o) * kk, g, acc);
        const base = ((ni * ci + i) * og + o) * olen;
        for (let p = 0; p < olen; p++) out[base + p] = acc[p]!;
      }
    }
  }
}
