import type {
  ArgReduceAttrs,
  AxisAttrs,
  KernelConfig,
  ReduceAttrs,
  TopKAttrs,
  TopKGradAttrs,
} from '@tinyvision/tensor';
import { allocStorage, kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';

/**
 * Generic reduction over sorted axes: visits each output cell's inputs with `init`/`step`/`finish`.
 * @param x - input
 * @param attrs - axes and keepDims
 * @param init - initial accumulator
 * @param step - accumulate one value
 * @param finish - final transform given the count of reduced elements
 * @returns the output host tensor
 */
export function reduceImpl(
  x: HostTensor,
  attrs: ReduceAttrs,
  init: number,
  step: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): HostTensor {
  const { axes, keepDims } = attrs;
  const rank = x.shape.length;
  const reduced = new Set(axes);
  const outShapeKeep = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const outShape = keepDims ? outShapeKeep : x.shape.filter((_, i) => !reduced.has(i));
  const nOut = sizeOf(outShapeKeep);
  const count = axes.reduce((a, ax) => a * x.shape[ax]!, 1);
  const acc = new Float64Array(nOut).fill(init);
  // output strides (over the keepDims shape), 0 on reduced axes
  const oStr = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    oStr[i] = reduced.has(i) ? 0 : s;
    s *= outShapeKeep[i]!;
  }
  const n = x.values.length;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  const v = x.values;
  for (let i = 0; i < n; i++) {
    acc[o] = step(acc[o]!, v[i]!);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      o += oStr[d]!;
      if (idx[d]! < x.shape[d]!) break;
      o -= oStr[d]! * x.shape[d]!;
      idx[d] = 0;
    }
  }
  const out = allocStorage(x.dtype, nOut);
  for (let i = 0; i < nOut; i++) out[i] = finish(acc[i]!, count);
  return { values: out, shape: outShape, dtype: x.dtype };
}

/** The reductions with a fast path. */
export type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod';

/**
 * Splits a shape around one axis: `[outer, size, inner]` (size 1 for a scalar).
 * @param shape - the shape
 * @param axis - the axis
 * @returns the three extents
 */
export function splitAxis(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis] ?? 1, sizeOf(shape.slice(axis + 1))];
}

/**
 * A reduction with tight loops when the axes are consecutive (the common case: trailing dims, one axis,
 * all axes); other axis sets use {@link reduceImpl}. Accumulates in float64; max/min propagate NaN.
 * @param x - input
 * @param attrs - sorted axes and keepDims
 * @param kind - which reduction
 * @returns the output host tensor
 */
export function reduceFastImpl(x: HostTensor, attrs: ReduceAttrs, kind: ReduceKind): HostTensor {
  const { axes, keepDims } = attrs;
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  const consecutive = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
  if (!consecutive) {
    const step = STEPS[kind];
    return reduceImpl(x, attrs, init, step, kind === 'mean' ? (s, c) => s / c : undefined);
  }
  const first = axes[0] ?? 0;
  const outer = sizeOf(x.shape.slice(0, first));
  const r = axes.length ? sizeOf(x.shape.slice(first, first + axes.length)) : 1;
  const inner = sizeOf(x.shape.slice(first + axes.length));
  const shape = keepDims
    ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !axes.includes(i));
  const acc = new Float64Array(outer * inner).fill(init);
  const v = x.values;
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    for (let j = 0; j < r; j++) {
      const p = (o * r + j) * inner;
      if (kind === 'sum' || kind === 'mean') for (let i = 0; i < inner; i++) acc[base + i]! += v[p + i]!;
      else if (kind === 'prod') for (let i = 0; i < inner; i++) acc[base + i]! *= v[p + i]!;
      else if (kind === 'max') {
        for (let i = 0; i < inner; i++) {
          const e = v[p + i]!;
          if (e > acc[base + i]! || Number.isNaN(e)) acc[base + i] = e;
        }
      } else {
        for (let i = 0; i < inner; i++) {
          const e = v[p + i]!;
          if (e < acc[base + i]! || Number.isNaN(e)) acc[base + i] = e;
        }
      }
    }
  }
  const out = allocStorage(x.dtype, acc.length);
  if (kind === 'mean') for (let i = 0; i < acc.length; i++) out[i] = acc[i]! / r;
  else out.set(acc);
  return { values: out, shape, dtype: x.dtype };
}

