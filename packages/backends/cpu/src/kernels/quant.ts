import type { KernelConfig } from '@tinyvision/tensor';

/** Quant CPU kernels. */
export const quantKernels: KernelConfig[] = [];
