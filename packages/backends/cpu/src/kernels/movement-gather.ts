import { allocStorage, contiguousStrides, InvalidArgumentError, sizeOf } from '@tinyvision/tensor';
import type { HostTensor } from '../host.js';
import { type Bits, bitsView } from './movement-bits.js';

/** Position of flat element `i` of `shape`, formatted `[a,b,c]`. */
function position(i: number, shape: readonly number[]): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = i % n;
    i = Math.floor(i / n);
  }
  return `[${idx.join(',')}]`;
}

/** Throws when an index is outside `[0, n)`. */
function checkIndices(kernel: string, idx: HostTensor, n: number, axis: number): void {
  const v = idx.values;
  for (let i = 0; i < v.length; i++) {
    const k = v[i]!;
    if (k < 0 || k >= n) {
      throw new InvalidArgumentError(
        `${kernel}: index ${k} at position ${position(i, idx.shape)} of 'indices' is out of range [0, ${n}) for axis ${axis}`,
      );
    }
  }
}

function copyChunk(src: Bits, s: number, dst: Bits, d: number, len: number): void {
  if (len >= 32) dst.set(src.subarray(s, s + len), d);
  else for (let j = 0; j < len; j++) dst[d + j] = src[s + j]!;
}

/**
 * Selects slices along `axis` by index (torch.index_select for 1-D indices; ONNX Gather for any rank).
 * @param x - input
 * @param indices - int32 indices in `[0, x.shape[axis])`
 * @param axis - non-negative axis
 * @returns tensor of shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`
 * @throws {InvalidArgumentError} naming the first out-of-range index and its position
 */
export function gatherImpl(x: HostTensor, indices: HostTensor, axis: number): HostTensor {
  const n = x.shape[axis]!;
  checkIndices('gather', indices, n, axis);
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = allocStorage(x.dtype, sizeOf(shape));
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const iv = indices.values;
  const k = iv.length;
  const v = bitsView(x.values);
  const ob = bitsView(out);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) copyChunk(v, (o * n + iv[j]!) * inner, ob, (o * k + j) * inner, inner);
  }
  return { values: out, shape, dtype: x.dtype, quant: x.quant };
}

/**
 * Gradient of {@link gatherImpl}: scatter-adds `dy` back along `axis` (repeated indices accumulate).
 * @param dy - upstream gradient, shape `pre + indices.shape + post`
 * @param indices - the forward indices
 * @param axis - non-negative axis
 * @param size - length of the forward input's `axis`
 * @returns tensor of shape `pre + [size] + post`
 * @throws {InvalidArgumentError} for an out-of-range index
 */
export function gatherGradImpl(dy: HostTensor, indices: HostTensor, axis: number, size: number): HostTensor {
  checkIndices('gatherGrad', indices, size, axis);
  const pre = dy.shape.slice(0, axis);
  const post = dy.shape.slice(axis + indices.shape.length);
  const shape = [...pre, size, ...post];
  const out = allocStorage(dy.dtype, sizeOf(shape));
  const outer = sizeOf(pre);
  const inner = sizeOf(post);
  const iv = indices.values;
  const k = iv.length;
  const g = dy.values;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const d = (o * size + iv[j]!) * inner;
      const s = (o * k + j) * inner;
      for (let t = 0; t < inner; t++) out[d + t]! += g[s + t]!;
    }
  }
  return { values: out, shape, dtype: dy.dtype };
}

/** Calls `fn(flatIndexPos, xOffsetWithoutAxis)` over every element of `idxShape` read against x's strides. */
function walkElements(
  idxShape: readonly number[],
  xStrides: readonly number[],
  axis: number,
  fn: (i: number, base: number) => void,
): void {
  const rank = idxShape.length;
  const n = sizeOf(idxShape);
  const pos = new Array<number>(rank).fill(0);
  let base = 0;
  for (let i = 0; i < n; i++) {
    fn(i, base);
    for (let d = rank - 1; d >= 0; d--) {
      pos[d]!++;
      if (d !== axis) base += xStrides[d]!;
      if (pos[d]! < idxShape[d]!) break;
      if (d !== axis) base -= xStrides[d]! * idxShape[d]!;
      pos[d] = 0;
    }
  }
}

/**
 * Picks one element along `axis` per index (torch.gather / ONNX GatherElements).
 * @param x - input
 * @param indices - int32, same rank as x, `indices.shape[d] <= x.shape[d]` for `d != axis`
 * @param axis - non-negative axis
 * @returns tensor of the indices' shape
 * @throws {InvalidArgumentError} naming the first out-of-range index and its position
 */
export function gatherElementsImpl(x: HostTensor, indices: HostTensor, axis: number): HostTensor {
  checkIndices('takeAlongAxis', indices, x.shape[axis]!, axis);
  const out = allocStorage(x.dtype, indices.values.length);
  const xs = contiguousStrides(x.shape);
  const sa = xs[axis]!;
  const v = bitsView(x.values);
  const ob = bitsView(out);
  const iv = indices.values;
  walkElements(indices.shape, xs, axis, (i, base) => {
    ob[i] = v[base + iv[i]! * sa]!;
  });
  return { values: out, shape: indices.shape, dtype: x.dtype, quant: x.quant };
}

/**
 * Gradient of {@link gatherElementsImpl}: scatter-adds `dy` into zeros of `shape` (repeats accumulate).
 * @param dy - upstream gradient of the indices' shape
 * @param indices - the forward indices
 * @param axis - non-negative axis
 * @param shape - the forward input's shape
 * @returns tensor of `shape`
 * @throws {InvalidArgumentError} for an out-of-range index
 */
export function gatherElementsGradImpl(
  dy: HostTensor,
  indices: HostTensor,
  axis: number,
  shape: readonly number[],
): HostTensor {
  checkIndices('takeAlongAxisGrad', indices, shape[axis]!, axis);
  const out = allocStorage(dy.dtype, sizeOf(shape));
  const xs = contiguousStrides(shape);
  const sa = xs[axis]!;
  const g = dy.values;
  const iv = indices.values;
  walkElements(indices.shape, xs, axis, (i, base) => {
    out[base + iv[i]! * sa]! += g[i]!;
  });
  return { values: out, shape, dtype: dy.dtype };
}
