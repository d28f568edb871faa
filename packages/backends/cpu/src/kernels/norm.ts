import type { KernelConfig } from '@tinyvision/tensor';

/** Norm CPU kernels. */
export const normKernels: KernelConfig[] = [];
