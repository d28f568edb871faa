import type { CastAttrs, ClipAttrs, DType, KernelConfig, TypedArray } from '@tinyvision/tensor';
import {
  allocStorage,
  broadcastShapes,
  castValues,
  contiguousStrides,
  kernelNames as K,
  sizeOf,
} from '@tinyvision/tensor';
import { ALL, cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';
import { erfScalar } from './erf.js';

/**
 * Applies `f` elementwise over two broadcast inputs into a new array of `outDtype`. Same-size and scalar
 * operands take flat loops; other broadcasts walk the outer dims and run the innermost dim as a tight loop.
 * @param a - first input
 * @param b - second input
 * @param outDtype - output dtype
 * @param f - scalar function
 * @returns the output host tensor
 */
export function binaryImpl(
  a: HostTensor,
  b: HostTensor,
  outDtype: DType,
  f: (x: number, y: number) => number,
): HostTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  const out = allocStorage(outDtype, n);
  const av = a.values;
  const bv = b.values;
  if (n === 0) return { values: out, shape, dtype: outDtype };
  if (av.length === n && bv.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(av[i]!, bv[i]!);
  } else if (bv.length === 1) {
    const y = bv[0]!;
    for (let i = 0; i < n; i++) out[i] = f(av[i]!, y);
  } else if (av.length === 1) {
    const x = av[0]!;
    for (let i = 0; i < n; i++) out[i] = f(x, bv[i]!);
  } else {
    const rank = shape.length;
    const sa = bstrides(a.shape, shape);
    const sb = bstrides(b.shape, shape);
    const inner = shape[rank - 1]!;
    const ia = sa[rank - 1]!;
    const ib = sb[rank - 1]!;
    const idx = new Array<number>(rank).fill(0);
    let pa = 0;
    let pb = 0;
    for (let o = 0; o < n; o += inner) {
      for (let j = 0, qa = pa, qb = pb; j < inner; j++, qa += ia, qb += ib) out[o + j] = f(av[qa]!, bv[qb]!);
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]!++;
        pa += sa[d]!;
        pb += sb[d]!;
        if (idx[d]! < shape[d]!) break;
        pa -= sa[d]! * shape[d]!;
        pb -= sb[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }
  return { values: out, shape, dtype: outDtype };
}

/**
 * Contiguous strides of `shape` read as broadcast to `target` (0 on stretched dims).
 * @param shape - source shape
 * @param target - broadcast shape
 * @returns strides of length `target.length`
 */
export function bstrides(shape: readonly number[], target: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  const off = target.length - shape.length;
  return target.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]!));
}

/**
 * Applies `f` to every element.
 * @param x - input
 * @param f - scalar function
 * @param outDtype - output dtype (default: the input's)
 * @returns the output host tensor
 */
export function unaryImpl(x: HostTensor, f: (v: number) => number, outDtype: DType = x.dtype): HostTensor {
  const n = x.values.length;
  const out: TypedArray = allocStorage(outDtype, n);
  const v = x.values;
  for (let i = 0; i < n; i++) out[i] = f(v[i]!);
  return { values: out, shape: x.shape, dtype: outDtype };
}

/**
 * `where(cond, a, b)` with three-way broadcasting; copies raw storage (any dtype, 16-bit floats untouched).
 * @param cond - bool condition
 * @param a - values where true
 * @param b - values where false (same dtype as `a`)
 * @returns the output host tensor of `a`'s dtype
 */
