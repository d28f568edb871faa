import { StridedCopy } from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { contiguousStrides, isContiguous } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * A contiguous copy of a (possibly strided) view; returns `x` itself when it already is contiguous and owns its storage.
 * @param x - input
 * @returns a contiguous tensor with the same values
 * @example
 * ```ts
 * contiguous(transpose(x)).strides; // row-major
 * ```
 */
export function contiguous(x: Tensor): Tensor {
  if (isContiguous(x.shape, x.strides) && x.offset === 0 && x.storage.size === x.size) return x;
  // The engine hands the kernel a contiguous input; StridedCopy with row-major strides is then a plain copy.
  return runKernel(StridedCopy, [x], { shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 })[0]!;
}
