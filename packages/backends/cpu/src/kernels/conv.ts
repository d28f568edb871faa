import type {
  Activation,
  Conv2DAttrs,
  ConvTranspose2DAttrs,
  FusedConv2DAttrs,
  KernelConfig,
} from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor } from '../host.js';
import { depthwisePlane, epilogue } from './conv-depthwise.js';
import { depthwiseFilterGrad, depthwiseTranspose } from './conv-depthwise-grad.js';
import { type ConvGeometry, chunkRows, col2im, im2col, scratchBuffer } from './conv-im2col.js';
import { gemm } from './gemm.js';

/** Attrs of `Conv2DBackpropFilter`: the forward convolution's attrs plus the filter shape. */
export interface Conv2DBackpropFilterAttrs extends Conv2DAttrs {
  /** `[O, C/groups, kH, kW]`. */
  readonly filterShape: readonly number[];
}

type Dims4 = [number, number, number, number];

/** Output size of a convolution along one dim (0 when the kernel does not fit). */
function convOut(size: number, k: number, s: number, d: number, padSum: number): number {
  return Math.max(0, Math.floor((size + padSum - d * (k - 1) - 1) / s) + 1);
}

function isPointwise(kh: number, kw: number, a: Conv2DAttrs): boolean {
  return kh === 1 && kw === 1 && a.strides[0] === 1 && a.strides[1] === 1 && a.pads.every((p) => p === 0);
}

function geometry(
  c: number,
  h: number,
  w: number,
  kh: number,
  kw: number,
  a: Conv2DAttrs,
  oh: number,
  ow: number,
) {
  const g: ConvGeometry = {
    c,
    h,
    w,
    kh,
    kw,
    sh: a.strides[0],
    sw: a.strides[1],
    pt: a.pads[0],
    pl: a.pads[1],
    dh: a.dilations[0],
    dw: a.dilations[1],
    oh,
    ow,
  };
  return g;
}

/**
 * 2-D convolution NCHW × OIHW (+ bias, + fused activation) in float32. Pointwise convolutions run as one GEMM
 * per (image, group); depthwise ones (`groups = C`) as a direct loop; everything else as chunked im2col + GEMM.
 * @param x - `[N, C, H, W]`
 * @param w - `[O, C/groups, kH, kW]`
 * @param bias - `[O]` or null
 * @param attrs - strides, explicit pads (may be negative), dilations, groups
 * @param act - fused activation (default none)
 * @returns `[N, O, outH, outW]` float32
 */
export function conv2dImpl(
  x: HostTensor,
  w: HostTensor,
  bias: HostTensor | null,
  attrs: Conv2DAttrs,
  act: Activation = 'none',
): HostTensor {
  const [n, c, h, wd] = x.shape as Dims4;
  const [o, cg, kh, kw] = w.shape as Dims4;
  const groups = attrs.groups;
  const og = o / groups;
  const oh = convOut(h, kh, attrs.strides[0], attrs.dilations[0], attrs.pads[0] + attrs.pads[2]);
  const ow = convOut(wd, kw, attrs.strides[1], attrs.dilations[1], attrs.pads[1] + attrs.pads[3]);
  const len = oh * ow;
  const out = new Float32Array(n * o * len);
  const shape = [n, o, oh, ow];
  const xv = x.values as Float32Array;
  const wv = w.values as Float32Array;
  const bv = bias ? bias.values : null;
  if (out.length === 0) return { values: out, shape, dtype: 'float32' };
  if (cg === 1 && groups === c) {
    const g = geometry(1, h, wd, kh, kw, attrs, oh, ow);
    for (let ni = 0; ni < n; ni++) {
      for (let oc = 0; oc < o; oc++) {
        const ci = Math.floor(oc / og);
        const b = bv ? bv[oc]! : 0;
        depthwisePlane(xv, (ni * c + ci) * h * wd, wv, oc * kh * kw, g, out, (ni * o + oc) * len, b, act);
      }
    }
    return { values: out, shape, dtype: 'float32' };
  }
  const kk = cg * kh * kw;
  const pointwise = isPointwise(kh, kw, attrs);
  const g = geometry(cg, h, wd, kh, kw, attrs, oh, ow);
  const rows = chunkRows(kk, ow, oh);
  const cols = pointwise ? xv : scratchBuffer(kk * rows * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (ni * c + gi * cg) * h * wd;
      const cOff = (ni * o + gi * og) * len;
      if (pointwise) {
        gemm({
          m: og,
          n: len,
          k: cg,
          a: wv,
          aOffset: gi * og * kk,
          lda: kk,
          b: xv,
          bOffset: xOff,
          ldb: len,
          c: out,
          cOffset: cOff,
          ldc: len,
        });
        continue;
      }
      for (let oy0 = 0; oy0 < oh; oy0 += rows) {
        const oy1 = Math.min(oh, oy0 + rows);
        const lc = (oy1 - oy0) * ow;
        im2col(xv, xOff, g, oy0, oy1, cols);
        gemm({
          m: og,
          n: lc,
          k: kk,
          a: wv,
          aOffset: gi * og * kk,
          lda: kk,
          b: cols,
          ldb: lc,
          c: out,
          cOffset: cOff + oy0 * ow,
          ldc: len,
        });
      }
    }
  }
  epilogue(out, n, o, len, bv, act);
  return { values: out, shape, dtype: 'float32' };
}