const STEPS: Record<ReduceKind, (acc: number, v: number) => number> = {
  sum: (s, v) => s + v,
  mean: (s, v) => s + v,
  prod: (s, v) => s * v,
  max: (s, v) => (v > s || Number.isNaN(v) ? v : s),
  min: (s, v) => (v < s || Number.isNaN(v) ? v : s),
};

/**
 * Index of the max (or min) along one axis: first index on ties, and the first NaN wins (PyTorch).
 * @param x - input
 * @param attrs - axis and keepDims
 * @param isMax - argmax or argmin
 * @returns int32 indices
 */
export function argReduceImpl(x: HostTensor, attrs: ArgReduceAttrs, isMax: boolean): HostTensor {
  const { axis, keepDims } = attrs;
  const [outer, n, inner] = splitAxis(x.shape, axis);
  const out = new Int32Array(outer * inner);
  const v = x.values;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let p = o * n * inner + i;
      let best = v[p]!;
      let bi = 0;
      if (!Number.isNaN(best)) {
        for (let j = 1; j < n; j++) {
          p += inner;
          const e = v[p]!;
          if (Number.isNaN(e)) {
            bi = j;
            break;
          }
          if (isMax ? e > best : e < best) {
            best = e;
            bi = j;
          }
        }
      }
      out[o * inner + i] = bi;
    }
  }
  const shape = keepDims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return { values: out, shape, dtype: 'int32' };
}

/** Up to this k, TopK selects by insertion instead of sorting the whole row. */
const SELECT_MAX_K = 32;

/**
 * The k largest/smallest elements along an axis (NaN counts as the largest; ties keep the lower index first).
 * When `sorted` is false the chosen elements keep their original order.
 * @param x - input
 * @param attrs - k, axis, largest, sorted
 * @returns `[values, int32 indices]`
 */
export function topkImpl(x: HostTensor, attrs: TopKAttrs): [HostTensor, HostTensor] {
  const { k, axis, largest, sorted } = attrs;
  const [outer, n, inner] = splitAxis(x.shape, axis);
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  const values = allocStorage(x.dtype, outer * k * inner);
  const indices = new Int32Array(outer * k * inner);
  const v = x.values;
  const row = new Float64Array(n);
  const order = new Int32Array(n);
  const sign = largest ? 1 : -1;
  const before = (a: number, b: number): number => {
    const va = row[a]!;
    const vb = row[b]!;
    if (va !== vb) {
      if (Number.isNaN(va)) return -sign; // NaN is the largest
      if (Number.isNaN(vb)) return sign;
      return va > vb ? -sign : sign;
    }
    return a - b;
  };
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) row[j] = v[base + j * inner]!;
      let top: Int32Array;
      if (k <= SELECT_MAX_K) {
        // Small k: insertion into a sorted buffer of k (one pass, no full sort).
        top = order.subarray(0, k);
        let count = 0;
        for (let j = 0; j < n && k > 0; j++) {
          if (count === k && before(j, top[k - 1]!) >= 0) continue;
          let q = count < k ? count++ : k - 1;
          for (; q > 0 && before(j, top[q - 1]!) < 0; q--) top[q] = top[q - 1]!;
          top[q] = j;
        }
      } else {
        for (let j = 0; j < n; j++) order[j] = j;
        order.sort(before);
        top = order.subarray(0, k);
      }
      if (!sorted) top.sort();
      const ob = o * k * inner + i;
      for (let j = 0; j < k; j++) {
        values[ob + j * inner] = row[top[j]!]!;
        indices[ob + j * inner] = top[j]!;
      }
    }
  }
  return [
    { values, shape, dtype: x.dtype },
    { values: indices, shape, dtype: 'int32' },
  ];
}

/**
 * Scatters the TopK values' gradient back to the input positions (zeros elsewhere).
 * @param dy - gradient of the values
 * @param indices - int32 indices from TopK
 * @param attrs - axis and the input's size on it
 * @returns the input gradient
 */
