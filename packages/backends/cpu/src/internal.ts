/**
 * Pure CPU kernel implementations, for other backends to use as fallbacks (no semver promise).
 * @packageDocumentation
 */
export {
  ALL,
  type CpuHandle,
  type CpuKernelOptions,
  cpuKernel,
  FLOATS,
  type HostKernel,
  type HostTensor,
  NUMERIC,
} from './host.js';
export { binaryImpl, bstrides, castImpl, unaryImpl } from './kernels/elementwise.js';
export { cpuKernels } from './kernels/index.js';
export { stridedCopyImpl } from './kernels/movement.js';
export { reduceImpl } from './kernels/reduce.js';
