import type { KernelConfig, PadAttrs, StridedCopyAttrs } from '@tinyvision/tensor';
import { allocStorage, fromFloat32, kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { ALL, cpuKernel, type HostTensor, NUMERIC } from '../host.js';
import { type Bits, bitsView } from './movement-bits.js';
import { gatherElementsGradImpl, gatherElementsImpl, gatherGradImpl, gatherImpl } from './movement-gather.js';

/** Side of the square tiles used by the blocked transpose copy. */
const TILE = 32;

/**
 * Merges adjacent dims that are laid out contiguously with respect to each other and drops size-1 dims,
 * so `[N,C,H,W]` permuted to NHWC becomes the 3-D `[N, H·W, C]` walk.
 * @param shape - view shape
 * @param strides - view strides (any sign)
 * @returns an equivalent walk with fewer dims (empty for a one-element view)
 */
export function coalesceDims(
  shape: readonly number[],
  strides: readonly number[],
): { shape: number[]; strides: number[] } {
  const sh: number[] = [];
  const st: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const s = strides[d]!;
    const last = sh.length - 1;
    if (last >= 0 && st[last] === s * n) {
      sh[last]! *= n;
      st[last] = s;
    } else {
      sh.push(n);
      st.push(s);
    }
  }
  return { shape: sh, strides: st };
}

/** Calls `fn(srcBase, dstBase)` for every index of the first `k` dims of a coalesced walk. */
function forEachOuter(
  shape: readonly number[],
  strides: readonly number[],
  k: number,
  offset: number,
  innerSize: number,
  fn: (src: number, dst: number) => void,
): void {
  let count = 1;
  for (let d = 0; d < k; d++) count *= shape[d]!;
  const idx = new Array<number>(k).fill(0);
  let p = offset;
  for (let i = 0; i < count; i++) {
    fn(p, i * innerSize);
    for (let d = k - 1; d >= 0; d--) {
      idx[d]!++;
      p += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * Gathers a strided view of flat storage into a contiguous array. Fast paths: plain copies, strided rows,
 * and a tiled transpose when the innermost source-contiguous dim is the second-to-last output dim
 * (NCHW↔NHWC, last-two-dims transposes).
 * @param x - flat source
 * @param attrs - view shape, strides (may be 0 or negative) and offset
 * @returns the contiguous host tensor
 */
export function stridedCopyImpl(x: HostTensor, attrs: StridedCopyAttrs): HostTensor {
  const { shape, offset } = attrs;
  const n = sizeOf(shape);
  const out = allocStorage(x.dtype, n);
  const result: HostTensor = { values: out, shape, dtype: x.dtype, quant: x.quant };
  if (n === 0) return result;
  const v = bitsView(x.values);
  const o = bitsView(out);
  const { shape: cs, strides: ss } = coalesceDims(shape, attrs.strides);
  const r = cs.length;
  if (r === 0) {
    o[0] = v[offset]!;
    return result;
  }
  const last = cs[r - 1]!;
  const sl = ss[r - 1]!;
  if (r >= 2 && ss[r - 2] === 1 && sl !== 1) {
    const rows = cs[r - 2]!;
    forEachOuter(cs, ss, r - 2, offset, rows * last, (src, dst) =>
      transposeBlock(v, src, sl, o, dst, rows, last),
    );
    return result;
  }
  forEachOuter(cs, ss, r - 1, offset, last, (src, dst) => copyRow(v, src, sl, o, dst, last));
  return result;
}

function copyRow(v: Bits, src: number, stride: number, out: Bits, dst: number, len: number) {
  if (stride === 1 && len >= 16) {
    out.set(v.subarray(src, src + len), dst);
    return;
  }
  for (let j = 0; j < len; j++, src += stride) out[dst + j] = v[src]!;
}

/**
 * out[dst + i·cols + j] = v[src + i + j·colStride] for i < rows, j < cols, in cache-friendly tiles (reads
 * run along the source-contiguous i). 32-bit storage gets its own copy so its element access stays monomorphic.
 */
function transposeBlock(
  v: Bits,
  src: number,
  colStride: number,
  out: Bits,
  dst: number,
  rows: number,
  cols: number,
) {
  if (v instanceof Int32Array) {
    transposeBlock32(v, src, colStride, out as Int32Array, dst, rows, cols);
    return;
  }
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let j = j0; j < j1; j++) {
        const p = src + j * colStride;
        for (let i = i0, o = dst + i0 * cols + j; i < i1; i++, o += cols) out[o] = v[p + i]!;
      }
    }
  }
}

function transposeBlock32(
  v: Int32Array,
  src: number,
  colStride: number,
  out: Int32Array,
  dst: number,
  rows: number,
  cols: number,
) {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let j = j0; j < j1; j++) {
        const p = src + j * colStride;
        for (let i = i0, o = dst + i0 * cols + j; i < i1; i++, o += cols) out[o] = v[p + i]!;
      }
    }
  }
}

