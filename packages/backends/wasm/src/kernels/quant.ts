import type { KernelConfig, QConv2DAttrs, QMatMulAttrs, QuantParams, TensorInfo } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { quantizedActivationRange, quantizeMultiplier } from '@tinyvision/tensor/internal';
import type { WasmBackend } from '../backend.js';
import { convOut } from './conv.js';
import { hd, output, packedOf, viaCpu, wasmKernel, withScratch } from './util.js';

/**
 * TFLite requantization tables: per-channel multipliers and shifts of `sx·sw[c]/sy` (float32 scales, ratio in
 * double), exactly as the CPU reference computes them.
 * @internal
 */
export function requantTables(
  sx: number,
  sw: readonly number[],
  out: QuantParams,
  channels: number,
): { mult: Int32Array; shift: Int32Array } {
  const mult = new Int32Array(channels);
  const shift = new Int32Array(channels);
  const fx = Math.fround(sx);
  const fy = Math.fround(out.scale[0]!);
  for (let c = 0; c < channels; c++) {
    const m = quantizeMultiplier((fx * Math.fround(sw[sw.length === 1 ? 0 : c]!)) / fy);
    mult[c] = m.multiplier;
    shift[c] = m.shift;
  }
  return { mult, shift };
}

/** Copies int32 tables into one scratch block and runs `fn` with their pointers. */
function withTables<T>(b: WasmBackend, tables: Int32Array[], fn: (ptrs: number[]) => T): T {
  const total = tables.reduce((s, t) => s + t.length, 0);
  return withScratch(b, total * 4, (base) => {
    const view = new Int32Array(b.k.memory.buffer, base, total);
    const ptrs: number[] = [];
    let off = 0;
    for (const t of tables) {
      view.set(t, off);
      ptrs.push(base + off * 4);
      off += t.length;
    }
    return fn(ptrs);
  });
}

function perChannel(q: QuantParams, n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => q.zeroPoint[q.zeroPoint.length === 1 ? 0 : i]!);
}

function qconv(
  b: WasmBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  a: QConv2DAttrs,
): TensorInfo {
  const xq = x.quant!;
  const wq = w.quant!;
  const k = b.k;
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const { strides, pads, dilations, groups } = a;
  const oh = convOut(h, kh, strides[0], dilations[0], pads[0] + pads[2]);
  const ow = convOut(wd, kw, strides[1], dilations[1], pads[1] + pads[3]);
  const len = oh * ow;
  const out = output(b, [n, o, oh, ow], 'int8', a.outQuant);
  if (n * o * len === 0) return out;
  const { mult, shift } = requantTables(xq.scale[0]!, wq.scale, a.outQuant, o);
  const [lo, hi] = quantizedActivationRange(a.activation, a.outQuant, 'int8');
  const zy = a.outQuant.zeroPoint[0]!;
  const zx = xq.zeroPoint[0]!;
  const zw = perChannel(wq, o);
  const xp = hd(x).ptr;
  const wp = hd(w).ptr;
  const bp = bias ? hd(bias).ptr : 0;
  const op = hd(out).ptr;
  withTables(b, [zw, mult, shift, Int32Array.of(zx)], ([zwp, mp, sp, zxp]) => {
    if (cg === 1 && groups === c) {
      const mult = o / c;
      withScratch(
        b,
        k.qdwScratch(kh, kw, strides[0], strides[1], dilations[0], dilations[1], oh, ow) * 2,
        (pad) => {
          for (let ni = 0; ni < n; ni++) {
            k.qdepthwise(
              xp + ni * c * h * wd,
              zx,
              wp,
              zwp!,
              bp,
              op + ni * o * len,
              c,
              mult,
              h,
              wd,
              kh,
              kw,
              strides[0],
              strides[1],
              pads[0],
              pads[1],
              dilations[0],
              dilations[1],
              oh,
              ow,
              mp!,
              sp!,
              zy,
              lo,
              hi,
              pad,
            );
          }
        },
      );
      return;
    }
    if (groups !== 1) {
      for (let ni = 0; ni < n; ni++) {
        k.qconvDirect(
          xp + ni * c * h * wd,
          zx,
          wp,
          zwp!,
          bp,
          op + ni * o * len,
          c,
          h,
          wd,
          o,
          groups,
          kh,
          kw,
          strides[0],
          strides[1],
          pads[0],
          pads[1],
          dilations[0],
          dilations[1],
          oh,
          ow,
          mp!,
          sp!,
          zy,
          lo,
          hi,
        );
      }
      return;
    }
    const kk = cg * kh * kw;
    const ap = packedOf(b, hd(w), `qconvA/${zw.join(',')}`, k.qPackedASize(o, kk), (dst) =>
      k.qPackA(wp, kk, 1, zwp!, 1, o, kk, dst),
    );
    const pointwise =
      kh === 1 && kw === 1 && strides[0] === 1 && strides[1] === 1 && pads.every((p) => p === 0);
    const kp = (kk + 1) >> 1;
    const chunk = Math.max(8, Math.floor(32768 / Math.max(kp, 1)) & ~7);
    withScratch(b, chunk * kp * 4, (scratch) => {
      if (!pointwise)
        k.setConvGeometry(
          cg,
          h,
          wd,
          kh,
          kw,
          strides[0],
          strides[1],
          pads[0],
          pads[1],
          dilations[0],
          dilations[1],
          ow,
        );
      for (let ni = 0; ni < n; ni++) {
        const xi = xp + ni * c * h * wd;
        const oi = op + ni * o * len;
        if (pointwise)
          k.qgemm(o, len, kk, ap, xi, len, 1, 0, zxp!, 0, oi, len, bp, mp!, sp!, 1, zy, lo, hi, scratch);
        else k.qgemm(o, len, kk, ap, xi, 0, 0, 1, zxp!, 0, oi, len, bp, mp!, sp!, 1, zy, lo, hi, scratch);
      }
    });
  });
  return out;
}

