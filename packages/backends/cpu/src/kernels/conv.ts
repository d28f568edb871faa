import type { KernelConfig } from '@tinyvision/tensor';

/** Conv CPU kernels. */
export const convKernels: KernelConfig[] = [];
