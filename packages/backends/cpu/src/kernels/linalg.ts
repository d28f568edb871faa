import type { KernelConfig } from '@tinyvision/tensor';

/** Linalg CPU kernels. */
export const linalgKernels: KernelConfig[] = [];
