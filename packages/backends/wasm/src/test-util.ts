import type { CpuHandle } from '@tinyvision/backend-cpu/internal';
import { cpuKernels } from '@tinyvision/backend-cpu/internal';
import type { Attrs, Backend, DType, QuantParams, TensorInfo, TypedArray } from '@tinyvision/tensor';
import type { WasmBackend } from './backend.js';

/** A host tensor for kernel tests. */
export interface HostArray {
  readonly values: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly quant?: QuantParams;
}

/**
 * Runs one kernel of `b` on host arrays and returns copies of its outputs.
 * @internal
 */
export function runWasm(
  b: WasmBackend,
  name: string,
  inputs: (HostArray | null)[],
  attrs: Attrs,
): HostArray[] {
  const k = b.kernels.find((c) => c.kernelName === name);
  if (!k) throw new Error(`no wasm kernel ${name}`);
  const infos: (TensorInfo | null)[] = inputs.map((t) =>
    t ? { handle: b.write(t.values, t.dtype), shape: t.shape, dtype: t.dtype, quant: t.quant } : null,
  );
  const outs = k.kernelFunc({ inputs: infos, attrs, backend: b });
  const res = outs.map((o) => ({
    values: b.readSync(o.handle as never).slice(),
    shape: o.shape,
    dtype: o.dtype,
    quant: o.quant,
  }));
  for (const i of infos) if (i) b.free(i.handle as never);
  for (const o of outs) b.free(o.handle as never);
  return res;
}

/**
 * Runs the CPU reference kernel on host arrays.
 * @internal
 */
export function runCpu(name: string, inputs: (HostArray | null)[], attrs: Attrs): HostArray[] {
  const k = cpuKernels.find((c) => c.kernelName === name)!;
  const infos = inputs.map((t) =>
    t
      ? {
          handle: { backend: 'cpu', values: t.values } as CpuHandle,
          shape: t.shape,
          dtype: t.dtype,
          quant: t.quant,
        }
      : null,
  );
  return k.kernelFunc({ inputs: infos, attrs, backend: { name: 'cpu' } as Backend }).map((o) => ({
    values: (o.handle as CpuHandle).values,
    shape: o.shape,
    dtype: o.dtype,
    quant: o.quant,
  }));
}

/**
 * Deterministic pseudo-random generator (mulberry32).
 * @internal
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random float32 array in [-1, 1).
 * @internal
 */
export function randF32(r: () => number, shape: readonly number[]): HostArray {
  const n = shape.reduce((p, q) => p * q, 1);
  return { values: Float32Array.from({ length: n }, () => r() * 2 - 1), shape, dtype: 'float32' };
}

/**
 * Largest |a − e| / (atol + rtol·|e|) over the arrays (≤ 1 means within tolerance).
 * @internal
 */
export function worstRatio(a: ArrayLike<number>, e: ArrayLike<number>, rtol = 1e-5, atol = 1e-5): number {
  if (a.length !== e.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (atol + rtol * Math.abs(e[i]!)));
  return worst;
}