/**
 * Gradient of a convolution w.r.t. its filter: `dW[o, c, ky, kx] = Σ dy[n, o, oy, ox] · x[n, c, …]`, as GEMMs of
 * `dy` with the transposed im2col of `x`, accumulated over the batch (depthwise: a direct loop per tap).
 * @param x - forward input `[N, C, H, W]`
 * @param dy - output gradient `[N, O, outH, outW]`
 * @param attrs - forward attrs plus `filterShape`
 * @returns `dW` with `filterShape`, float32
 */
export function conv2dBackpropFilterImpl(
  x: HostTensor,
  dy: HostTensor,
  attrs: Conv2DBackpropFilterAttrs,
): HostTensor {
  const [n, c, h, wd] = x.shape as Dims4;
  const [o, cg, kh, kw] = attrs.filterShape as Dims4;
  const [, , oh, ow] = dy.shape as Dims4;
  const groups = attrs.groups;
  const og = o / groups;
  const kk = cg * kh * kw;
  const len = oh * ow;
  const dw = new Float32Array(o * kk);
  const xv = x.values as Float32Array;
  const dv = dy.values as Float32Array;
  const g = geometry(cg, h, wd, kh, kw, attrs, oh, ow);
  if (cg === 1 && groups === c) {
    depthwiseFilterGrad(xv, dv, n, c, o, g, dw);
    return { values: dw, shape: [...attrs.filterShape], dtype: 'float32' };
  }
  const pointwise = isPointwise(kh, kw, attrs);
  const rows = chunkRows(kk, ow, oh);
  const cols = pointwise ? xv : scratchBuffer(kk * rows * ow);
  for (let gi = 0; gi < groups; gi++) {
    for (let ni = 0; ni < n; ni++) {
      const xOff = (ni * c + gi * cg) * h * wd;
      const dOff = (ni * o + gi * og) * len;
      if (pointwise) {
        gemm({
          m: og,
          n: kk,
          k: len,
          a: dv,
          aOffset: dOff,
          lda: len,
          b: xv,
          bOffset: xOff,
          ldb: len,
          transB: true,
          c: dw,
          cOffset: gi * og * kk,
          ldc: kk,
          accumulate: true,
        });
        continue;
      }
      for (let oy0 = 0; oy0 < oh; oy0 += rows) {
        const oy1 = Math.min(oh, oy0 + rows);
        const lc = (oy1 - oy0) * ow;
        im2col(xv, xOff, g, oy0, oy1, cols);
        gemm({
          m: og,
          n: kk,
          k: lc,
          a: dv,
          aOffset: dOff + oy0 * ow,
          lda: len,
          b: cols,
          ldb: lc,
          transB: true,
          c: dw,
          cOffset: gi * og * kk,
          ldc: kk,
          accumulate: true,
        });
      }
    }
  }
  return { values: dw, shape: [...attrs.filterShape], dtype: 'float32' };
}

/**
 * Transposed convolution (`torch.nn.functional.conv_transpose2d`) as GEMM (`Wᵀ · x`) + col2im per image and
 * group, chunked over input rows; pointwise stride-1 cases are a single GEMM, depthwise ones a direct loop.
 * @param x - `[N, I, H, W]`
 * @param w - `[I, O/groups, kH, kW]`
 * @param bias - `[O]` or null
 * @param attrs - strides, pads (may be negative), dilations, groups, outputPadding
 * @returns `[N, O, outH, outW]` float32
 */
