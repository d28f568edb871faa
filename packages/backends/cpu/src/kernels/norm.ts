import type { BatchNormAttrs, GroupNormAttrs, KernelConfig, LayerNormAttrs } from '@tinyvision/tensor';
import { kernelNames as K, sizeOf, type TypedArray } from '@tinyvision/tensor';
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

/** Per channel of `[N, C, inner]`: `s1[ch] = Σ(v - k)`, `s2[ch] = Σ(v - k)²` with `k = shift[ch]` (float64). */
function channelMoments(
  v: TypedArray,
  c: number,
  inner: number,
  shift: Float64Array,
  s1: Float64Array,
  s2: Float64Array,
): void {
  for (let base = 0; base < v.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const k = shift[ch]!;
      let a0 = 0;
      let a1 = 0;
      let q0 = 0;
      let q1 = 0;
      let i = base;
      for (const end = base + inner - 1; i < end; i += 2) {
        const d0 = v[i]! - k;
        const d1 = v[i + 1]! - k;
        a0 += d0;
        a1 += d1;
        q0 += d0 * d0;
        q1 += d1 * d1;
      }
      if (i < base + inner) {
        const d = v[i]! - k;
        a0 += d;
        q0 += d * d;
      }
      s1[ch]! += a0 + a1;
      s2[ch]! += q0 + q1;
    }
  }
}

/** `out = v·scale[ch] + offset[ch]` over `[N, C, inner]`. */
function channelAffine(
  v: TypedArray,
  out: Float32Array,
  c: number,
  inner: number,
  scale: Float64Array,
  offset: Float64Array,
): void {
  for (let base = 0; base < v.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const a = scale[ch]!;
      const b = offset[ch]!;
      for (let i = base, end = base + inner; i < end; i++) out[i] = v[i]! * a + b;
    }
  }
}

/**
 * Training batch normalisation over axis 1 (PyTorch `native_batch_norm` with `training=True`): batch mean and
 * biased variance per channel in one pass over N×spatial (float64 sums of the values shifted by the channel's
 * first value, so a large mean does not cancel the variance), then `y = x·scale + shift`.
 * @param x - input `[N, C, ...]` (float32)
 * @param gamma - scale `[C]` or null
 * @param beta - shift `[C]` or null
 * @param attrs - epsilon
 * @returns `[y, saveMean [C], saveInvStd [C]]` with `saveInvStd = 1 / sqrt(var + eps)`
 */
export function batchNormTrainImpl(
  x: HostTensor,
  gamma: HostTensor | null,
  beta: HostTensor | null,
  attrs: BatchNormAttrs,
): [HostTensor, HostTensor, HostTensor] {
  const c = x.shape[1]!;
  const inner = sizeOf(x.shape.slice(2));
  const v = x.values;
  const m = v.length / c;
  const shift = new Float64Array(c);
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const k = v[ch * inner];
    shift[ch] = k !== undefined && Number.isFinite(k) ? k : 0;
  }
  channelMoments(v, c, inner, shift, s1, s2);
  const mean = new Float32Array(c);
  const invStd = new Float32Array(c);
  const scale = new Float64Array(c);
  const offset = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const dm = s1[ch]! / m;
    const mu = shift[ch]! + dm;
    const inv = 1 / Math.sqrt(Math.max(s2[ch]! / m - dm * dm, 0) + attrs.epsilon);
    mean[ch] = mu;
    invStd[ch] = inv;
    scale[ch] = (gamma ? gamma.values[ch]! : 1) * inv;
    offset[ch] = (beta ? beta.values[ch]! : 0) - mu * scale[ch]!;
  }
  const out = new Float32Array(v.length);
  channelAffine(v, out, c, inner, scale, offset);
  const cs = [c];
  return [
    { values: out, shape: x.shape, dtype: 'float32' },
    { values: mean, shape: cs, dtype: 'float32' },
    { values: invStd, shape: cs, dtype: 'float32' },
  ];
}

/** Per channel of `[N, C, inner]`: `s1[ch] = Σdy`, `s2[ch] = Σdy·(x - mean[ch])` (float64). */
function channelGradSums(
  g: TypedArray,
  v: TypedArray,
  c: number,
  inner: number,
  mean: TypedArray,
  s1: Float64Array,
  s2: Float64Array,
): void {
  for (let base = 0; base < v.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const mu = mean[ch]!;
      let a0 = 0;
      let a1 = 0;
      let b0 = 0;
      let b1 = 0;
      let i = base;
      for (const end = base + inner - 1; i < end; i += 2) {
        const d0 = g[i]!;
        const d1 = g[i + 1]!;
        a0 += d0;
        a1 += d1;
        b0 += d0 * (v[i]! - mu);
        b1 += d1 * (v[i + 1]! - mu);
      }
      if (i < base + inner) {
        a0 += g[i]!;
        b0 += g[i]! * (v[i]! - mu);
      }
      s1[ch]! += a0 + a1;
      s2[ch]! += b0 + b1;
    }
  }
}

