/// <reference types="@webgpu/types" />
import { CpuBackend } from '@tinyvision/backend-cpu';
import type {
  Backend,
  BackendInfo,
  DType,
  KernelConfig,
  SelfCheckResult,
  TensorInfo,
  TypedArray,
} from '@tinyvision/tensor';
import type { AcquiredDevice } from './device.js';
import { WebGpuError } from './errors.js';
import type { WebGpuHandle } from './handle.js';

/** Threads per workgroup of the 1-D kernels. */
export const WG = 256;
const MAX_PASSES = 256;
/** Bytes of params per dispatch: a slot of the shared params buffer (the storage-offset alignment). */
const PARAM_SLOT = 256;
const POOL_LIMIT = 512 * 1024 * 1024;

/** Where the kernels ran since the last {@link WebGpuBackend.resetStats}. */
export interface KernelStats {
  /** Kernel name → GPU dispatches. */
  readonly gpu: Map<string, number>;
  /** Kernel name → runs on the CPU reference (no WGSL kernel, unsupported dtype/attrs, or demoted). */
  readonly host: Map<string, number>;
}

/** One compute dispatch. @internal */
export interface Dispatch {
  /** WGSL source; binding 0 is `p: array<i32>` (params), then `buffers` in order. */
  readonly code: string;
  /** Storage buffers bound at 1..n. */
  readonly buffers: readonly GPUBuffer[];
  /** Integer parameters (floats as bit patterns). */
  readonly params: Int32Array;
  /** Workgroup counts; a number means that many 1-D workgroups (split over x/y past the limit). */
  readonly groups: number | readonly [number, number, number];
}

function bucket(bytes: number): number {
  return Math.max(256, Math.ceil(bytes / 256) * 256);
}

/**
 * The WebGPU backend: float32 WGSL kernels, one command encoder per batch of kernels (submitted on read, `sync()`
 * or every 256 dispatches), a size-bucketed buffer pool and a pipeline cache. Kernels without a WGSL version run
 * on the CPU reference inside the backend (counted in {@link WebGpuBackend.stats}). It has no `readSync`: GPU
 * data is read with `await tensor.data()`.
 *
 * @example
 * ```ts
 * registerBackend(webgpu());
 * const b = (await useBackend('webgpu')) as WebGpuBackend;
 * ```
 */
export class WebGpuBackend implements Backend {
  /** Spec version. */
  readonly specificationVersion = 'v1' as const;
  /** Backend name. */
  readonly name = 'webgpu';
  /** Kernels: a WGSL kernel where one exists, the CPU reference otherwise. */
  kernels: readonly KernelConfig[] = [];
  /** The device. */
  readonly device: GPUDevice;
  /** The CPU reference that runs the kernels without a WGSL version. @internal */
  readonly cpu = new CpuBackend();
  /** Kernel placement counts. */
  readonly stats: KernelStats = { gpu: new Map(), host: new Map() };
  /** Kernels moved to the host because a CPU-reference kernel needed their outputs. @internal */
  readonly demoted = new Set<string>();
  private readonly acquired: AcquiredDevice;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passes = 0;
  private transient: GPUBuffer[] = [];
  private fault: WebGpuError | null = null;
  private disposed = false;
  private tracked: Set<WebGpuHandle> | null = null;
  private readonly dummy: GPUBuffer;
  /** Params of the pending batch: slot k belongs to dispatch k; uploaded with one queue write at submit. */
  private readonly paramsBuffer: GPUBuffer;
  private readonly paramsHost = new Int32Array((MAX_PASSES * PARAM_SLOT) / 4);

