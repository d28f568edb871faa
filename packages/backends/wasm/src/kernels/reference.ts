import type { KernelConfig } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { viaCpu, wasmKernel } from './util.js';

/**
 * Composites the CPU reference runs as fused float32-compute kernels. Without a registered kernel the engine
 * would decompose them into primitives (in float16 arithmetic for float16 inputs), so this backend hands them
 * to the CPU reference whole; they are counted as CPU calls in the coverage stats.
 */
export const referenceKernels: KernelConfig[] = [K.BatchNorm, K.LayerNorm, K.GroupNorm].map((name) =>
  wasmKernel(name, ['float32', 'float16', 'bfloat16'], (ctx) => viaCpu(ctx, name)),
);
