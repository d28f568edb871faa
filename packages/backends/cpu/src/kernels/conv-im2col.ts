/**
 * im2col / col2im for the CPU convolution kernels. Both use the convolution's geometry: an image `[C, H, W]`,
 * a kernel `kH × kW` with strides, top/left pads and dilations, and an output grid `outH × outW`. Column matrix
 * row `(c·kH + ky)·kW + kx`, column `(oy − oy0)·outW + ox` holds image pixel
 * `(oy·sH − padTop + ky·dH, ox·sW − padLeft + kx·dW)` (zero outside the image). Pads may be negative.
 */

import type { DepthwiseGeometry } from './conv-depthwise.js';

/** Convolution geometry shared by {@link im2col} and {@link col2im}: a depthwise plane's geometry plus channels. */
export interface ConvGeometry extends DepthwiseGeometry {
  /** Image channels. */
  readonly c: number;
}

/** Range `[ox0, ox1)` of output columns whose input column `ox·sw + off` lies inside `[0, w)`. */
function validCols(off: number, sw: number, w: number, ow: number): [number, number] {
  const ox0 = Math.min(ow, Math.max(0, Math.ceil(-off / sw)));
  const ox1 = Math.min(ow, Math.max(ox0, Math.ceil((w - off) / sw)));
  return [ox0, ox1];
}

/**
 * Writes the column matrix of output rows `[oy0, oy1)` of one image into `cols` (`[C·kH·kW, (oy1−oy0)·outW]`).
 * @param x - image storage
 * @param xOff - offset of the image's first channel
 * @param g - geometry
 * @param oy0 - first output row
 * @param oy1 - end output row (exclusive)
 * @param cols - destination, at least `C·kH·kW·(oy1−oy0)·outW` long
 */
export function im2col(
  x: Float32Array,
  xOff: number,
  g: ConvGeometry,
  oy0: number,
  oy1: number,
  cols: Float32Array,
): void {
  const { c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ow } = g;
  const len = (oy1 - oy0) * ow;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = xOff + ci * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, r++) {
        const off = kx * dw - pl;
        const [ox0, ox1] = validCols(off, sw, w, ow);
        let o = r * len;
        for (let oy = oy0; oy < oy1; oy++, o += ow) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h || ox0 >= ox1) {
            cols.fill(0, o, o + ow);
            continue;
          }
          const src = plane + iy * w + off;
          for (let ox = 0; ox < ox0; ox++) cols[o + ox] = 0;
          if (sw === 1) for (let ox = ox0; ox < ox1; ox++) cols[o + ox] = x[src + ox]!;
          else for (let ox = ox0; ox < ox1; ox++) cols[o + ox] = x[src + ox * sw]!;
          for (let ox = ox1; ox < ow; ox++) cols[o + ox] = 0;
        }
      }
    }
  }
}

/**
 * Adds a column matrix of output rows `[oy0, oy1)` back into an image (the adjoint of {@link im2col}).
 * @param cols - `[C·kH·kW, (oy1−oy0)·outW]`
 * @param g - geometry
 * @param oy0 - first output row
 * @param oy1 - end output row (exclusive)
 * @param img - destination image storage (accumulated into)
 * @param imgOff - offset of the image's first channel
 */
export function col2im(
  cols: Float32Array,
  g: ConvGeometry,
  oy0: number,
  oy1: number,
  img: Float32Array,
  imgOff: number,
): void {
  const { c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ow } = g;
  const len = (oy1 - oy0) * ow;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    const plane = imgOff + ci * h * w;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++, r++) {
        const off = kx * dw - pl;
        const [ox0, ox1] = validCols(off, sw, w, ow);
        let o = r * len;
        for (let oy = oy0; oy < oy1; oy++, o += ow) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = plane + iy * w + off;
          for (let ox = ox0; ox < ox1; ox++) img[dst + ox * sw]! += cols[o + ox]!;
        }
      }
    }
  }
}

/**
 * How many output rows to process per im2col chunk so the column buffer stays near `budget` floats.
 * @param rowsLen - column-matrix rows (`C·kH·kW`)
 * @param ow - output width
 * @param oh - output height
 * @param budget - target buffer size in floats
 * @returns rows per chunk (≥ 1)
 */
export function chunkRows(rowsLen: number, ow: number, oh: number, budget = 1 << 18): number {
  return Math.max(1, Math.min(oh, Math.floor(budget / Math.max(1, rowsLen * ow))));
}

let scratch = new Float32Array(1 << 12);

/**
 * A reusable scratch buffer of at least `n` floats (contents undefined; not reentrant).
 * @param n - minimum length
 * @returns the buffer
 */
export function scratchBuffer(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch;
}