function qmatmul(
  b: WasmBackend,
  a: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  at: QMatMulAttrs,
): TensorInfo {
  const aq = a.quant!;
  const wq = w.quant!;
  const k = b.k;
  const kk = a.shape[a.shape.length - 1]!;
  const nCols = w.shape[1]!;
  const lead = a.shape.slice(0, -1);
  const rows = lead.reduce((p, q) => p * q, 1);
  const out = output(b, [...lead, nCols], 'int8', at.outQuant);
  if (rows * nCols === 0) return out;
  const { mult, shift } = requantTables(aq.scale[0]!, wq.scale, at.outQuant, nCols);
  const [lo, hi] = quantizedActivationRange(at.activation, at.outQuant, 'int8');
  const zb = perChannel(wq, nCols);
  const kp = (kk + 1) >> 1;
  const chunk = Math.max(8, Math.floor(32768 / Math.max(kp, 1)) & ~7);
  withTables(b, [zb, mult, shift, Int32Array.of(aq.zeroPoint[0]!)], ([zbp, mp, sp, zap]) =>
    withScratch(b, k.qPackedASize(rows, kk), (ap) =>
      withScratch(b, chunk * kp * 4, (scratch) => {
        k.qPackA(hd(a).ptr, kk, 1, zap!, 0, rows, kk, ap);
        k.qgemm(
          rows,
          nCols,
          kk,
          ap,
          hd(w).ptr,
          nCols,
          1,
          0,
          zbp!,
          1,
          hd(out).ptr,
          nCols,
          bias ? hd(bias).ptr : 0,
          mp!,
          sp!,
          2,
          at.outQuant.zeroPoint[0]!,
          lo,
          hi,
          scratch,
        );
      }),
    ),
  );
  return out;
}

function quantOk(
  x: TensorInfo | null | undefined,
  w: TensorInfo | null | undefined,
  bias: TensorInfo | null | undefined,
): boolean {
  return !!x?.quant && !!w?.quant && w.dtype === 'int8' && (!bias || bias.dtype === 'int32');
}

/** int8 kernels (TFLite-exact requantization). */
export const quantKernels: KernelConfig[] = [
  wasmKernel(K.QConv2D, ['int8'], (ctx, b) => {
    const [x, w, bias] = ctx.inputs;
    if (!quantOk(x, w, bias) || x!.shape.length !== 4) return viaCpu(ctx, K.QConv2D);
    return [qconv(b, x!, w!, bias ?? null, ctx.attrs as unknown as QConv2DAttrs)];
  }),
  wasmKernel(K.QMatMul, ['int8'], (ctx, b) => {
    const [a, w, bias] = ctx.inputs;
    if (!quantOk(a, w, bias) || w!.shape.length !== 2) return viaCpu(ctx, K.QMatMul);
    return [qmatmul(b, a!, w!, bias ?? null, ctx.attrs as unknown as QMatMulAttrs)];
  }),
];
