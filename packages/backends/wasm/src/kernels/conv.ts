import type { Activation, Conv2DAttrs, FusedConv2DAttrs, KernelConfig, TensorInfo } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import type { WasmBackend } from '../backend.js';
import { ACT } from '../codes.js';
import { allF32, FLOATS, hd, output, packedOf, viaCpu, wasmKernel, withScratch } from './util.js';

type Dims4 = [number, number, number, number];

/**
 * Output size of a convolution along one dim (0 when the kernel does not fit).
 * @internal
 */
export function convOut(size: number, k: number, s: number, d: number, padSum: number): number {
  return Math.max(0, Math.floor((size + padSum - d * (k - 1) - 1) / s) + 1);
}

/**
 * f32 convolution: depthwise (groups = C, one input channel per group) as a direct SIMD kernel, pointwise
 * stride-1 as GEMM on the image, everything else as GEMM with implicit im2col packing. Bias and activation are
 * fused into the GEMM epilogue.
 * @internal
 */
export function conv2dWasm(
  b: WasmBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  a: Conv2DAttrs,
  act: Activation,
): TensorInfo {
  const k = b.k;
  const [n, c, h, wd] = x.shape as Dims4;
  const [o, cg, kh, kw] = w.shape as Dims4;
  const groups = a.groups;
  const og = o / groups;
  const [sh, sw] = a.strides;
  const [dh, dw] = a.dilations;
  const [pt, pl] = a.pads;
  const oh = convOut(h, kh, sh, dh, a.pads[0] + a.pads[2]);
  const ow = convOut(wd, kw, sw, dw, a.pads[1] + a.pads[3]);
  const len = oh * ow;
  const out = output(b, [n, o, oh, ow], 'float32');
  if (n * o * len === 0) return out;
  const xp = hd(x).ptr;
  const wp = hd(w).ptr;
  const bp = bias ? hd(bias).ptr : 0;
  const op = hd(out).ptr;
  const code = ACT[act];
  if (cg === 1 && groups === c) {
    const mult = o / c;
    const scratch = k.dwScratch(kh, kw, sh, sw, dh, dw, oh, ow) * 4;
    withScratch(b, scratch, (pad) => {
      for (let ni = 0; ni < n; ni++) {
        k.depthwise(
          xp + ni * c * h * wd * 4,
          wp,
          bp,
          op + ni * o * len * 4,
          c,
          mult,
          h,
          wd,
          kh,
          kw,
          sh,
          sw,
          pt,
          pl,
          dh,
          dw,
          oh,
          ow,
          code,
          pad,
        );
      }
    });
    return out;
  }
  const kk = cg * kh * kw;
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && a.pads.every((p) => p === 0);
  const panel = k.packedASize(og, kk);
  const ap = packedOf(b, hd(w), `convA/${groups}`, panel * groups, (dst) => {
    for (let gi = 0; gi < groups; gi++) k.packA(wp + gi * og * kk * 4, kk, 1, og, kk, dst + gi * panel);
  });
  withScratch(b, k.chunkCols(kk) * kk * 4, (scratch) => {
    if (!pointwise) k.setConvGeometry(cg, h, wd, kh, kw, sh, sw, pt, pl, dh, dw, ow);
    for (let ni = 0; ni < n; ni++) {
      for (let gi = 0; gi < groups; gi++) {
        const xOff = xp + (ni * c + gi * cg) * h * wd * 4;
        const cOff = op + (ni * o + gi * og) * len * 4;
        const gb = bp ? bp + gi * og * 4 : 0;
        if (pointwise) {
          k.sgemm(og, len, cg, ap + gi * panel, xOff, len, 1, 0, cOff, len, gb, gb ? 1 : 0, code, scratch);
        } else {
          k.sgemm(og, len, kk, ap + gi * panel, xOff, 0, 0, 1, cOff, len, gb, gb ? 1 : 0, code, scratch);
        }
      }
    }
  });
  return out;
}

function convKernel(name: string, fused: boolean): KernelConfig {
  return wasmKernel(name, FLOATS, (ctx, b) => {
    const [x, w, bias] = ctx.inputs;
    if (!allF32(ctx.inputs) || x!.shape.length !== 4) return viaCpu(ctx, name);
    const a = ctx.attrs as unknown as FusedConv2DAttrs;
    return [conv2dWasm(b, x!, w!, bias ?? null, a, fused ? a.activation : 'none')];
  });
}

/** f32 convolution kernels. */
export const convKernels: KernelConfig[] = [convKernel(K.Conv2D, false), convKernel(K.FusedConv2D, true)];
