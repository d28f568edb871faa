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
export * from './kernels/activation.js';
export * from './kernels/conv.js';
export * from './kernels/elementwise.js';
export { erfScalar } from './kernels/erf.js';
export { cpuKernels } from './kernels/index.js';
export * from './kernels/linalg.js';
export { stridedCopyImpl } from './kernels/movement.js';
export * from './kernels/norm.js';
export * from './kernels/pool.js';
export * from './kernels/quant.js';
export * from './kernels/reduce.js';
export * from './kernels/resize.js';
