import type { BatchNormAttrs, GroupNormAttrs, KernelConfig, LayerNormAttrs } from '@tinyvision/tensor';
import { kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor } from '../host.js';

/**
 * Inference batch normalisation over axis 1: `(x - mean) / sqrt(var + eps) · gamma + beta`.
 * @param x - input `[N, C, ...]` (float32)
 * @param mean - running mean `[C]`
 * @param variance - running variance `[C]`
 * @param gamma - scale `[C]` or null
 * @param beta - shift `[C]` or null
 * @param attrs - epsilon
 * @returns the normalised tensor
 */
export function batchNormImpl(
  x: HostTensor,
  mean: HostTensor,
  variance: HostTensor,
  gamma: HostTensor | null,
  beta: HostTensor | null,
  attrs: BatchNormAttrs,
): HostTensor {
  const c = x.shape[1]!;
  const inner = sizeOf(x.shape.slice(2));
  const out = new Float32Array(x.values.length);
  const v = x.values;
  for (let base = 0; base < v.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const scale = (gamma ? gamma.values[ch]! : 1) / Math.sqrt(variance.values[ch]! + attrs.epsilon);
      const m = mean.values[ch]!;
      const b = beta ? beta.values[ch]! : 0;
      for (let i = 0; i < inner; i++) out[base + i] = (v[base + i]! - m) * scale + b;
    }
  }
  return { values: out, shape: x.shape, dtype: 'float32' };
}

/**
 * Normalises each contiguous row of `cols` values in place of `out` (biased variance, two passes).
 * @returns nothing; writes `out[off .. off+cols)`
 */
function normalizeRow(v: ArrayLike<number>, out: Float32Array, off: number, cols: number, eps: number) {
  let s = 0;
  for (let i = 0; i < cols; i++) s += v[off + i]!;
  const mu = s / cols;
  let q = 0;
  for (let i = 0; i < cols; i++) {
    const d = v[off + i]! - mu;
    q += d * d;
  }
  const inv = 1 / Math.sqrt(q / cols + eps);
  for (let i = 0; i < cols; i++) out[off + i] = (v[off + i]! - mu) * inv;
}

/**
 * Layer normalisation over the trailing `normalizedDims` dims, then the optional affine params.
 * @param x - input (float32)
 * @param gamma - scale shaped like the trailing dims, or null
 * @param beta - shift shaped like the trailing dims, or null
 * @param attrs - epsilon and the number of trailing dims
 * @returns the normalised tensor
 */
export function layerNormImpl(
  x: HostTensor,
  gamma: HostTensor | null,
  beta: HostTensor | null,
  attrs: LayerNormAttrs,
): HostTensor {
  const cols = sizeOf(x.shape.slice(x.shape.length - attrs.normalizedDims));
  const out = new Float32Array(x.values.length);
  for (let off = 0; off < out.length; off += cols) {
    normalizeRow(x.values, out, off, cols, attrs.epsilon);
    for (let i = 0; i < cols; i++) {
      out[off + i] = out[off + i]! * (gamma ? gamma.values[i]! : 1) + (beta ? beta.values[i]! : 0);
    }
  }
  return { values: out, shape: x.shape, dtype: 'float32' };
}

/**
 * Group normalisation: per sample, channels split into `numGroups` groups normalised over their channels and
 * spatial dims, then per-channel affine params.
 * @param x - input `[N, C, ...]` (float32)
 * @param gamma - scale `[C]` or null
 * @param beta - shift `[C]` or null
 * @param attrs - epsilon and group count
 * @returns the normalised tensor
 */
export function groupNormImpl(
  x: HostTensor,
  gamma: HostTensor | null,
  beta: HostTensor | null,
  attrs: GroupNormAttrs,
): HostTensor {
  const c = x.shape[1]!;
  const inner = sizeOf(x.shape.slice(2));
  const cols = (c / attrs.numGroups) * inner;
  const out = new Float32Array(x.values.length);
  for (let off = 0; off < out.length; off += cols) normalizeRow(x.values, out, off, cols, attrs.epsilon);
  for (let base = 0; base < out.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const g = gamma ? gamma.values[ch]! : 1;
      const b = beta ? beta.values[ch]! : 0;
      for (let i = 0; i < inner; i++) out[base + i] = out[base + i]! * g + b;
    }
  }
  return { values: out, shape: x.shape, dtype: 'float32' };
}

/** Norm CPU kernels (fast inference paths of the composites). */
export const normKernels: KernelConfig[] = [
  cpuKernel(
    K.BatchNorm,
    ([x, m, v, g, b], a) => [batchNormImpl(x!, m!, v!, g ?? null, b ?? null, a as unknown as BatchNormAttrs)],
    { dtypes: FLOATS, floatCompute: true },
  ),
  cpuKernel(
    K.LayerNorm,
    ([x, g, b], a) => [layerNormImpl(x!, g ?? null, b ?? null, a as unknown as LayerNormAttrs)],
    { dtypes: FLOATS, floatCompute: true },
  ),
  cpuKernel(
    K.GroupNorm,
    ([x, g, b], a) => [groupNormImpl(x!, g ?? null, b ?? null, a as unknown as GroupNormAttrs)],
    { dtypes: FLOATS, floatCompute: true },
  ),
];
