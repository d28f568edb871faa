import type { KernelConfig } from '@tinyvision/tensor';

/** Pool CPU kernels. */
export const poolKernels: KernelConfig[] = [];
