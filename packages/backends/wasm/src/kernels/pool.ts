import type { KernelConfig, Pool2DAttrs } from '@tinyvision/tensor';
import { kernelNames as K, pool2dOutputShape } from '@tinyvision/tensor';
import { hd, output, wasmKernel, withScratch } from './util.js';

/** Per output position along one axis: first in-bounds tap, tap count, taps inside the padded extent. */
function axisTaps(
  outN: number,
  inN: number,
  k: number,
  s: number,
  d: number,
  p0: number,
  p1: number,
): Int32Array {
  const taps = new Int32Array(Math.max(outN, 1) * 3);
  for (let o = 0; o < outN; o++) {
    const start = o * s - p0;
    let first = -1;
    let count = 0;
    let padded = 0;
    for (let t = 0; t < k; t++) {
      const i = start + t * d;
      if (i >= -p0 && i < inN + p1) padded++;
      if (i < 0 || i >= inN) continue;
      if (first < 0) first = i;
      count++;
    }
    taps.set([Math.max(first, 0), count, padded], o * 3);
  }
  return taps;
}

function poolKernel(name: string, max: boolean): KernelConfig {
  return wasmKernel(name, ['float32'], (ctx, b) => {
    const x = ctx.inputs[0]!;
    const a = ctx.attrs as unknown as Pool2DAttrs;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const shape = pool2dOutputShape(x.shape, a);
    const [oh, ow] = [shape[2]!, shape[3]!];
    const out = output(b, shape, 'float32');
    if (n * c * oh * ow === 0) return [out];
    const rows = axisTaps(oh, h, a.kernelSize[0], a.strides[0], a.dilations[0], a.pads[0], a.pads[2]);
    const cols = axisTaps(ow, w, a.kernelSize[1], a.strides[1], a.dilations[1], a.pads[1], a.pads[3]);
    withScratch(b, (rows.length + cols.length) * 4, (tp) => {
      const view = new Int32Array(b.k.memory.buffer, tp, rows.length + cols.length);
      view.set(rows);
      view.set(cols, rows.length);
      const mode = max ? 0 : a.countIncludePad ? 2 : 1;
      b.k.pool2d(
        hd(x).ptr,
        hd(out).ptr,
        n * c,
        h,
        w,
        oh,
        ow,
        a.dilations[0],
        a.dilations[1],
        tp,
        tp + rows.length * 4,
        mode,
      );
    });
    return [out];
  });
}

/** Pooling kernels: max/average with pads, dilations, ceil mode; global average. */
export const poolKernels: KernelConfig[] = [
  poolKernel(K.MaxPool2D, true),
  poolKernel(K.AvgPool2D, false),
  wasmKernel(K.GlobalAvgPool, ['float32'], (ctx, b) => {
    const x = ctx.inputs[0]!;
    const [n, c] = x.shape as [number, number];
    const len = x.shape.slice(2).reduce((p, q) => p * q, 1);
    const out = output(b, [n, c, ...x.shape.slice(2).map(() => 1)], 'float32');
    if (n * c > 0) b.k.meanPlanes(hd(x).ptr, hd(out).ptr, n * c, len);
    return [out];
  }),
];