/** `dx = a[ch]·dy - k[ch]·(x - mean[ch]) - off[ch]` over `[N, C, inner]`. */
function channelGradRows(
  g: TypedArray,
  v: TypedArray,
  dx: Float32Array,
  c: number,
  inner: number,
  mean: TypedArray,
  a: Float64Array,
  k: Float64Array,
  off: Float64Array,
): void {
  for (let base = 0; base < v.length; ) {
    for (let ch = 0; ch < c; ch++, base += inner) {
      const s = a[ch]!;
      const kk = k[ch]!;
      const o = off[ch]!;
      const mu = mean[ch]!;
      for (let i = base, end = base + inner; i < end; i++) dx[i] = s * g[i]! - kk * (v[i]! - mu) - o;
    }
  }
}

/**
 * Gradient of {@link batchNormTrainImpl} (batch statistics depend on x): with `x̂ = (x - mean)·invStd` and M
 * values per channel, `dx = γ·invStd/M · (M·dy - Σdy - x̂·Σ(dy·x̂))`, `dγ = Σ(dy·x̂)`, `dβ = Σdy`. One float64
 * pass per channel for the two sums, one pass for dx.
 * @param dy - upstream gradient shaped like x (float32)
 * @param x - the forward input `[N, C, ...]`
 * @param gamma - scale `[C]` or null (1)
 * @param mean - saved batch mean `[C]`
 * @param invStd - saved `1/sqrt(var + eps)` `[C]`
 * @returns `[dx, dgamma [C], dbeta [C]]`
 */
export function batchNormTrainGradImpl(
  dy: HostTensor,
  x: HostTensor,
  gamma: HostTensor | null,
  mean: HostTensor,
  invStd: HostTensor,
): [HostTensor, HostTensor, HostTensor] {
  const c = x.shape[1]!;
  const inner = sizeOf(x.shape.slice(2));
  const v = x.values;
  const g = dy.values;
  const m = v.length / c;
  const sumDy = new Float64Array(c);
  const sumDyXmu = new Float64Array(c);
  channelGradSums(g, v, c, inner, mean.values, sumDy, sumDyXmu);
  const dgamma = new Float32Array(c);
  const dbeta = new Float32Array(c);
  const a = new Float64Array(c);
  const k = new Float64Array(c);
  const off = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const inv = invStd.values[ch]!;
    dgamma[ch] = sumDyXmu[ch]! * inv;
    dbeta[ch] = sumDy[ch]!;
    // dx = γ·inv·(dy - Σdy/M - (x - mean)·inv²·Σ(dy·(x - mean))/M) = a·dy - k·(x - mean) - off
    a[ch] = (gamma ? gamma.values[ch]! : 1) * inv;
    k[ch] = (a[ch]! * inv * inv * sumDyXmu[ch]!) / m;
    off[ch] = (a[ch]! * sumDy[ch]!) / m;
  }
  const dx = new Float32Array(v.length);
  channelGradRows(g, v, dx, c, inner, mean.values, a, k, off);
  const cs = [c];
  return [
    { values: dx, shape: x.shape, dtype: 'float32' },
    { values: dgamma, shape: cs, dtype: 'float32' },
    { values: dbeta, shape: cs, dtype: 'float32' },
  ];
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

/** Norm CPU kernels (fast inference paths of the composites, and training batch norm with its gradient). */
export const normKernels: KernelConfig[] = [
  cpuKernel(
    K.BatchNorm,
    ([x, m, v, g, b], a) => [batchNormImpl(x!, m!, v!, g ?? null, b ?? null, a as unknown as BatchNormAttrs)],
    { dtypes: FLOATS, floatCompute: true },
  ),
  cpuKernel(
    K.BatchNormTrain,
    ([x, g, b], a) => batchNormTrainImpl(x!, g ?? null, b ?? null, a as unknown as BatchNormAttrs),
    { dtypes: FLOATS, floatCompute: true },
  ),
  cpuKernel(K.BatchNormTrainGrad, ([dy, x, g, m, s]) => batchNormTrainGradImpl(dy!, x!, g ?? null, m!, s!), {
    dtypes: FLOATS,
    floatCompute: true,
  }),
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
