import type { Attrs, Backend, DataHandle, KernelConfig, TensorInfo } from '@tinyvision/tensor';
import {
  type DType,
  fromFloat32,
  isFloat,
  type QuantParams,
  type TypedArray,
  toFloat32,
} from '@tinyvision/tensor';

/** A tensor as the pure CPU kernels see it: host storage plus metadata (contiguous, row-major). */
export interface HostTensor {
  /** Storage (raw bits for 16-bit floats, unless the kernel runs in float compute mode). */
  readonly values: TypedArray;
  /** Shape. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Quantization parameters. */
  readonly quant?: QuantParams;
}

/** The CPU backend's data handle: the typed array itself. */
export interface CpuHandle extends DataHandle {
  readonly backend: 'cpu';
  /** The data. */
  readonly values: TypedArray;
}

/** A pure kernel implementation: host tensors in, host tensors out. */
export type HostKernel = (inputs: readonly (HostTensor | null)[], attrs: Attrs) => HostTensor[];

/** Options of {@link cpuKernel}. */
export interface CpuKernelOptions {
  /** Input dtypes accepted (checked on the first input). */
  readonly dtypes?: readonly DType[];
  /**
   * When true, float16/bfloat16 inputs are decoded to float32 and the kernel runs in float32; float outputs are
   * rounded back (round-to-nearest-even) when the first input is 16-bit — "f16 storage, f32 compute".
   */
  readonly floatCompute?: boolean;
}

/** All float dtypes. */
export const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
/** Float dtypes plus int32. */
export const NUMERIC: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int32', 'int8', 'uint8'];
/** Every dtype. */
export const ALL: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int32', 'bool'];

/**
 * Wraps a pure host kernel as a CPU {@link KernelConfig}.
 * @param kernelName - kernel name
 * @param impl - the pure implementation
 * @param opts - accepted dtypes and f16/bf16 handling
 * @returns the kernel config
 * @example
 * ```ts
 * const reluConfig = cpuKernel('Relu', ([x]) => [reluImpl(x!)], { dtypes: FLOATS, floatCompute: true });
 * ```
 */
export function cpuKernel(kernelName: string, impl: HostKernel, opts: CpuKernelOptions = {}): KernelConfig {
  return {
    kernelName,
    backendName: 'cpu',
    dtypes: opts.dtypes,
    kernelFunc: ({ inputs, attrs, backend }) => {
      // f16/bf16 inputs are decoded; outputs are rounded back only when the first input is 16-bit
      // (so an f32 activation with f16 weights yields f32: "f16 storage, f32 compute").
      const first = inputs[0]?.dtype;
      const half = opts.floatCompute && (first === 'float16' || first === 'bfloat16') ? first : undefined;
      const host = inputs.map((t) => (t ? toHost(t, opts.floatCompute === true) : null));
      const outs = impl(host, attrs);
      return outs.map((o) =>
        fromHost(
          backend,
          half && o.dtype === 'float32' ? { ...o, values: fromFloat32(o.values, half), dtype: half } : o,
        ),
      );
    },
  };
}

function toHost(t: TensorInfo, decodeHalf: boolean): HostTensor {
  const values = (t.handle as CpuHandle).values;
  if (decodeHalf && isFloat(t.dtype) && t.dtype !== 'float32') {
    return { values: toFloat32(values, t.dtype), shape: t.shape, dtype: 'float32', quant: t.quant };
  }
  return { values, shape: t.shape, dtype: t.dtype, quant: t.quant };
}

function fromHost(backend: Backend, o: HostTensor): TensorInfo {
  const handle: CpuHandle = { backend: 'cpu', values: o.values };
  void backend;
  return { handle, shape: o.shape, dtype: o.dtype, quant: o.quant };
}