export function topkGradImpl(dy: HostTensor, indices: HostTensor, attrs: TopKGradAttrs): HostTensor {
  const { axis, size } = attrs;
  const [outer, k, inner] = splitAxis(dy.shape, axis);
  const shape = dy.shape.map((d, i) => (i === axis ? size : d));
  const out = allocStorage(dy.dtype, outer * size * inner);
  const g = dy.values;
  const idx = indices.values;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const p = (o * k + j) * inner;
      for (let i = 0; i < inner; i++) out[(o * size + idx[p + i]!) * inner + i]! += g[p + i]!;
    }
  }
  return { values: out, shape, dtype: dy.dtype };
}

/**
 * Numerically stable softmax or log-softmax along one axis. Rows along the last axis are processed in place
 * in the output (no per-row allocation); other axes use one scratch buffer per call.
 * @param x - float32 input
 * @param attrs - axis
 * @param logOut - log-softmax instead of softmax
 * @returns the float32 output
 */
export function softmaxImpl(x: HostTensor, attrs: AxisAttrs, logOut: boolean): HostTensor {
  const [outer, n, inner] = splitAxis(x.shape, attrs.axis);
  const v = x.values;
  const out = new Float32Array(v.length);
  if (inner === 1) {
    for (let o = 0, p = 0; o < outer; o++, p += n) {
      let m = -Infinity;
      for (let j = 0; j < n; j++) {
        const e = v[p + j]!;
        if (e > m || Number.isNaN(e)) m = e;
      }
      let s = 0;
      if (logOut) {
        for (let j = 0; j < n; j++) s += Math.exp(v[p + j]! - m);
        const c = m + Math.log(s);
        for (let j = 0; j < n; j++) out[p + j] = v[p + j]! - c;
      } else {
        for (let j = 0; j < n; j++) {
          const e = Math.exp(v[p + j]! - m);
          out[p + j] = e;
          s += e;
        }
        const r = 1 / s;
        for (let j = 0; j < n; j++) out[p + j]! *= r;
      }
    }
    return { values: out, shape: x.shape, dtype: 'float32' };
  }
  const m = new Float64Array(inner);
  const s = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    m.fill(-Infinity);
    s.fill(0);
    for (let j = 0; j < n; j++) {
      for (let i = 0, p = base + j * inner; i < inner; i++, p++) {
        const e = v[p]!;
        if (e > m[i]! || Number.isNaN(e)) m[i] = e;
      }
    }
    for (let j = 0; j < n; j++) {
      for (let i = 0, p = base + j * inner; i < inner; i++, p++) {
        const e = Math.exp(v[p]! - m[i]!);
        if (!logOut) out[p] = e;
        s[i]! += e;
      }
    }
    for (let i = 0; i < inner; i++) s[i] = logOut ? m[i]! + Math.log(s[i]!) : 1 / s[i]!;
    for (let j = 0; j < n; j++) {
      for (let i = 0, p = base + j * inner; i < inner; i++, p++) {
        out[p] = logOut ? v[p]! - s[i]! : out[p]! * s[i]!;
      }
    }
  }
  return { values: out, shape: x.shape, dtype: 'float32' };
}

function red(name: string, kind: ReduceKind, dtypes: typeof NUMERIC): KernelConfig {
  return cpuKernel(name, ([x], a) => [reduceFastImpl(x!, a as unknown as ReduceAttrs, kind)], {
    dtypes,
    floatCompute: true,
  });
}

/** Reduction CPU kernels. */
export const reduceKernels: KernelConfig[] = [
  red(K.Sum, 'sum', NUMERIC),
  red(K.Mean, 'mean', FLOATS),
  red(K.Max, 'max', NUMERIC),
  red(K.Min, 'min', NUMERIC),
  red(K.Prod, 'prod', FLOATS),
  cpuKernel(K.ArgMax, ([x], a) => [argReduceImpl(x!, a as unknown as ArgReduceAttrs, true)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.ArgMin, ([x], a) => [argReduceImpl(x!, a as unknown as ArgReduceAttrs, false)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.TopK, ([x], a) => topkImpl(x!, a as unknown as TopKAttrs), {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.TopKGrad, ([dy, i], a) => [topkGradImpl(dy!, i!, a as unknown as TopKGradAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.Softmax, ([x], a) => [softmaxImpl(x!, a as unknown as AxisAttrs, false)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.LogSoftmax, ([x], a) => [softmaxImpl(x!, a as unknown as AxisAttrs, true)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
];
