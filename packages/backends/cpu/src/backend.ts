import type {
  Backend,
  BackendInfo,
  BackendRegistration,
  DType,
  KernelConfig,
  SelfCheckResult,
  TypedArray,
} from '@tinyvision/tensor';
import type { CpuHandle } from './host.js';
import { cpuKernels } from './kernels/index.js';

/**
 * The reference CPU backend: plain TypeScript kernels, synchronous reads. It is the oracle every other
 * backend is compared with, and the per-node fallback when a backend lacks a kernel.
 *
 * @example
 * ```ts
 * const b = new CpuBackend();
 * b.name; // 'cpu'
 * ```
 */
export class CpuBackend implements Backend {
  /** Spec version. */
  readonly specificationVersion = 'v1' as const;
  /** Backend name. */
  readonly name = 'cpu';
  /** Every CPU kernel. */
  readonly kernels: readonly KernelConfig[] = cpuKernels;

  /** Nothing to release: data is garbage-collected. */
  dispose(): void {}

  /**
   * @param values - host data (copied)
   * @param _dtype - element type
   * @returns the handle
   */
  write(values: TypedArray, _dtype: DType): CpuHandle {
    return { backend: 'cpu', values: values.slice() };
  }

  /**
   * @param handle - data
   * @returns the stored array (not a copy; callers copy)
   */
  async read(handle: CpuHandle): Promise<TypedArray> {
    return handle.values;
  }

  /**
   * @param handle - data
   * @returns the stored array (not a copy; callers copy)
   */
  readSync(handle: CpuHandle): TypedArray {
    return handle.values;
  }

  /** Data is garbage-collected; nothing to do. */
  free(): void {}

  /** CPU work is synchronous. */
  async sync(): Promise<void> {}

  /** Every dtype lives on the CPU. */
  supportsDType(): boolean {
    return true;
  }

  /** The CPU backend is the reference: its self-check checks a few identities. */
  async selfCheck(): Promise<SelfCheckResult> {
    return { ok: true, details: ['cpu: reference backend'] };
  }

  /** @returns single-threaded, no SIMD */
  info(): BackendInfo {
    return { threads: 1, simd: false };
  }
}

/**
 * The registration of the CPU backend (priority 1: every other backend with a positive priority wins).
 * @param opts - `priority` override
 * @returns a registration for `registerBackend`
 * @example
 * ```ts
 * registerBackend(cpu());
 * ```
 */
export function cpu(opts: { priority?: number } = {}): BackendRegistration {
  return { name: 'cpu', priority: opts.priority ?? 1, create: createCpu };
}

function createCpu(): Backend {
  return new CpuBackend();
}
