import type { KernelConfig } from '@tinyvision/tensor';
import { elementwiseKernels } from './elementwise.js';
import { movementKernels } from './movement.js';
import { reduceKernels } from './reduce.js';

/** Every CPU kernel, explicitly listed by family. */
export const cpuKernels: readonly KernelConfig[] = [
  ...elementwiseKernels,
  ...reduceKernels,
  ...movementKernels,
];
