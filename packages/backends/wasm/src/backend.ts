import { cpu } from '@tinyvision/backend-cpu';
import type {
  Backend,
  BackendInfo,
  BackendRegistration,
  DataHandle,
  DType,
  KernelConfig,
  SelfCheckResult,
  TypedArray,
} from '@tinyvision/tensor';
import { allocStorage, bytesPerElement, registerBackend } from '@tinyvision/tensor';
import { WasmHeap } from './heap.js';
import { wasmKernels } from './kernels/index.js';
import { instantiateKernels, type KernelExports, simdSupported } from './module.js';

/** The WASM backend's data handle: a block of the kernels' linear memory. */
export interface WasmHandle extends DataHandle {
  readonly backend: 'wasm';
  /** Byte offset in the linear memory. */
  readonly ptr: number;
  /** Bytes requested (elements × element size). */
  readonly bytes: number;
  /** Element count. */
  readonly length: number;
  /** Element type. */
  readonly dtype: DType;
}

/** Options of {@link wasm}. */
export interface WasmBackendOptions {
  /**
   * Registration priority. Default -1: opt-in only (`await useBackend('wasm')`), so registering it never
   * changes what other code runs on. Give a positive value (above the CPU backend's 1) to make it the default.
   */
  readonly priority?: number;
  /** Force the SIMD (`true`) or scalar (`false`) build; default: SIMD when the engine validates it. */
  readonly simd?: boolean;
  /** Cap on the linear memory in bytes (allocations beyond it throw `WasmMemoryError`). */
  readonly maxMemoryBytes?: number;
}

/** Per-kernel counts of calls that ran in WebAssembly and calls a kernel handed to the CPU reference. */
export interface KernelStats {
  /** Calls computed by the WebAssembly kernels. */
  native: number;
  /** Calls this backend's kernel passed to the CPU reference (unsupported attribute or dtype mix). */
  viaCpu: number;
}

/**
 * CPU backend in WebAssembly: f32 GEMM with a 6×8 SIMD micro-kernel (convolutions as packed GEMMs, depthwise
 * direct), elementwise/activation, pooling, softmax and TFLite-exact int8 conv/matmul. Tensors live in the
 * module's linear memory; kernels it lacks fall back to the CPU reference per node.
 *
 * @example
 * ```ts
 * registerBackend(wasm());
 * await useBackend('wasm');
 * ```
 */
export class WasmBackend implements Backend {
  /** Spec version. */
  readonly specificationVersion = 'v1' as const;
  /** Backend name. */
  readonly name = 'wasm';
  /** Kernels (set by the factory). */
  readonly kernels: readonly KernelConfig[];
  /** @internal The kernels' exports. */
  readonly k: KernelExports;
  /** @internal The allocator. */
  readonly heap: WasmHeap;
  /** Whether the SIMD build is loaded. */
  readonly simd: boolean;
  /** @internal Packed weights per handle (freed with the handle). */
  readonly packed = new WeakMap<WasmHandle, Map<string, { ptr: number; bytes: number }>>();
  /** Per-kernel call counts (native vs handed to the CPU reference). */
  readonly stats = new Map<string, KernelStats>();
  /** When set, each kernel call adds its wall time (ms) and a call count here, by kernel name. */
  profile: Map<string, { ms: number; calls: number }> | null = null;
  private readonly live = new WeakSet<WasmHandle>();

  /**
   * @param kernels - the kernel list
   * @param opts - build choice and memory cap
   */
  constructor(kernels: readonly KernelConfig[], opts: WasmBackendOptions = {}) {
    this.simd = opts.simd ?? simdSupported();
    this.k = instantiateKernels(this.simd);
    this.heap = new WasmHeap(this.k.memory, this.k.heapBase(), opts.maxMemoryBytes);
    this.kernels = kernels;
  }

  /** Frees nothing: the memory goes away with the instance. */
  dispose(): void {}

  /**
   * Allocates an uninitialised tensor block.
   * @param length - elements
   * @param dtype - element type
   * @returns the handle
   * @throws {WasmMemoryError} when memory cannot grow
   * @internal
   */
  alloc(length: number, dtype: DType): WasmHandle {
    const bytes = length * bytesPerElement(dtype);
    const h: WasmHandle = { backend: 'wasm', ptr: this.heap.alloc(bytes), bytes, length, dtype };
    this.live.add(h);
    return h;
  }

  /**
   * @param values - host data (copied into linear memory)
   * @param dtype - element type
   * @returns the handle
   * @throws {WasmMemoryError} when memory cannot grow
   */
  write(values: TypedArray, dtype: DType): WasmHandle {
    const h = this.alloc(values.length, dtype);
    new Uint8Array(this.k.memory.buffer, h.ptr, h.bytes).set(
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    );
    return h;
  }

