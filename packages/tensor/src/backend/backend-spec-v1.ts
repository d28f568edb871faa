import type { DType, TypedArray } from '../dtype.js';
import type { QuantParams } from '../quant.js';

/** Opaque handle to data a backend holds. Only the backend that made it looks inside. */
export interface DataHandle {
  /** Name of the owning backend. */
  readonly backend: string;
}

/** A contiguous tensor as a kernel sees it: a handle plus metadata. */
export interface TensorInfo {
  /** The backend's data. */
  readonly handle: DataHandle;
  /** Shape, row-major contiguous. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Quantization parameters of quantized (int8/uint8/int32) tensors. */
  readonly quant?: QuantParams;
}

/** Kernel attributes: plain JSON-compatible values. */
export type Attrs = Readonly<Record<string, unknown>>;

/** What a kernel function receives. */
export interface KernelContext<B extends Backend = Backend> {
  /** Inputs, contiguous, in the op's declared order. Optional inputs that were omitted are `null`. */
  readonly inputs: readonly (TensorInfo | null)[];
  /** Attributes of the op (see `kernel-names.ts` for each op's `XxxAttrs`). */
  readonly attrs: Attrs;
  /** The backend running the kernel. */
  readonly backend: B;
}

/** A kernel: inputs in, freshly allocated contiguous outputs out. */
export type KernelFunc<B extends Backend = Backend> = (ctx: KernelContext<B>) => TensorInfo[];

/** One registered kernel, keyed by (kernelName, backendName). */
export interface KernelConfig<B extends Backend = Backend> {
  /** Kernel name from `kernel-names.ts`. */
  readonly kernelName: string;
  /** Backend name. */
  readonly backendName: string;
  /** Input dtypes this kernel accepts (checked against the first input); undefined means any. */
  readonly dtypes?: readonly DType[];
  /** The implementation. */
  readonly kernelFunc: KernelFunc<B>;
}

/** Result of a backend's self-check. */
export interface SelfCheckResult {
  /** True when every check matched the reference. */
  readonly ok: boolean;
  /** One line per check. */
  readonly details: readonly string[];
}

/** Facts a backend reports about itself (for `tinyvision doctor`). */
export interface BackendInfo {
  /** Worker threads the backend uses. */
  readonly threads: number;
  /** Whether SIMD kernels are active. */
  readonly simd: boolean;
  /** Free-form extras (device name, adapter limits). */
  readonly [key: string]: unknown;
}

/**
 * The backend contract, version 1. Backends hold data and provide kernels; the math that is not
 * in a backend's kernel list runs as a composite or falls back to the CPU reference kernels.
 *
 * @example
 * ```ts
 * const b: Backend = cpu().create() as Backend;
 * const h = b.write(new Float32Array([1, 2]), 'float32');
 * await b.read(h); // Float32Array [1, 2]
 * ```
 */
export interface Backend {
  /** Spec version; a breaking change gets a new interface. */
  readonly specificationVersion: 'v1';
  /** Lowercase backend name, e.g. `'cpu'`. */
  readonly name: string;
  /** Kernels this backend provides. */
  readonly kernels: readonly KernelConfig[];
  /** Releases every resource. */
  dispose(): void;
  /**
   * Copies host values into backend memory.
   * @param values - storage of `dtype`
   * @param dtype - element type
   */
  write(values: TypedArray, dtype: DType): DataHandle;
  /**
   * Reads data back to the host (asynchronous on GPU backends).
   * @param handle - data to read
   */
  read(handle: DataHandle): Promise<TypedArray>;
  /**
   * Synchronous read, for backends that can (CPU, WASM). Needed for per-node CPU fallback.
   * @param handle - data to read
   */
  readSync?(handle: DataHandle): TypedArray;
  /**
   * Frees backend memory.
   * @param handle - data to free
   */
  free(handle: DataHandle): void;
  /** Resolves when queued work has finished (benchmarks await it inside the timed region). */
  sync(): Promise<void>;
  /**
   * Whether tensors of `dtype` can live on this backend.
   * @param dtype - element type
   */
  supportsDType(dtype: DType): boolean;
  /** Quick comparison of a few kernels against the CPU reference. */
  selfCheck?(): Promise<SelfCheckResult>;
  /** Threads, SIMD and device facts. */
  info?(): BackendInfo;
}
