import type { DataHandle, DType, TensorInfo, TypedArray } from '@tinyvision/tensor';

/**
 * The WebGPU backend's data: a float32 GPU buffer, a host copy, or both. Data written from the host stays on
 * the host until a GPU kernel needs it; GPU kernel outputs live only on the GPU until read. Non-float32 dtypes
 * always live on the host (their kernels run on the CPU reference).
 * @internal
 */
export interface WebGpuHandle extends DataHandle {
  readonly backend: 'webgpu';
  /** Element type. */
  readonly dtype: DType;
  /** Element count. */
  readonly size: number;
  /** GPU copy (float32 only), or null. */
  buffer: GPUBuffer | null;
  /** Byte size of `buffer` (pool bucket). */
  bytes: number;
  /** Host copy, or null. */
  host: TypedArray | null;
  /** Kernel that produced the data (`'write'` for host uploads). */
  readonly producer: string;
  /** Set by `free`. */
  freed: boolean;
}

/** A tensor whose handle is a {@link WebGpuHandle}. @internal */
export interface GpuTensor extends TensorInfo {
  /** The data. */
  readonly handle: WebGpuHandle;
}
