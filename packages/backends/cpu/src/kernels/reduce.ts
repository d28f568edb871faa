import type { KernelConfig, ReduceAttrs } from '@tinyvision/tensor';
import { allocStorage, kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';

/**
 * Generic reduction over sorted axes: visits each output cell's inputs with `init`/`step`/`finish`.
 * @param x - input
 * @param attrs - axes and keepDims
 * @param init - initial accumulator
 * @param step - accumulate one value
 * @param finish - final transform given the count of reduced elements
 * @returns the output host tensor
 */
export function reduceImpl(
  x: HostTensor,
  attrs: ReduceAttrs,
  init: number,
  step: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): HostTensor {
  const { axes, keepDims } = attrs;
  const rank = x.shape.length;
  const reduced = new Set(axes);
  const outShapeKeep = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepDims ? outShapeKeep : x.shape.filter((_, i) => !reduced.has(i));
  const nOut = sizeOf(outShapeKeep);
  const count = axes.reduce((a, ax) => a * x.shape[ax]!, 1);
  const acc = new Float64Array(nOut).fill(init);
  // output strides (over the keepDims shape), 0 on reduced axes
  const oStr = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    oStr[i] = reduced.has(i) ? 0 : s;
    s *= outShapeKeep[i]!;
  }
  const n = x.values.length;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  const v = x.values;
  for (let i = 0; i < n; i++) {
    acc[o] = step(acc[o]!, v[i]!);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      o += oStr[d]!;
      if (idx[d]! < x.shape[d]!) break;
      o -= oStr[d]! * x.shape[d]!;
      idx[d] = 0;
    }
  }
  const out = allocStorage(x.dtype, nOut);
  for (let i = 0; i < nOut; i++) out[i] = finish(acc[i]!, count);
  return { values: out, shape: outShape, dtype: x.dtype };
}

/** Reduction CPU kernels. */
export const reduceKernels: KernelConfig[] = [
  cpuKernel(K.Sum, ([x], a) => [reduceImpl(x!, a as unknown as ReduceAttrs, 0, (s, v) => s + v)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(
    K.Mean,
    ([x], a) => [
      reduceImpl(
        x!,
        a as unknown as ReduceAttrs,
        0,
        (s, v) => s + v,
        (s, c) => s / c,
      ),
    ],
    { dtypes: FLOATS, floatCompute: true },
  ),
];
