import type {
  BackendRegistration,
  KernelConfig,
  SelfCheckResult,
  TensorInfo,
  TypedArray,
} from '@tinyvision/tensor';
import { BackendInitError, kernelNames as K } from '@tinyvision/tensor';
import { WebGpuBackend } from './backend.js';
import { acquireDevice, type DeviceOptions } from './device.js';
import { HostReadRequiredError } from './errors.js';
import type { GpuTensor } from './handle.js';
import { webgpuKernels } from './kernels/index.js';

/** Options of {@link webgpu}. */
export interface WebGpuOptions extends DeviceOptions {
  /** Registration priority (default 5: above CPU and WASM's 1; onnxruntime's choice for WebGPU). */
  readonly priority?: number;
  /** Kernel names that must run on the CPU reference even though a WGSL version exists. */
  readonly disableKernels?: readonly string[];
}

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

interface Check {
  readonly kernel: string;
  readonly inputs: readonly [number[], number][];
  readonly attrs: Record<string, unknown>;
}

const conv = { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] };
const CHECKS: readonly Check[] = [
  {
    kernel: K.Add,
    inputs: [
      [[2, 3, 4], 1],
      [[3, 1], 2],
    ],
    attrs: {},
  },
  { kernel: K.Relu6, inputs: [[[37], 3]], attrs: {} },
  {
    kernel: K.MatMul,
    inputs: [
      [[2, 17, 19], 4],
      [[19, 13], 5],
    ],
    attrs: { transposeA: false, transposeB: false },
  },
  {
    kernel: K.Linear,
    inputs: [
      [[3, 19], 15],
      [[5, 19], 16],
      [[5], 17],
    ],
    attrs: {},
  },
  {
    kernel: K.Conv2D,
    inputs: [
      [[1, 3, 9, 9], 6],
      [[4, 3, 3, 3], 7],
      [[4], 8],
    ],
    attrs: { ...conv, groups: 1 },
  },
  {
    kernel: K.FusedConv2D,
    inputs: [
      [[1, 4, 7, 7], 9],
      [[4, 1, 3, 3], 10],
      [[4], 11],
    ],
    attrs: { ...conv, groups: 4, activation: 'hardSwish' },
  },
  {
    kernel: K.FusedConv2D,
    inputs: [
      [[2, 8, 5, 5], 12],
      [[6, 8, 1, 1], 13],
      [[6], 14],
    ],
    attrs: { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, activation: 'relu' },
  },
];

async function selfCheck(b: WebGpuBackend): Promise<SelfCheckResult> {
  const details: string[] = [];
  let ok = true;
  for (const c of CHECKS) {
    const k = b.kernels.find((x) => x.kernelName === c.kernel)!;
    const ref = b.cpu.kernels.find((x) => x.kernelName === c.kernel)!;
    const data = c.inputs.map(([shape, seed]) =>
      values(
        shape.reduce((u, v) => u * v, 1),
        seed,
      ),
    );
    const gpuIn = c.inputs.map(([shape], i) => ({
      handle: b.write(data[i]!, 'float32'),
      shape,
      dtype: 'float32' as const,
    }));
    const cpuIn = c.inputs.map(([shape], i) => ({
      handle: b.cpu.write(data[i]!, 'float32'),
      shape,
      dtype: 'float32' as const,
    }));
    b.resetStats();
    const [got] = k.kernelFunc({ inputs: gpuIn, attrs: c.attrs, backend: b }) as TensorInfo[];
    const [want] = ref.kernelFunc({ inputs: cpuIn, attrs: c.attrs, backend: b.cpu });
    const g = await b.read((got as GpuTensor).handle);
    const w = b.cpu.readSync(want!.handle as never) as TypedArray;
    let worst = 0;
    for (let i = 0; i < w.length; i++)
      worst = Math.max(worst, Math.abs(g[i]! - w[i]!) / (1e-4 + Math.abs(w[i]!)));
    const onGpu = (b.stats.gpu.get(c.kernel) ?? 0) > 0;
    const pass = g.length === w.length && worst <= 1e-3 && onGpu;
    ok &&= pass;
    details.push(
      `webgpu ${c.kernel}: ${pass ? 'ok' : 'MISMATCH'} (max rel err ${worst.toExponential(1)}${onGpu ? '' : ', did not run on the GPU'})`,
    );
    for (const t of [...gpuIn, got!]) b.free((t as GpuTensor).handle);
  }
  b.resetStats();
  return { ok, details };
}

/**
 * Creates the WebGPU backend: acquires a device, builds the kernel list and runs the self-check.
 * @param opts - device and kernel options
 * @returns the backend
 * @throws {BackendInitError} when there is no device or the self-check disagrees with the CPU reference
 * @example
 * ```ts
 * const b = await createWebGpuBackend();
 * ```
 */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const acquired = await acquireDevice(opts);
  const b = new WebGpuBackend(acquired);
  b.kernels = webgpuKernels(new Set(opts.disableKernels ?? [])) as unknown as KernelConfig[];
  let result: SelfCheckResult;
  try {
    result = await selfCheck(b);
  } catch (e) {
    b.dispose();
    throw new BackendInitError(
      `webgpu: self-check failed to run: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (!result.ok) {
    b.dispose();
    throw new BackendInitError(
      `webgpu: self-check failed: ${result.details.filter((d) => !d.includes(': ok')).join('; ')}`,
    );
  }
  b.checkResult = result;
  return b;
}

/**
 * The registration of the WebGPU backend (priority 5 by default). Initialisation is async: call
 * `await useBackend('webgpu')` (or `useBackend()` for automatic choice) before using ops.
 * @param opts - priority, device and kernel options
 * @returns a registration for `registerBackend`
 * @example
 * ```ts
 * registerBackend(webgpu());
 * await useBackend('webgpu');
 * ```
 */
export function webgpu(opts: WebGpuOptions = {}): BackendRegistration {
  return { name: 'webgpu', priority: opts.priority ?? 5, create: () => createWebGpuBackend(opts) };
}

/**
 * Runs a synchronous computation on the WebGPU backend, retrying when a CPU-reference kernel needed a GPU-only
 * input ({@link HostReadRequiredError}): each retry runs the producers of such inputs on the host. `fn` must be
 * free of side effects other than creating tensors (tensors of a failed attempt are left to the caller's `tidy`).
 * @param backend - the WebGPU backend
 * @param fn - the computation
 * @param maxAttempts - retry limit (default 16)
 * @returns what `fn` returns
 * @throws {HostReadRequiredError} when the limit is reached
 * @example
 * ```ts
 * const logits = await runWithFallback(backend, () => tidy(() => model(x)));
 * ```
 */
export async function runWithFallback<T>(backend: WebGpuBackend, fn: () => T, maxAttempts = 16): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!HostReadRequiredError.isInstance(e) || attempt >= maxAttempts) throw e;
      await backend.sync();
    }
  }
}
