import type { CpuHandle } from '@tinyvision/backend-cpu/internal';
import { cpuKernels } from '@tinyvision/backend-cpu/internal';
import type {
  Backend,
  DType,
  KernelConfig,
  KernelContext,
  QuantParams,
  TensorInfo,
} from '@tinyvision/tensor';
import { KernelNotFoundError } from '@tinyvision/tensor';
import type { WasmBackend, WasmHandle } from '../backend.js';

/** A WASM kernel function. */
export type WasmKernelFunc = (ctx: KernelContext<WasmBackend>, b: WasmBackend) => TensorInfo[];

/**
 * The handle of a kernel input.
 * @internal
 */
export function hd(t: TensorInfo): WasmHandle {
  return t.handle as WasmHandle;
}

/**
 * A fresh output tensor.
 * @internal
 */
export function output(
  b: WasmBackend,
  shape: readonly number[],
  dtype: DType,
  quant?: QuantParams,
): TensorInfo {
  let n = 1;
  for (const s of shape) n *= s;
  return { handle: b.alloc(n, dtype), shape: [...shape], dtype, ...(quant ? { quant } : {}) };
}

/**
 * Runs `fn` with a scratch block of `bytes`, freed afterwards.
 * @internal
 */
export function withScratch<T>(b: WasmBackend, bytes: number, fn: (ptr: number) => T): T {
  const ptr = b.heap.alloc(bytes);
  try {
    return fn(ptr);
  } finally {
    b.heap.release(ptr, bytes);
  }
}

/**
 * A packed copy of a (weight) handle, built once and freed with the handle.
 * @internal
 */
export function packedOf(
  b: WasmBackend,
  h: WasmHandle,
  key: string,
  bytes: number,
  fill: (dst: number) => void,
): number {
  let m = b.packed.get(h);
  if (!m) b.packed.set(h, (m = new Map()));
  const hit = m.get(key);
  if (hit) return hit.ptr;
  const ptr = b.heap.alloc(bytes);
  fill(ptr);
  m.set(key, { ptr, bytes });
  return ptr;
}

const cpuByName = new Map(cpuKernels.map((k) => [k.kernelName, k]));
const CPU_STUB = { name: 'cpu' } as Backend;

/**
 * Runs the CPU reference kernel on copies of the inputs and writes its outputs into linear memory: for the
 * attribute/dtype combinations a WASM kernel does not cover (counted in the backend's stats).
 * @internal
 */
export function viaCpu(ctx: KernelContext<WasmBackend>, kernelName: string): TensorInfo[] {
  const b = ctx.backend;
  const ref = cpuByName.get(kernelName);
  if (!ref) throw new KernelNotFoundError(`${kernelName}: no CPU reference kernel for the wasm fallback`);
  b.count(kernelName, false);
  const inputs = ctx.inputs.map((t) =>
    t ? { ...t, handle: { backend: 'cpu', values: b.readSync(hd(t)).slice() } as CpuHandle } : null,
  );
  const outs = ref.kernelFunc({ inputs, attrs: ctx.attrs, backend: CPU_STUB });
  return outs.map((o) => ({ ...o, handle: b.write((o.handle as CpuHandle).values, o.dtype) }));
}

/**
 * Wraps a WASM kernel function as a config; `kernelFunc` counts native calls.
 * @internal
 */
export function wasmKernel(kernelName: string, dtypes: readonly DType[], fn: WasmKernelFunc): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    dtypes,
    kernelFunc: (ctx) => {
      const c = ctx as KernelContext<WasmBackend>;
      const b = c.backend;
      const before = b.stats.get(kernelName)?.viaCpu ?? 0;
      const t0 = b.profile ? performance.now() : 0;
      const out = fn(c, b);
      if (b.profile) {
        const p = b.profile.get(kernelName) ?? { ms: 0, calls: 0 };
        p.ms += performance.now() - t0;
        p.calls++;
        b.profile.set(kernelName, p);
      }
      if ((b.stats.get(kernelName)?.viaCpu ?? 0) === before) b.count(kernelName, true);
      return out;
    },
  };
}

/**
 * Whether every present input is float32.
 * @internal
 */
export function allF32(inputs: readonly (TensorInfo | null)[]): boolean {
  return inputs.every((t) => t === null || t.dtype === 'float32');
}

/**
 * The float dtypes: kernels accepting them hand 16-bit inputs to the CPU reference whole.
 * @internal
 */
export const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
