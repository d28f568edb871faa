import { CpuBackend } from '@tinyvision/backend-cpu';
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
import { BackendInitError } from '@tinyvision/tensor';
import * as gpujs from 'gpu.js';
import { createGpuKernels, type GpuJs, webglKernels } from './kernels.js';

/** The WebGL backend's data: host memory (every kernel uploads, runs and reads back synchronously). */
export interface WebGlHandle extends DataHandle {
  readonly backend: 'webgl';
  /** The data. */
  readonly values: TypedArray;
}

/** Options of {@link webgl}. */
export interface WebGlOptions {
  /** Registration priority (default -10: opt-in only, as onnxruntime registers WebGL). */
  readonly priority?: number;
  /** gpu.js mode; default `webgl2` where available, else `webgl`, else gpu.js's own choice (WASM/CPU in Node). */
  readonly mode?: 'webgl2' | 'webgl' | 'headlessgl' | 'webasm' | 'cpu';
}

/** Kernel placement counts. */
export interface WebGlStats {
  /** Kernel name → runs through gpu.js. */
  readonly gpu: Map<string, number>;
  /** Kernel name → runs on the CPU reference. */
  readonly host: Map<string, number>;
}

/**
 * The WebGL backend: a few float32 kernels (elementwise, MatMul, conv2d) compiled by gpu.js to GLSL; every other
 * kernel, and inputs with NaN/Inf (GLSL ES does not promise IEEE semantics), run on the CPU reference. Data lives
 * on the host, so `readSync` works and the engine's per-node fallback applies.
 *
 * @example
 * ```ts
 * registerBackend(webgl());
 * const b = (await useBackend('webgl')) as WebGlBackend;
 * b.info().mode; // 'webgl2' in a browser
 * ```
 */
export class WebGlBackend implements Backend {
  /** Spec version. */
  readonly specificationVersion = 'v1' as const;
  /** Backend name. */
  readonly name = 'webgl';
  /** Kernels (gpu.js where implemented, CPU reference otherwise). */
  readonly kernels: readonly KernelConfig[];
  /** The CPU reference. @internal */
  readonly cpu = new CpuBackend();
  /** Kernel placement counts. */
  readonly stats: WebGlStats = { gpu: new Map(), host: new Map() };
  /** The compiled gpu.js kernels. @internal */
  readonly gk: ReturnType<typeof createGpuKernels>;
  private readonly gpu: GpuJs;
  private checkResult: SelfCheckResult = { ok: true, details: [] };

  /**
   * @param gpu - a gpu.js `GPU` instance
   */
  constructor(gpu: GpuJs) {
    this.gpu = gpu;
    this.gk = createGpuKernels(gpu);
    this.kernels = webglKernels() as unknown as KernelConfig[];
  }

  /** The gpu.js mode that runs the kernels (`webgl2`, `webgl`, `headlessgl`, `webasm` or `cpu`). */
  get mode(): string {
    return this.gpu.mode;
  }

  /** Destroys the gpu.js context. */
  dispose(): void {
    this.gpu.destroy();
  }

  /**
   * @param values - host data (copied)
   * @param _dtype - element type
   * @returns the handle
   */
  write(values: TypedArray, _dtype: DType): WebGlHandle {
    return { backend: 'webgl', values: values.slice() };
  }

  /**
   * @param handle - data
   * @returns the stored array (callers copy)
   */
  async read(handle: WebGlHandle): Promise<TypedArray> {
    return handle.values;
  }

  /**
   * @param handle - data
   * @returns the stored array (callers copy)
   */
  readSync(handle: WebGlHandle): TypedArray {
    return handle.values;
  }

  /** Host data is garbage-collected. */
  free(): void {}

  /** Kernels read back synchronously; nothing is pending. */
  async sync(): Promise<void> {}

  /** Every dtype (non-float32 kernels run on the CPU reference). */
  supportsDType(): boolean {
    return true;
  }

  /** Counts one kernel run. @internal */
  count(kind: 'gpu' | 'host', kernel: string): void {
    const m = this.stats[kind];
    m.set(kernel, (m.get(kernel) ?? 0) + 1);
  }

  /** Clears {@link WebGlBackend.stats}. */
  resetStats(): void {
    this.stats.gpu.clear();
    this.stats.host.clear();
  }

  /** Sets the init self-check result. @internal */
  setCheck(r: SelfCheckResult): void {
    this.checkResult = r;
  }

