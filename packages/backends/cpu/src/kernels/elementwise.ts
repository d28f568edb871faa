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
import { forEachRow, planBroadcast } from './broadcast-plan.js';
import { erfScalar } from './erf.js';

/** Binary ops with a specialised loop in {@link binaryImpl} (no per-element callback). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'greater' | 'less' | 'equal';

/** One row of a binary op: `len` outputs from `o`, operands from `qa`/`qb` with strides `ia`/`ib` (0 or 1). */
function binaryRow(
  op: BinaryOp | undefined,
  f: (x: number, y: number) => number,
  out: TypedArray,
  o: number,
  len: number,
  av: TypedArray,
  qa: number,
  ia: number,
  bv: TypedArray,
  qb: number,
  ib: number,
): void {
  const end = o + len;
  switch (op) {
    case 'add':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = av[qa]! + bv[qb]!;
      return;
    case 'sub':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = av[qa]! - bv[qb]!;
      return;
    case 'mul':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = av[qa]! * bv[qb]!;
      return;
    case 'div':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = av[qa]! / bv[qb]!;
      return;
    case 'greater':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = +(av[qa]! > bv[qb]!);
      return;
    case 'less':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = +(av[qa]! < bv[qb]!);
      return;
    case 'equal':
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = +(av[qa]! === bv[qb]!);
      return;
    default:
      for (let i = o; i < end; i++, qa += ia, qb += ib) out[i] = f(av[qa]!, bv[qb]!);
  }
}

/**
 * Applies `f` elementwise over two broadcast inputs into a new array of `outDtype`. The output is walked in
 * rows of the largest trailing block over which each operand is contiguous or constant (see
 * {@link planBroadcast}): same-shape and scalar operands are one row, `[N,C,H,W] ∘ [1,C,1,1]` is N·C rows of
 * H·W against a scalar.
 * @param a - first input
 * @param b - second input
 * @param outDtype - output dtype
 * @param f - scalar function
 * @param op - when given, a specialised loop computing the same as `f` (JS number semantics)
 * @returns the output host tensor
 */
export function binaryImpl(
  a: HostTensor,
  b: HostTensor,
  outDtype: DType,
  f: (x: number, y: number) => number,
  op?: BinaryOp,
): HostTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  const out = allocStorage(outDtype, n);
  if (n === 0) return { values: out, shape, dtype: outDtype };
  const plan = planBroadcast(shape, [a.shape, b.shape]);
  const last = plan.ext.length - 1;
  const len = plan.ext[last]!;
  const ia = plan.strides[0]![last]!;
  const ib = plan.strides[1]![last]!;
  const av = a.values;
  const bv = b.values;
  forEachRow(plan, n, (o, p) => binaryRow(op, f, out, o, len, av, p[0]!, ia, bv, p[1]!, ib));
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

type Bits = Int8Array | Int16Array | Int32Array;

/** The raw bits of a typed array as a signed integer view of the same element width (no copy). */
function bitsOf(t: TypedArray): Bits {
  const w = t.BYTES_PER_ELEMENT;
  if (w === 4) return new Int32Array(t.buffer, t.byteOffset, t.length);
  if (w === 2) return new Int16Array(t.buffer, t.byteOffset, t.length);
  return new Int8Array(t.buffer, t.byteOffset, t.length);
}

/**
 * One row of `where` on raw bits: `len` outputs from `o`, operands from `qc`/`qa`/`qb` with strides 0 or 1.
 * Branch-free (a mask from the condition selects the bits), so random conditions cost no mispredictions.
 */
function whereRow(
  out: Bits,
  o: number,
  len: number,
  cv: TypedArray,
  qc: number,
  ic: number,
  av: Bits,
  qa: number,
  ia: number,
  bv: Bits,
  qb: number,
  ib: number,
): void {
  for (let i = o, end = o + len; i < end; i++, qc += ic, qa += ia, qb += ib) {
    const c = cv[qc]!;
    const m = (c | -c) >> 31; // -1 when c != 0, else 0
    out[i] = (av[qa]! & m) | (bv[qb]! & ~m);
  }
}

/**
 * `where(cond, a, b)` with three-way broadcasting; copies raw storage (any dtype, 16-bit floats untouched).
 * Walks rows of the largest trailing block over which each operand is contiguous or constant, selecting bits.
 * @param cond - bool condition
 * @param a - values where true
 * @param b - values where false (same dtype as `a`)
 * @returns the output host tensor of `a`'s dtype
 */
export function whereImpl(cond: HostTensor, a: HostTensor, b: HostTensor): HostTensor {
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  const n = sizeOf(shape);
  const out = allocStorage(a.dtype, n);
  if (n === 0) return { values: out, shape, dtype: a.dtype };
  const cv = cond.values;
  const av = bitsOf(a.values);
  const bv = bitsOf(b.values);
  const bits = bitsOf(out);
  const plan = planBroadcast(shape, [cond.shape, a.shape, b.shape]);
  const last = plan.ext.length - 1;
  const len = plan.ext[last]!;
  const [ic, ia, ib] = plan.strides.map((s) => s[last]!) as [number, number, number];
  forEachRow(plan, n, (o, p) => whereRow(bits, o, len, cv, p[0]!, ic, av, p[1]!, ia, bv, p[2]!, ib));
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

/** The binary kernels with a specialised loop in {@link binaryImpl} (arithmetic ones for float dtypes only). */
const SPECIALISED: Readonly<Record<string, BinaryOp>> = {
  [K.Add]: 'add',
  [K.Sub]: 'sub',
  [K.Mul]: 'mul',
  [K.Div]: 'div',
  [K.Greater]: 'greater',
  [K.Less]: 'less',
  [K.Equal]: 'equal',
};

function bin(
  name: string,
  f: (x: number, y: number) => number,
  fi: (x: number, y: number) => number = f,
  dtypes: readonly DType[] = NUMERIC,
): KernelConfig {
  const op = SPECIALISED[name];
  return cpuKernel(
    name,
    ([a, b]) => {
      const float = FLOATS.includes(a!.dtype);
      return [binaryImpl(a!, b!, a!.dtype, float ? f : fi, float ? op : undefined)];
    },
    { dtypes, floatCompute: true },
  );
}

function cmp(name: string, f: (x: number, y: number) => number): KernelConfig {
  const op = SPECIALISED[name];
  return cpuKernel(name, ([a, b]) => [binaryImpl(a!, b!, 'bool', f, op)], {
    dtypes: ALL,
    floatCompute: true,
  });
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
