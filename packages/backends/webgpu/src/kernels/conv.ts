import type { Attrs, FusedConv2DAttrs, TensorInfo } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import type { WebGpuBackend } from '../backend.js';
import type { GpuTensor } from '../handle.js';
import { UNARY_FN, unaryCode } from './elementwise.js';
import type { GpuKernel } from './hybrid.js';
import { gemm } from './linalg.js';
import { bindings, bufs, kernel1d, numel } from './wgsl.js';

/**
 * Direct convolution, one invocation per output element (depthwise and grouped convs included), with the bias and
 * activation epilogue. Params: n, N, C, H, W, O, OH, OW, KH, KW, sh, sw, pt, pl, dh, dw, groups, hasBias, act.
 */
const DIRECT = kernel1d(
  `${bindings(['x', 'w', 'bias'], ['y'])}${UNARY_FN}`,
  `  let C = p[2]; let H = p[3]; let W = p[4]; let O = p[5]; let OH = p[6]; let OW = p[7];
  let KH = p[8]; let KW = p[9]; let sh = p[10]; let sw = p[11]; let pt = p[12]; let pl = p[13];
  let dh = p[14]; let dw = p[15]; let groups = p[16];
  let ox = i % OW; let t1 = i / OW; let oy = t1 % OH; let t2 = t1 / OH; let o = t2 % O; let n = t2 / O;
  let icg = C / groups; let g = o / (O / groups);
  var acc = 0.0;
  for (var ci = 0; ci < icg; ci++) {
    let xc = ((n * C + g * icg + ci) * H) * W;
    let wc = ((o * icg + ci) * KH) * KW;
    for (var kh = 0; kh < KH; kh++) {
      let iy = oy * sh - pt + kh * dh;
      if (iy < 0 || iy >= H) { continue; }
      for (var kw = 0; kw < KW; kw++) {
        let ix = ox * sw - pl + kw * dw;
        if (ix < 0 || ix >= W) { continue; }
        acc = fma(x[xc + iy * W + ix], w[wc + kh * KW + kw], acc);
      }
    }
  }
  if (p[17] == 1) { acc += bias[o]; }
  y[i] = unary_(acc, p[18], 0.0, 0.0);`,
);

function conv(name: string): GpuKernel {
  return ([x, w, bias], attrs: Attrs, b: WebGpuBackend): TensorInfo[] | null => {
    const a = attrs as unknown as FusedConv2DAttrs;
    const act = unaryCode(name === K.FusedConv2D ? a.activation : 'none');
    if (act === undefined || x!.shape.length !== 4 || w!.shape.length !== 4) return null;
    const [N, C, H, W] = x!.shape as [number, number, number, number];
    const [O, , KH, KW] = w!.shape as [number, number, number, number];
    const [sh, sw] = a.strides;
    const [pt, pl, pb, pr] = a.pads;
    const [dh, dw] = a.dilations;
    const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
    const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
    if (OH <= 0 || OW <= 0) return null;
    const out = [N, O, OH, OW];
    const pointwise =
      KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt + pl + pb + pr === 0 && a.groups === 1;
    if (pointwise && N <= 65535) {
      return gemm(
        b,
        name,
        w!,
        x!,
        [O, H * W, C],
        {
          transposeA: false,
          transposeB: false,
          batch: [N],
          aStrides: [0],
          bStrides: [C * H * W],
          bias: (bias as GpuTensor | null) ?? null,
          activation: act,
        },
        out,
      );
    }
    const { info, buffer } = b.alloc(out, name);
    const n = numel(out);
    const biasBuf = bias ? b.gpuBuffer(bias.handle) : b.placeholder;
    b.dispatch({
      code: DIRECT,
      buffers: [...bufs(b, x!, w!), biasBuf, buffer],
      params: Int32Array.from([
        n,
        N,
        C,
        H,
        W,
        O,
        OH,
        OW,
        KH,
        KW,
        sh,
        sw,
        pt,
        pl,
        dh,
        dw,
        a.groups,
        bias ? 1 : 0,
        act,
      ]),
      groups: Math.ceil(n / 256),
    });
    return [info];
  };
}

/** WGSL convolution kernels (`Conv2D`, `FusedConv2D`). @internal */
export const convGpu: Readonly<Record<string, GpuKernel>> = {
  [K.Conv2D]: conv(K.Conv2D),
  [K.FusedConv2D]: conv(K.FusedConv2D),
};