export function whereImpl(cond: HostTensor, a: HostTensor, b: HostTensor): HostTensor {
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  const n = sizeOf(shape);
  const out = allocStorage(a.dtype, n);
  const cv = cond.values;
  const av = a.values;
  const bv = b.values;
  if (cv.length === n && av.length === n && bv.length === n) {
    for (let i = 0; i < n; i++) out[i] = cv[i] ? av[i]! : bv[i]!;
  } else if (cv.length === n && av.length === 1 && bv.length === n) {
    const x = av[0]!;
    for (let i = 0; i < n; i++) out[i] = cv[i] ? x : bv[i]!;
  } else if (cv.length === n && av.length === n && bv.length === 1) {
    const y = bv[0]!;
    for (let i = 0; i < n; i++) out[i] = cv[i] ? av[i]! : y;
  } else if (n > 0) {
    const rank = shape.length;
    const sc = bstrides(cond.shape, shape);
    const sa = bstrides(a.shape, shape);
    const sb = bstrides(b.shape, shape);
    const idx = new Array<number>(rank).fill(0);
    let pc = 0;
    let pa = 0;
    let pb = 0;
    for (let i = 0; i < n; i++) {
      out[i] = cv[pc] ? av[pa]! : bv[pb]!;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        pc += sc[d]!;
        pa += sa[d]!;
        pb += sb[d]!;
        if (idx[d]! < shape[d]!) break;
        pc -= sc[d]! * shape[d]!;
        pa -= sa[d]! * shape[d]!;
        pb -= sb[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }
  return { values: out, shape, dtype: a.dtype };
}

/** Integer division truncating toward zero (PyTorch `trunc` rounding mode for ints). */
function idiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

/** C `pow` semantics where JS differs: `pow(1, y)` and `pow(-1, ±Inf)` are 1. */
function powC(x: number, y: number): number {
  if (x === 1 || (x === -1 && !Number.isFinite(y) && !Number.isNaN(y))) return 1;
  return x ** y;
}

/**
 * Round half to even (`torch.round`, C `nearbyint`).
 * @param v - value
 * @returns the nearest integer, ties to even
 */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Clamp with NaN passing through and `min > max` giving `max` (`torch.clamp`).
 * @param x - input
 * @param attrs - bounds (missing = unbounded)
 * @returns the clamped host tensor
 */
export function clipImpl(x: HostTensor, attrs: ClipAttrs): HostTensor {
  const lo = attrs.min ?? Number.NEGATIVE_INFINITY;
  const hi = attrs.max ?? Number.POSITIVE_INFINITY;
  return unaryImpl(x, (v) => Math.min(Math.max(v, lo), hi));
}

function bin(
  name: string,
  f: (x: number, y: number) => number,
  fi: (x: number, y: number) => number = f,
  dtypes: readonly DType[] = NUMERIC,
): KernelConfig {
  return cpuKernel(name, ([a, b]) => [binaryImpl(a!, b!, a!.dtype, FLOATS.includes(a!.dtype) ? f : fi)], {
    dtypes,
    floatCompute: true,
  });
}

function cmp(name: string, f: (x: number, y: number) => number): KernelConfig {
  return cpuKernel(name, ([a, b]) => [binaryImpl(a!, b!, 'bool', f)], { dtypes: ALL, floatCompute: true });
}

function un(
  name: string,
  f: (v: number) => number,
  dtypes: readonly DType[] = FLOATS,
  fi: (v: number) => number = f,
): KernelConfig {
  return cpuKernel(name, ([x]) => [unaryImpl(x!, FLOATS.includes(x!.dtype) ? f : fi)], {
    dtypes,
    floatCompute: true,
  });
}

/**
 * Casts between dtypes (PyTorch `.to()` semantics).
 * @param x - input
 * @param attrs - target dtype
 * @returns the converted host tensor
 */
export function castImpl(x: HostTensor, attrs: CastAttrs): HostTensor {
  return { values: castValues(x.values, x.dtype, attrs.dtype), shape: x.shape, dtype: attrs.dtype };
}

const identity = (v: number) => v;

/** Elementwise CPU kernels. */
export const elementwiseKernels: KernelConfig[] = [
  bin(K.Add, (x, y) => x + y),
  bin(K.Sub, (x, y) => x - y),
  bin(
    K.Mul,
    (x, y) => x * y,
    (x, y) => Math.imul(x, y),
  ),
  bin(K.Div, (x, y) => x / y, idiv),
  bin(K.Pow, powC, powC, FLOATS),
  bin(K.Maximum, Math.max, Math.max, ALL),
  bin(K.Minimum, Math.min, Math.min, ALL),
  cmp(K.Equal, (x, y) => (x === y ? 1 : 0)),
  cmp(K.Greater, (x, y) => (x > y ? 1 : 0)),
  cmp(K.Less, (x, y) => (x < y ? 1 : 0)),
  cpuKernel(K.Where, ([c, a, b]) => [whereImpl(c!, a!, b!)], { dtypes: ['bool'] }),
  un(K.Neg, (v) => -v, NUMERIC),
  un(K.Abs, Math.abs, NUMERIC),
  un(K.Exp, Math.exp),
  un(K.Log, Math.log),
  un(K.Sqrt, Math.sqrt),
  un(K.Rsqrt, (v) => 1 / Math.sqrt(v)),
  un(
    K.Square,
    (v) => v * v,
    NUMERIC,
    (v) => Math.imul(v, v),
  ),
  un(K.Reciprocal, (v) => 1 / v),
  un(K.Floor, Math.floor, NUMERIC, identity),
  un(K.Round, roundHalfEven, NUMERIC, identity),
  un(K.Sign, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0), NUMERIC),
  un(K.Erf, erfScalar),
  un(K.Tanh, Math.tanh),
  un(K.Sigmoid, (v) => 1 / (1 + Math.exp(-v))),
  cpuKernel(K.Clip, ([x], attrs) => [clipImpl(x!, attrs as unknown as ClipAttrs)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.Cast, ([x], attrs) => [castImpl(x!, attrs as unknown as CastAttrs)], { dtypes: ALL }),
];
