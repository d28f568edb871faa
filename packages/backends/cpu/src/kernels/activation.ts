import type { KernelConfig } from '@tinyvision/tensor';

/** Activation CPU kernels. */
export const activationKernels: KernelConfig[] = [];
