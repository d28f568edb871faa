import type { Attrs, KernelConfig, TensorInfo } from '@tinyvision/tensor';
import type { WebGpuBackend } from '../backend.js';
import { HostReadRequiredError } from '../errors.js';
import type { GpuTensor, WebGpuHandle } from '../handle.js';

/**
 * A WGSL kernel: returns the outputs, or null when it cannot handle these inputs/attributes (the CPU reference
 * then runs). Called only with float32, non-empty inputs.
 * @internal
 */
export type GpuKernel = (
  inputs: readonly (GpuTensor | null)[],
  attrs: Attrs,
  backend: WebGpuBackend,
) => TensorInfo[] | null;

/** A kernel config that also says whether it has a WGSL version. @internal */
export interface WebGpuKernelConfig extends KernelConfig<WebGpuBackend> {
  /** True when a WGSL kernel exists. */
  readonly gpu: boolean;
}

function gpuEligible(inputs: readonly (TensorInfo | null)[]): boolean {
  return inputs.every(
    (t) => t === null || (t.dtype === 'float32' && t.shape.every((d) => d > 0) && t.quant === undefined),
  );
}

/**
 * One WebGPU kernel: the WGSL version when it exists and accepts the inputs, else the CPU reference on host
 * copies. A CPU-reference run whose input exists only on the GPU demotes that input's producer to the host and
 * throws {@link HostReadRequiredError} (a synchronous kernel cannot await a GPU read).
 * @param ref - the CPU reference config
 * @param gpu - the WGSL kernel, if any
 * @returns the config
 * @internal
 */
export function hybridKernel(ref: KernelConfig, gpu?: GpuKernel): WebGpuKernelConfig {
  const name = ref.kernelName;
  return {
    kernelName: name,
    backendName: 'webgpu',
    dtypes: ref.dtypes,
    gpu: gpu !== undefined,
    kernelFunc: ({ inputs, attrs, backend }) => {
      backend.checkFault();
      const ins = inputs as readonly (GpuTensor | null)[];
      if (gpu && !backend.demoted.has(name) && gpuEligible(ins)) {
        const out = gpu(ins, attrs, backend);
        if (out) {
          backend.count('gpu', name);
          return out;
        }
      }
      const missing = ins.filter((t): t is GpuTensor => t !== null && t.handle.host === null);
      if (missing.length > 0) {
        const producers = [...new Set(missing.map((t) => t.handle.producer))];
        for (const p of producers) backend.demoted.add(p);
        throw new HostReadRequiredError(name, producers);
      }
      const cpuIns = ins.map((t) =>
        t ? { ...t, handle: { backend: 'cpu', values: (t.handle as WebGpuHandle).host! } } : null,
      );
      const outs = ref.kernelFunc({ inputs: cpuIns, attrs, backend: backend.cpu });
      backend.count('host', name);
      return outs.map((o) => ({
        ...o,
        handle: backend.hostHandle((o.handle as unknown as { values: never }).values, o.dtype, name),
      }));
    },
  };
}
