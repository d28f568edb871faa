import type { KernelConfig } from '@tinyvision/tensor';
import { activationKernels } from './activation.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { linalgKernels } from './linalg.js';
import { movementKernels } from './movement.js';
import { normKernels } from './norm.js';
import { poolKernels } from './pool.js';
import { quantKernels } from './quant.js';
import { reduceKernels } from './reduce.js';
import { resizeKernels } from './resize.js';

/** Every CPU kernel, explicitly listed by family. */
export const cpuKernels: readonly KernelConfig[] = [
  ...elementwiseKernels,
  ...activationKernels,
  ...reduceKernels,
  ...movementKernels,
  ...linalgKernels,
  ...convKernels,
  ...poolKernels,
  ...normKernels,
  ...resizeKernels,
  ...quantKernels,
];
