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
import { foldRow, foldVec, forEachRow, planReduce, type ReduceKind } from './reduce-plan.js';

export type { ReduceKind } from './reduce-plan.js';

/**
 * Generic reduction over sorted axes with a custom accumulator, run row by row over the merged dims (see
 * {@link reduceFastImpl} for the built-in reductions, which use specialised loops).
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
  const plan = planReduce(x.shape, attrs);
  const acc = new Float64Array(plan.nOut).fill(init);
  const v = x.values;
  forEachRow(plan, v.length, (o, p, len, reduceRow) => {
    if (reduceRow) {
      let a = acc[o]!;
      for (let i = p, end = p + len; i < end; i++) a = step(a, v[i]!);
      acc[o] = a;
    } else for (let i = 0; i < len; i++) acc[o + i] = step(acc[o + i]!, v[p + i]!);
  });
  const out = allocStorage(x.dtype, plan.nOut);
  for (let i = 0; i < plan.nOut; i++) out[i] = finish(acc[i]!, plan.count);
  return { values: out, shape: plan.shape, dtype: x.dtype };
}

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
 * The built-in reductions over any sorted axis set, as tight loops: adjacent reduced (or kept) dims are merged,
 * and each row of the last merged dim is either folded into one accumulator (trailing axes, all axes, the
 * `[0, 2, 3]` "all but channel" pattern of NCHW) or added elementwise into a row of accumulators (leading or
 * middle axes). Accumulates in float64; max/min propagate NaN; the mean of nothing is NaN.
 * @param x - input
 * @param attrs - sorted axes and keepDims
 * @param kind - which reduction
 * @returns the output host tensor
 */
export function reduceFastImpl(x: HostTensor, attrs: ReduceAttrs, kind: ReduceKind): HostTensor {
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  const plan = planReduce(x.shape, attrs);
  const acc = new Float64Array(plan.nOut).fill(init);
  const v = x.values;
  forEachRow(plan, v.length, (o, p, len, reduceRow) => {
    if (reduceRow) acc[o] = foldRow(kind, acc[o]!, v, p, len);
    else foldVec(kind, acc, o, v, p, len);
  });
  const out = allocStorage(x.dtype, plan.nOut);
  if (kind === 'mean') for (let i = 0; i < acc.length; i++) out[i] = acc[i]! / plan.count;
  else out.set(acc);
  return { values: out, shape: plan.shape, dtype: x.dtype };
}

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