  /** @returns the init self-check */
  async selfCheck(): Promise<SelfCheckResult> {
    return this.checkResult;
  }

  /** @returns the gpu.js mode */
  info(): BackendInfo {
    return { threads: 1, simd: false, mode: this.mode };
  }
}

function pickMode(): WebGlOptions['mode'] | undefined {
  const G = (gpujs as unknown as { GPU: { isWebGL2Supported: boolean; isWebGLSupported: boolean } }).GPU;
  if (G.isWebGL2Supported) return 'webgl2';
  if (G.isWebGLSupported) return 'webgl';
  return undefined;
}

function gpuClass(): new (s: object) => GpuJs {
  const m = gpujs as unknown as {
    GPU?: new (s: object) => GpuJs;
    default?: { GPU: new (s: object) => GpuJs };
  };
  const G = m.GPU ?? m.default?.GPU;
  if (!G) throw new BackendInitError('webgl: gpu.js did not load (no GPU export)');
  return G;
}

async function selfCheck(b: WebGlBackend): Promise<SelfCheckResult> {
  const x = new Float32Array([1, -2, 3.5, -4, 5, 0.25]);
  const add = b.kernels.find((k) => k.kernelName === 'Add')!;
  const mm = b.kernels.find((k) => k.kernelName === 'MatMul')!;
  const info = (v: Float32Array, shape: number[]) => ({
    handle: b.write(v, 'float32'),
    shape,
    dtype: 'float32' as const,
  });
  b.resetStats();
  const [s] = add.kernelFunc({ inputs: [info(x, [2, 3]), info(x.slice(0, 3), [3])], attrs: {}, backend: b });
  const [p] = mm.kernelFunc({
    inputs: [info(x, [2, 3]), info(x, [3, 2])],
    attrs: { transposeA: false, transposeB: false },
    backend: b,
  });
  const got = [...b.readSync(s!.handle as WebGlHandle), ...b.readSync(p!.handle as WebGlHandle)];
  const want = [
    2,
    -4,
    7,
    -3,
    3,
    3.75,
    1 * 1 + -2 * 3.5 + 3.5 * 5,
    1 * -2 + -2 * -4 + 3.5 * 0.25,
    -4 * 1 + 5 * 3.5 + 0.25 * 5,
    -4 * -2 + 5 * -4 + 0.25 * 0.25,
  ];
  const ok = got.every((v, i) => Math.abs(v - want[i]!) < 1e-4) && (b.stats.gpu.get('MatMul') ?? 0) > 0;
  b.resetStats();
  return { ok, details: [`webgl (${b.mode}) Add/MatMul: ${ok ? 'ok' : `MISMATCH got ${got.join(',')}`}`] };
}

/**
 * Creates the WebGL backend (gpu.js context, kernel compilation on first use, self-check).
 * @param opts - gpu.js mode
 * @returns the backend
 * @throws {BackendInitError} when gpu.js cannot start or the self-check disagrees with the CPU reference
 * @example
 * ```ts
 * const b = await createWebGlBackend({ mode: 'webgl2' });
 * ```
 */
export async function createWebGlBackend(opts: Omit<WebGlOptions, 'priority'> = {}): Promise<WebGlBackend> {
  let b: WebGlBackend;
  try {
    const G = gpuClass();
    const mode = opts.mode ?? pickMode();
    b = new WebGlBackend(new G(mode ? { mode } : {}));
  } catch (e) {
    if (BackendInitError.isInstance(e)) throw e;
    throw new BackendInitError(`webgl: gpu.js failed to start: ${String(e)}`, { cause: e });
  }
  let r: SelfCheckResult;
  try {
    r = await selfCheck(b);
  } catch (e) {
    b.dispose();
    throw new BackendInitError(`webgl: self-check failed to run: ${String(e)}`, { cause: e });
  }
  if (!r.ok) {
    b.dispose();
    throw new BackendInitError(`webgl: self-check failed: ${r.details.join('; ')}`);
  }
  b.setCheck(r);
  return b;
}

/**
 * The registration of the WebGL backend (priority -10 by default: opt-in with `useBackend('webgl')`).
 * @param opts - priority and gpu.js mode
 * @returns a registration for `registerBackend`
 * @example
 * ```ts
 * registerBackend(webgl());
 * await useBackend('webgl');
 * ```
 */
export function webgl(opts: WebGlOptions = {}): BackendRegistration {
  return { name: 'webgl', priority: opts.priority ?? -10, create: () => createWebGlBackend(opts) };
}
