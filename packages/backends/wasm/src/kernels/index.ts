import type { KernelConfig } from '@tinyvision/tensor';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { linalgKernels } from './linalg.js';
import { poolKernels } from './pool.js';
import { quantKernels } from './quant.js';
import { referenceKernels } from './reference.js';

/** Every WASM kernel, explicitly listed by family. */
export const wasmKernels: readonly KernelConfig[] = [
  ...convKernels,
  ...linalgKernels,
  ...elementwiseKernels,
  ...poolKernels,
  ...quantKernels,
  ...referenceKernels,
];