export function convTranspose2dImpl(
  x: HostTensor,
  w: HostTensor,
  bias: HostTensor | null,
  attrs: ConvTranspose2DAttrs,
): HostTensor {
  const [n, ci, h, wd] = x.shape as Dims4;
  const [, og, kh, kw] = w.shape as Dims4;
  const { strides, pads, dilations, groups, outputPadding } = attrs;
  const ig = ci / groups;
  const o = og * groups;
  const oh = Math.max(
    0,
    (h - 1) * strides[0] - pads[0] - pads[2] + dilations[0] * (kh - 1) + outputPadding[0] + 1,
  );
  const ow = Math.max(
    0,
    (wd - 1) * strides[1] - pads[1] - pads[3] + dilations[1] * (kw - 1) + outputPadding[1] + 1,
  );
  const olen = oh * ow;
  const ilen = h * wd;
  const out = new Float32Array(n * o * olen);
  const shape = [n, o, oh, ow];
  if (out.length === 0) return { values: out, shape, dtype: 'float32' };
  const xv = x.values as Float32Array;
  const wv = w.values as Float32Array;
  const kk = og * kh * kw;
  const direct = isPointwise(kh, kw, attrs) && oh === h && ow === wd;
  // col2im geometry: the "image" is the output, the "output grid" is x's spatial grid.
  const g = geometry(og, oh, ow, kh, kw, attrs, h, wd);
  if (ig === 1) {
    depthwiseTranspose(xv, wv, n, ci, og, g, out);
    epilogue(out, n, o, olen, bias ? bias.values : null, 'none');
    return { values: out, shape, dtype: 'float32' };
  }
  const rows = chunkRows(kk, wd, h);
  const cols = direct ? out.subarray(0, 0) : scratchBuffer(kk * rows * wd);
  for (let ni = 0; ni < n; ni++) {
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (ni * ci + gi * ig) * ilen;
      const oOff = (ni * o + gi * og) * olen;
      if (direct) {
        gemm({
          m: og,
          n: ilen,
          k: ig,
          a: wv,
          aOffset: gi * ig * kk,
          lda: kk,
          transA: true,
          b: xv,
          bOffset: xOff,
          ldb: ilen,
          c: out,
          cOffset: oOff,
          ldc: olen,
        });
        continue;
      }
      for (let y0 = 0; y0 < h; y0 += rows) {
        const y1 = Math.min(h, y0 + rows);
        const lc = (y1 - y0) * wd;
        gemm({
          m: kk,
          n: lc,
          k: ig,
          a: wv,
          aOffset: gi * ig * kk,
          lda: kk,
          transA: true,
          b: xv,
          bOffset: xOff + y0 * wd,
          ldb: ilen,
          c: cols,
          ldc: lc,
        });
        col2im(cols, g, y0, y1, out, oOff);
      }
    }
  }
  epilogue(out, n, o, olen, bias ? bias.values : null, 'none');
  return { values: out, shape, dtype: 'float32' };
}

const opts = { dtypes: FLOATS, floatCompute: true } as const;

/** Conv CPU kernels (float32 compute; float16/bfloat16 inputs are decoded, mixed f32 × f16 weights allowed). */
export const convKernels: KernelConfig[] = [
  cpuKernel(
    K.Conv2D,
    ([x, w, b], attrs) => [conv2dImpl(x!, w!, b ?? null, attrs as unknown as Conv2DAttrs)],
    opts,
  ),
  cpuKernel(
    K.FusedConv2D,
    ([x, w, b], attrs) => {
      const a = attrs as unknown as FusedConv2DAttrs;
      return [conv2dImpl(x!, w!, b ?? null, a, a.activation)];
    },
    opts,
  ),
  cpuKernel(
    K.Conv2DBackpropFilter,
    ([x, dy], attrs) => [conv2dBackpropFilterImpl(x!, dy!, attrs as unknown as Conv2DBackpropFilterAttrs)],
    opts,
  ),
  cpuKernel(
    K.ConvTranspose2D,
    ([x, w, b], attrs) => [convTranspose2dImpl(x!, w!, b ?? null, attrs as unknown as ConvTranspose2DAttrs)],
    opts,
  ),
];