  /**
   * A typed-array view of a handle's data (valid until the memory next grows; callers copy).
   * @param handle - data
   * @returns the view
   */
  readSync(handle: WasmHandle): TypedArray {
    const Ctor = allocStorage(handle.dtype, 0).constructor as new (
      b: ArrayBuffer,
      o: number,
      n: number,
    ) => TypedArray;
    return new Ctor(this.k.memory.buffer, handle.ptr, handle.length);
  }

  /**
   * @param handle - data
   * @returns a copy of the data
   */
  async read(handle: WasmHandle): Promise<TypedArray> {
    return this.readSync(handle).slice();
  }

  /**
   * Returns the block (and any packed copies of it) to the allocator; freeing twice is a no-op.
   * @param handle - data
   */
  free(handle: WasmHandle): void {
    if (!this.live.has(handle)) return;
    this.live.delete(handle);
    this.heap.release(handle.ptr, handle.bytes);
    const p = this.packed.get(handle);
    if (p) {
      for (const b of p.values()) this.heap.release(b.ptr, b.bytes);
      this.packed.delete(handle);
    }
  }

  /** Kernels run synchronously. */
  async sync(): Promise<void> {}

  /** Every dtype can be stored; kernels cover float32 and int8, the rest falls back to the CPU reference. */
  supportsDType(): boolean {
    return true;
  }

  /**
   * Compares a small GEMM against a naive product.
   * @returns ok when they agree within 1e-5
   */
  async selfCheck(): Promise<SelfCheckResult> {
    const m = 7;
    const n = 11;
    const kk = 13;
    const a = Float32Array.from({ length: m * kk }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: kk * n }, (_, i) => Math.cos(i));
    const ha = this.write(a, 'float32');
    const hb = this.write(b, 'float32');
    const hc = this.alloc(m * n, 'float32');
    const ap = this.heap.alloc(this.k.packedASize(m, kk));
    const scratch = this.heap.alloc(this.k.chunkCols(kk) * kk * 4);
    this.k.packA(ha.ptr, kk, 1, m, kk, ap);
    this.k.sgemm(m, n, kk, ap, hb.ptr, n, 1, 0, hc.ptr, n, 0, 0, 0, scratch);
    const c = this.readSync(hc) as Float32Array;
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < kk; p++) s += a[i * kk + p]! * b[p * n + j]!;
        worst = Math.max(worst, Math.abs(s - c[i * n + j]!));
      }
    }
    this.heap.release(ap, this.k.packedASize(m, kk));
    this.heap.release(scratch, this.k.chunkCols(kk) * kk * 4);
    for (const h of [ha, hb, hc]) this.free(h);
    const ok = worst < 1e-4;
    return {
      ok,
      details: [`wasm ${this.simd ? 'simd' : 'scalar'} sgemm 7x11x13: max |err| ${worst.toExponential(2)}`],
    };
  }

  /** @returns threads (1), whether the SIMD build runs, the build name and memory size */
  info(): BackendInfo {
    return {
      threads: 1,
      simd: this.simd,
      build: this.simd ? 'simd128' : 'scalar',
      memoryBytes: this.heap.memoryBytes,
    };
  }

  /**
   * @internal Counts one call of `kernel` (native or handed to the CPU reference).
   */
  count(kernel: string, native: boolean): void {
    let s = this.stats.get(kernel);
    if (!s) this.stats.set(kernel, (s = { native: 0, viaCpu: 0 }));
    if (native) s.native++;
    else s.viaCpu++;
  }
}

/**
 * The registration of the WebAssembly backend. Its default priority is -1 (opt-in): call
 * `await useBackend('wasm')`, or pass `{ priority: 10 }` to make it the automatic choice.
 * @param opts - priority, SIMD/scalar build, memory cap
 * @returns a registration for `registerBackend`
 * @example
 * ```ts
 * registerBackend(wasm());
 * await useBackend('wasm');
 * ```
 */
export function wasm(opts: WasmBackendOptions = {}): BackendRegistration {
  return { name: 'wasm', priority: opts.priority ?? -1, create: factory(opts) };
}

const factories = new Map<string, () => Backend>();

/** One factory per distinct option set, so registering `wasm()` twice is a no-op, as for the CPU backend. */
function factory(opts: WasmBackendOptions): () => Backend {
  const key = JSON.stringify([opts.simd, opts.maxMemoryBytes]);
  let f = factories.get(key);
  if (!f) {
    f = () => {
      // Kernels this backend lacks run on the CPU reference per node, so it must be registered too.
      registerBackend(cpu());
      return new WasmBackend(wasmKernels, opts);
    };
    factories.set(key, f);
  }
  return f;
}