  /**
   * @param acquired - device from `acquireDevice`
   */
  constructor(acquired: AcquiredDevice) {
    this.acquired = acquired;
    this.device = acquired.device;
    this.device.lost.then((info) => {
      if (!this.disposed)
        this.fault ??= new WebGpuError(`webgpu: device lost (${info.message})`, 'device-lost');
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const reason =
        err.constructor?.name === 'GPUOutOfMemoryError'
          ? 'out-of-memory'
          : err.constructor?.name === 'GPUValidationError'
            ? 'validation'
            : 'internal';
      this.fault ??= new WebGpuError(`webgpu: ${reason} error: ${err.message}`, reason);
    });
    this.dummy = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    this.paramsBuffer = this.device.createBuffer({
      size: MAX_PASSES * PARAM_SLOT,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  /** Throws the first recorded device fault (device lost, OOM, invalid shader). @internal */
  checkFault(): void {
    if (this.fault) throw this.fault;
    if (this.disposed) throw new WebGpuError('webgpu: backend was disposed', 'device-lost');
  }

  /** Releases the device and every pooled buffer. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.paramsBuffer.destroy();
    this.pool.clear();
    this.device.destroy();
  }

  /**
   * @param values - host data (copied; uploaded to the GPU when a kernel first needs it)
   * @param dtype - element type
   * @returns the handle
   */
  write(values: TypedArray, dtype: DType): WebGpuHandle {
    return this.track({
      backend: 'webgpu',
      dtype,
      size: values.length,
      buffer: null,
      bytes: 0,
      host: values.slice(),
      producer: 'write',
      freed: false,
    });
  }

  /**
   * Wraps host data produced by a CPU-reference kernel. @internal
   * @param values - data (not copied)
   * @param dtype - element type
   * @param producer - kernel name
   * @returns the handle
   */
  hostHandle(values: TypedArray, dtype: DType, producer: string): WebGpuHandle {
    return this.track({
      backend: 'webgpu',
      dtype,
      size: values.length,
      buffer: null,
      bytes: 0,
      host: values,
      producer,
      freed: false,
    });
  }

  /**
   * A fresh float32 output on the GPU. @internal
   * @param shape - output shape
   * @param producer - kernel name
   * @returns the tensor and its buffer
   */
  alloc(shape: readonly number[], producer: string): { info: TensorInfo; buffer: GPUBuffer } {
    const size = shape.reduce((a, b) => a * b, 1);
    const bytes = bucket(size * 4);
    const list = this.pool.get(bytes);
    let buffer = list?.pop();
    if (buffer) this.pooledBytes -= bytes;
    else {
      buffer = this.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    const handle = this.track({
      backend: 'webgpu',
      dtype: 'float32',
      size,
      buffer,
      bytes,
      host: null,
      producer,
      freed: false,
    });
    return { info: { handle, shape, dtype: 'float32' }, buffer };
  }

  /**
   * The GPU buffer of a float32 tensor, uploading its host copy on first use. @internal
   * @param h - the handle
   * @returns the buffer
   */
  gpuBuffer(h: WebGpuHandle): GPUBuffer {
    if (h.freed) throw new WebGpuError('webgpu: use of freed data', 'validation');
    if (h.buffer) return h.buffer;
    const host = h.host as Float32Array;
    const bytes = bucket(h.size * 4);
    // A fresh mapped buffer (never a pooled one: queue writes would run before the pending encoder).
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Float32Array(buffer.getMappedRange(), 0, h.size).set(host);
    buffer.unmap();
    h.buffer = buffer;
    h.bytes = bytes;
    return buffer;
  }

  private track(h: WebGpuHandle): WebGpuHandle {
    this.tracked?.add(h);
    return h;
  }

  /**
   * Records every handle created until the returned function is called; that function frees those not yet
   * freed (used by the conformance driver to release the tensors of a failed attempt). @internal
   * @returns the release function
   */
  trackAllocations(): () => void {
    const set = new Set<WebGpuHandle>();
    this.tracked = set;
    return () => {
      if (this.tracked === set) this.tracked = null;
      for (const h of set) this.free(h);
    };
  }

  private pipeline(code: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (p) return p;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code });
    p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    this.device.popErrorScope().then((e) => {
      // The compile error is the root cause of any later 'invalid pipeline' error: it wins.
      if (e) this.fault = new WebGpuError(`webgpu: shader failed to compile: ${e.message}`, 'validation');
    });
    this.pipelines.set(code, p);
    return p;
  }

  /**
   * Encodes one compute dispatch into the current batch. @internal
   * @param d - shader, buffers, params, workgroups
   */
  dispatch(d: Dispatch): void {
    this.checkFault();
    const pipeline = this.pipeline(d.code);
    if (d.params.length > PARAM_SLOT / 4) {
      throw new WebGpuError(
        `webgpu: ${d.params.length} params exceed the ${PARAM_SLOT / 4}-entry slot`,
        'validation',
      );
    }
    // Queue writes run before the batch's command buffer and after earlier submits, so one shared buffer is safe.
    const offset = this.passes * PARAM_SLOT;
    this.paramsHost.set(d.params, offset / 4);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.paramsBuffer, offset, size: PARAM_SLOT } },
    ];
    d.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.encoder ??= this.device.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    if (typeof d.groups === 'number') {
      const n = Math.max(1, d.groups);
      const x = Math.min(n, 65535);
      this.pass.dispatchWorkgroups(x, Math.ceil(n / x), 1);
    } else this.pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
    if (++this.passes >= MAX_PASSES) this.flush();
  }

  /** A 16-byte placeholder for an omitted optional input (e.g. no bias). @internal */
  get placeholder(): GPUBuffer {
    return this.dummy;
  }

  /** Submits the pending batch of kernels. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    if (this.passes > 0)
      this.device.queue.writeBuffer(this.paramsBuffer, 0, this.paramsHost, 0, (this.passes * PARAM_SLOT) / 4);
    this.device.queue.submit([this.encoder.finish()]);
    for (const b of this.transient) b.destroy();
    this.transient = [];
    this.encoder = null;
    this.pass = null;
    this.passes = 0;
  }

  /**
   * Reads data to the host (submits pending kernels first). The host copy is kept on the handle.
   * @param handle - data
   * @returns the values
   * @throws {WebGpuError} when the device was lost or a kernel failed
   */
  async read(handle: WebGpuHandle): Promise<TypedArray> {
    this.checkFault();
    if (handle.freed) throw new WebGpuError('webgpu: read of freed data', 'validation');
    if (handle.host) return handle.host;
    const bytes = handle.size * 4;
    const staging = this.device.createBuffer({
      size: Math.max(4, bytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.encoder ??= this.device.createCommandEncoder();
    this.pass?.end();
    this.pass = null;
    if (bytes > 0) this.encoder.copyBufferToBuffer(handle.buffer!, 0, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.checkFault();
      throw new WebGpuError(`webgpu: readback failed: ${String(e)}`, 'device-lost', { cause: e });
    }
    const out = new Float32Array(staging.getMappedRange(0, Math.max(4, bytes)).slice(0, bytes));
    staging.unmap();
    staging.destroy();
    this.checkFault();
    if (!handle.freed) handle.host = out;
    return out;
  }

  /**
   * Frees data; GPU buffers go back to the pool.
   * @param handle - data
   */
  free(handle: WebGpuHandle): void {
    if (handle.freed) return;
    handle.freed = true;
    handle.host = null;
    const b = handle.buffer;
    handle.buffer = null;
    if (!b) return;
    if (this.pooledBytes + handle.bytes > POOL_LIMIT || this.disposed) {
      // Pending kernels may still use it: destroy after the batch is submitted.
      if (this.encoder) this.transient.push(b);
      else b.destroy();
      return;
    }
    const list = this.pool.get(handle.bytes);
    if (list) list.push(b);
    else this.pool.set(handle.bytes, [b]);
    this.pooledBytes += handle.bytes;
  }

  /**
   * Submits pending kernels and waits for the GPU.
   * @throws {WebGpuError} when the device was lost or a kernel failed
   */
  async sync(): Promise<void> {
    this.checkFault();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkFault();
  }

  /** Every dtype can live here (non-float32 data stays on the host). */
  supportsDType(): boolean {
    return true;
  }

  /** Counts one kernel run. @internal */
  count(kind: 'gpu' | 'host', kernel: string): void {
    const m = this.stats[kind];
    m.set(kernel, (m.get(kernel) ?? 0) + 1);
  }

  /** Clears {@link WebGpuBackend.stats}. */
  resetStats(): void {
    this.stats.gpu.clear();
    this.stats.host.clear();
  }

  /** Moves every demoted kernel back to the GPU. */
  resetPlacement(): void {
    this.demoted.clear();
  }

  /** Self-check result, set by the factory. @internal */
  checkResult: SelfCheckResult = { ok: false, details: ['not run'] };

  /** @returns the init self-check (a few WGSL kernels against the CPU reference) */
  async selfCheck(): Promise<SelfCheckResult> {
    return this.checkResult;
  }

  /** @returns adapter name, f16 support and the WGSL kernel count */
  info(): BackendInfo {
    return {
      threads: 1,
      simd: false,
      adapter: this.acquired.adapterName,
      shaderF16: this.acquired.shaderF16,
      gpuKernels: this.kernels.filter((k) => (k as { gpu?: boolean }).gpu).length,
    };
  }
}
