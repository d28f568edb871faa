import type { QConv2DAttrs, QMatMulAttrs, QuantParams } from '@tinyvision/tensor';
import { InvalidArgumentError } from '@tinyvision/tensor';
import {
  multiplyByQuantizedMultiplier,
  quantizedActivationRange,
  quantizeMultiplier,
} from '@tinyvision/tensor/internal';
import type { HostTensor } from '../host.js';

/** Per-output-channel requantization: TFLite multipliers and shifts, output zero point and clamp range. */
interface Requant {
  readonly mult: Int32Array;
  readonly shift: Int32Array;
  readonly zp: number;
  readonly lo: number;
  readonly hi: number;
}

function quantOf(t: HostTensor, arg: string, kernel: string): QuantParams {
  if (!t.quant) throw new InvalidArgumentError(`${kernel}: '${arg}' has no quantization parameters`);
  return t.quant;
}

/**
 * Multipliers `sx·sw[c]/sy` for `channels` outputs, with the scales read as float32 (TFLite stores float32
 * scales and computes the ratio in double).
 */
function requant(
  sx: number,
  sw: readonly number[],
  out: QuantParams,
  channels: number,
  activation: QConv2DAttrs['activation'],
): Requant {
  const mult = new Int32Array(channels);
  const shift = new Int32Array(channels);
  const fx = Math.fround(sx);
  const fy = Math.fround(out.scale[0]!);
  for (let c = 0; c < channels; c++) {
    const m = quantizeMultiplier((fx * Math.fround(sw[sw.length === 1 ? 0 : c]!)) / fy);
    mult[c] = m.multiplier;
    shift[c] = m.shift;
  }
  const [lo, hi] = quantizedActivationRange(activation, out, 'int8');
  return { mult, shift, zp: out.zeroPoint[0]!, lo, hi };
}

/** int32 accumulator (+ bias, wrapping like int32) → requantized, clamped output integer. */
function finish(acc: number, bias: number, r: Requant, c: number): number {
  const y = multiplyByQuantizedMultiplier((acc + bias) | 0, r.mult[c]!, r.shift[c]!) + r.zp;
  return Math.min(r.hi, Math.max(r.lo, y));
}

/**
 * TFLite-exact int8 convolution (reference `integer_ops::ConvPerChannel` / `DepthwiseConvPerChannel`
 * arithmetic), grouped, with explicit pads, strides and dilations.
 * @param x - int8 NCHW input with per-tensor quant
 * @param w - int8 `[O, C/groups, kH, kW]` with per-tensor or per-channel (axis 0) quant
 * @param bias - optional int32 `[O]`
 * @param attrs - conv attributes, output quantization and fused activation
 * @returns int8 NCHW output carrying `attrs.outQuant`
 */
export function qconv2dImpl(
  x: HostTensor,
  w: HostTensor,
  bias: HostTensor | null,
  attrs: QConv2DAttrs,
): HostTensor {
  const xq = quantOf(x, 'x', 'QConv2D');
  const wq = quantOf(w, 'w', 'QConv2D');
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const { strides, pads, dilations, groups } = attrs;
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const [pt, pl] = pads;
  const oh = Math.floor((h + pads[0] + pads[2] - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - dw * (kw - 1) - 1) / sw) + 1;
  const og = o / groups;
  const r = requant(xq.scale[0]!, wq.scale, attrs.outQuant, o, attrs.activation);
  // Offsets applied up front: the accumulation is Σ (x − zx)·(w − zw).
  const zx = xq.zeroPoint[0]!;
  const xs = new Int32Array(x.values.length);
  for (let i = 0; i < xs.length; i++) xs[i] = x.values[i]! - zx;
  const ws = new Int32Array(w.values.length);
  const wPer = cg * kh * kw;
  for (let i = 0; i < ws.length; i++) {
    const zw = wq.zeroPoint.length === 1 ? wq.zeroPoint[0]! : wq.zeroPoint[Math.floor(i / wPer)]!;
    ws[i] = w.values[i]! - zw;
  }
  const b = bias?.values;
  const out = new Int8Array(n * o * oh * ow);
  let p = 0;
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      const bv = b ? b[oc]! : 0;
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++, p++) {
          let acc = 0;
          for (let ic = 0; ic < cg; ic++) {
            const xBase = (ni * c + g * cg + ic) * h;
            const wBase = (oc * cg + ic) * kh;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const xRow = (xBase + iy) * wd;
              const wRow = (wBase + ky) * kw;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xo * sw - pl + kx * dw;
                if (ix >= 0 && ix < wd) acc += xs[xRow + ix]! * ws[wRow + kx]!;
              }
            }
          }
          out[p] = finish(acc, bv, r, oc);
        }
      }
    }
  }
  return { values: out, shape: [n, o, oh, ow], dtype: 'int8', quant: attrs.outQuant };
}

/**
 * TFLite-exact int8 matrix product (`FullyConnected`/`BatchMatMul` integer arithmetic) with per-tensor or
 * per-column weights.
 * @param a - int8 `[..., M, K]` with per-tensor quant
 * @param b - int8 `[K, N]` with per-tensor or per-column (axis 1) quant
 * @param bias - optional int32 `[N]`
 * @param attrs - output quantization and fused activation
 * @returns int8 `[..., M, N]` carrying `attrs.outQuant`
 */
export function qmatmulImpl(
  a: HostTensor,
  b: HostTensor,
  bias: HostTensor | null,
  attrs: QMatMulAttrs,
): HostTensor {
  const aq = quantOf(a, 'a', 'QMatMul');
  const bq = quantOf(b, 'b', 'QMatMul');
  const k = a.shape[a.shape.length - 1]!;
  const nCols = b.shape[1]!;
  const rows = k === 0 ? 0 : a.values.length / k;
  const r = requant(aq.scale[0]!, bq.scale, attrs.outQuant, nCols, attrs.activation);
  const za = aq.zeroPoint[0]!;
  // Transposed, offset weights: column j is contiguous.
  const bt = new Int32Array(k * nCols);
  for (let kk = 0; kk < k; kk++) {
    for (let j = 0; j < nCols; j++) {
      const zb = bq.zeroPoint.length === 1 ? bq.zeroPoint[0]! : bq.zeroPoint[j]!;
      bt[j * k + kk] = b.values[kk * nCols + j]! - zb;
    }
  }
  const outShape = [...a.shape.slice(0, -1), nCols];
  let total = 1;
  for (const s of outShape) total *= s;
  const out = new Int8Array(total);
  const av = a.values;
  const bv = bias?.values;
  const row = new Int32Array(k);
  for (let m = 0; m < rows; m++) {
    for (let kk = 0; kk < k; kk++) row[kk] = av[m * k + kk]! - za;
    for (let j = 0; j < nCols; j++) {
      let acc = 0;
      const base = j * k;
      for (let kk = 0; kk < k; kk++) acc += row[kk]! * bt[base + kk]!;
      out[m * nCols + j] = finish(acc, bv ? bv[j]! : 0, r, j);
    }
  }
  // K = 0: every output is the requantized bias alone.
  if (k === 0) {
    for (let i = 0; i < total; i++) out[i] = finish(0, bv ? bv[i % nCols]! : 0, r, i % nCols);
  }
  return { values: out, shape: outShape, dtype: 'int8', quant: attrs.outQuant };
}
