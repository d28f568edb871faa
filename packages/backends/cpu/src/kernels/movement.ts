import type { KernelConfig, StridedCopyAttrs } from '@tinyvision/tensor';
import { allocStorage, kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { ALL, cpuKernel, type HostTensor } from '../host.js';

/**
 * Gathers a strided view of flat storage into a contiguous array.
 * @param x - flat source
 * @param attrs - view shape, strides and offset
 * @returns the contiguous host tensor
 */
export function stridedCopyImpl(x: HostTensor, attrs: StridedCopyAttrs): HostTensor {
  const { shape, strides, offset } = attrs;
  const n = sizeOf(shape);
  const out = allocStorage(x.dtype, n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let p = offset;
  const v = x.values;
  for (let i = 0; i < n; i++) {
    out[i] = v[p]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      p += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { values: out, shape, dtype: x.dtype, quant: x.quant };
}

/** Movement CPU kernels (views need no kernel). */
export const movementKernels: KernelConfig[] = [
  cpuKernel(K.StridedCopy, ([x], a) => [stridedCopyImpl(x!, a as unknown as StridedCopyAttrs)], {
    dtypes: ALL,
  }),
];
