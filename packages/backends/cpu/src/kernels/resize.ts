import type { KernelConfig } from '@tinyvision/tensor';

/** Resize CPU kernels. */
export const resizeKernels: KernelConfig[] = [];
