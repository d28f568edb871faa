import { cpuKernels } from '@tinyvision/backend-cpu/internal';
import { convGpu } from './conv.js';
import { elementwiseGpu } from './elementwise.js';
import { type GpuKernel, hybridKernel, type WebGpuKernelConfig } from './hybrid.js';
import { linalgGpu } from './linalg.js';
import { poolGpu } from './pool.js';
import { reduceGpu } from './reduce.js';

/** Every WGSL kernel, by kernel name, listed by family. @internal */
export const gpuKernels: Readonly<Record<string, GpuKernel>> = {
  ...elementwiseGpu,
  ...linalgGpu,
  ...convGpu,
  ...poolGpu,
  ...reduceGpu,
};

/**
 * The WebGPU backend's kernel list: one entry per CPU reference kernel, with the WGSL version where it exists.
 * @param exclude - kernel names whose WGSL version is not used (they run on the CPU reference)
 * @returns the configs
 * @internal
 */
export function webgpuKernels(exclude: ReadonlySet<string> = new Set()): WebGpuKernelConfig[] {
  return cpuKernels.map((k) =>
    hybridKernel(k, exclude.has(k.kernelName) ? undefined : gpuKernels[k.kernelName]),
  );
}
