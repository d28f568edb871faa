import type { CastAttrs, DType, KernelConfig, TypedArray } from '@tinyvision/tensor';
import {
  allocStorage,
  broadcastShapes,
  castValues,
  contiguousStrides,
  kernelNames as K,
  sizeOf,
} from '@tinyvision/tensor';
import { ALL, cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';

/**
 * Applies `f` elementwise over two broadcast inputs into a new array of `outDtype`.
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
    const idx = new Array<number>(rank).fill(0);
    let pa = 0;
    let pb = 0;
    for (let i = 0; i < n; i++) {
      out[i] = f(av[pa]!, bv[pb]!);
      for (let d = rank - 1; d >= 0; d--) {
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

/** Integer division truncating toward zero (PyTorch `trunc` rounding mode for ints). */
function idiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

function bin(
  name: string,
  f: (x: number, y: number) => number,
  fi?: (x: number, y: number) => number,
): KernelConfig {
  return cpuKernel(
    name,
    ([a, b]) => [binaryImpl(a!, b!, a!.dtype, FLOATS.includes(a!.dtype) ? f : (fi ?? f))],
    { dtypes: NUMERIC, floatCompute: true },
  );
}

function un(name: string, f: (v: number) => number, dtypes: readonly DType[] = FLOATS): KernelConfig {
  return cpuKernel(name, ([x]) => [unaryImpl(x!, f)], { dtypes, floatCompute: true });
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
  un(K.Neg, (v) => -v, NUMERIC),
  un(K.Exp, Math.exp),
  un(K.Log, Math.log),
  un(K.Sqrt, Math.sqrt),
  cpuKernel(K.Cast, ([x], attrs) => [castImpl(x!, attrs as unknown as CastAttrs)], { dtypes: ALL }),
];