/**
 * Joins contiguous inputs along `axis` (all dims but `axis` equal; checked by the op).
 * @param xs - inputs of one dtype
 * @param axis - non-negative axis
 * @returns the concatenation
 */
export function concatImpl(xs: readonly HostTensor[], axis: number): HostTensor {
  const first = xs[0]!;
  const shape = [...first.shape];
  shape[axis] = xs.reduce((a, t) => a + t.shape[axis]!, 0);
  const out = allocStorage(first.dtype, sizeOf(shape));
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const outChunk = shape[axis]! * inner;
  const ob = bitsView(out);
  let base = 0;
  for (const t of xs) {
    const chunk = t.shape[axis]! * inner;
    const v = bitsView(t.values);
    for (let o = 0; o < outer; o++) {
      const s = o * chunk;
      const d = o * outChunk + base;
      if (chunk >= 32) ob.set(v.subarray(s, s + chunk), d);
      else for (let j = 0; j < chunk; j++) ob[d + j] = v[s + j]!;
    }
    base += chunk;
  }
  return { values: out, shape, dtype: first.dtype, quant: first.quant };
}

/** Source index along one dim for each output position (-1: constant fill). */
function padIndexMap(n: number, before: number, after: number, mode: PadAttrs['mode']): Int32Array {
  const map = new Int32Array(Math.max(0, n + before + after));
  for (let o = 0; o < map.length; o++) {
    let i = o - before;
    if (i < 0 || i >= n) {
      if (mode === 'constant') i = -1;
      else if (mode === 'edge') i = i < 0 ? 0 : n - 1;
      else i = i < 0 ? -i : 2 * (n - 1) - i;
    }
    map[o] = i;
  }
  return map;
}

/**
 * Pads (or, with negative pads, crops) every dim. Values are copied as raw storage, so every dtype works.
 * @param x - input
 * @param attrs - per-dim `[before0, after0, …]`, mode and constant value
 * @returns the padded tensor
 */
export function padImpl(x: HostTensor, attrs: PadAttrs): HostTensor {
  const rank = x.shape.length;
  const shape = x.shape.map((n, d) => n + attrs.pads[2 * d]! + attrs.pads[2 * d + 1]!);
  const size = sizeOf(shape);
  const out = allocStorage(x.dtype, size);
  const result: HostTensor = { values: out, shape, dtype: x.dtype, quant: x.quant };
  if (size === 0) return result;
  const v = bitsView(x.values);
  const ob = bitsView(out);
  if (rank === 0) {
    ob[0] = v[0]!;
    return result;
  }
  const fill = bitsView(fromFloat32([attrs.value], x.dtype))[0]!;
  const maps = x.shape.map((n, d) => padIndexMap(n, attrs.pads[2 * d]!, attrs.pads[2 * d + 1]!, attrs.mode));
  const inStrides = new Array<number>(rank);
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = acc;
    acc *= x.shape[d]!;
  }
  const lastMap = maps[rank - 1]!;
  const width = shape[rank - 1]!;
  const rows = size / width;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < rows; row++) {
    let src = 0;
    for (let d = 0; d < rank - 1; d++) {
      const i = maps[d]![idx[d]!]!;
      if (i < 0) {
        src = -1;
        break;
      }
      src += i * inStrides[d]!;
    }
    const dst = row * width;
    if (src < 0) ob.fill(fill, dst, dst + width);
    else {
      for (let j = 0; j < width; j++) {
        const i = lastMap[j]!;
        ob[dst + j] = i < 0 ? fill : v[src + i]!;
      }
    }
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return result;
}

/** Movement CPU kernels (views need no kernel). */
export const movementKernels: KernelConfig[] = [
  cpuKernel(K.StridedCopy, ([x], a) => [stridedCopyImpl(x!, a as unknown as StridedCopyAttrs)], {
    dtypes: ALL,
  }),
  cpuKernel(K.Concat, (xs, a) => [concatImpl(xs as HostTensor[], a.axis as number)], { dtypes: ALL }),
  cpuKernel(K.Pad, ([x], a) => [padImpl(x!, a as unknown as PadAttrs)], { dtypes: ALL }),
  cpuKernel(K.Gather, ([x, i], a) => [gatherImpl(x!, i!, a.axis as number)], { dtypes: ALL }),
  cpuKernel(K.GatherGrad, ([dy, i], a) => [gatherGradImpl(dy!, i!, a.axis as number, a.size as number)], {
    dtypes: NUMERIC,
    floatCompute: true,
  }),
  cpuKernel(K.GatherElements, ([x, i], a) => [gatherElementsImpl(x!, i!, a.axis as number)], {
    dtypes: ALL,
  }),
  cpuKernel(
    K.GatherElementsGrad,
    ([dy, i], a) => [gatherElementsGradImpl(dy!, i!, a.axis as number, a.shape as number[])],
    { dtypes: NUMERIC, floatCompute: true },
  ),
];
