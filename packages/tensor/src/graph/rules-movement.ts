import * as K from '../backend/kernel-names.js';
import {
  dimAdd,
  dimMul,
  dimProd,
  fmtDims,
  type InferContext,
  isStatic,
  type OutputInfo,
  type ShapeRule,
} from './infer-context.js';
import type { Dim, ValueInfo } from './types.js';

/**
 * Slice `end` at or above this value means "to the end of the dim" (used for dynamic-batch graphs, where the
 * traced batch size must not be baked into a full-range slice). Equals INT32_MAX, as ONNX/TFLite exporters expect.
 */
export const SLICE_END_MAX = 2147483647;

/** Output of a layout op: same dtype and quantization as `x`. */
function like(x: ValueInfo, shape: readonly Dim[]): OutputInfo {
  return x.quant ? { shape, dtype: x.dtype, quant: x.quant } : { shape, dtype: x.dtype };
}

const reshape: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const target = c.ints('shape', undefined, -1);
  const neg = target.indexOf(-1);
  if (neg !== target.lastIndexOf(-1)) c.graphError(`at most one -1 in shape [${target.join(',')}]`);
  const known = target.reduce((a, d, i) => (i === neg ? a : a * d), 1);
  const size = dimProd(x.shape);
  const out: Dim[] = [...target];
  if (isStatic(size)) {
    if (neg >= 0) {
      if (known === 0 || size % known !== 0)
        c.shapeError(`cannot infer -1 in [${target.join(',')}] for ${size} elements`);
      out[neg] = size / known;
    } else if (known !== size) {
      c.shapeError(`cannot reshape ${fmtDims(x.shape)} (${size} elements) to [${target.join(',')}]`);
    }
  } else if (neg >= 0) {
    const syms = x.shape.filter((d) => !isStatic(d));
    const stat = x.shape.reduce<number>((a, d) => (isStatic(d) ? a * d : a), 1);
    if (known === 0) c.shapeError(`cannot infer -1 in [${target.join(',')}] with a zero dim`);
    out[neg] =
      syms.length === 1 && stat % known === 0 ? dimMul(syms[0]!, stat / known) : `(${size})/${known}`;
  }
  return [like(x, out)];
};

const transpose: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const perm = c.ints('perm', x.shape.length, 0);
  if (new Set(perm).size !== perm.length || perm.some((p) => p >= perm.length)) {
    c.graphError(`'perm' [${perm.join(',')}] is not a permutation of rank ${x.shape.length}`);
  }
  return [
    like(
      x,
      perm.map((p) => x.shape[p]!),
    ),
  ];
};

const slice: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const r = x.shape.length;
  const begin = c.ints('begin', r, 0);
  const end = c.ints('end', r, 0);
  const steps = c.ints('steps', r, 1);
  const shape = x.shape.map((d, i): Dim => {
    const b = begin[i]!;
    const e = end[i]!;
    const s = steps[i]!;
    if (isStatic(d)) return Math.max(0, Math.ceil((Math.min(e, d) - Math.min(b, d)) / s));
    if (e < SLICE_END_MAX) return Math.max(0, Math.ceil((e - b) / s));
    if (b === 0 && s === 1) return d;
    return `slice(${d},${b},${s})`;
  });
  return [like(x, shape)];
};

const expand: ShapeRule = (c: InferContext) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const target = c.ints('shape', undefined, -1);
  const off = target.length - x.shape.length;
  if (off < 0) c.shapeError(`cannot expand ${fmtDims(x.shape)} to lower rank [${target.join(',')}]`);
  const shape = target.map((t, i): Dim => {
    const d = i < off ? undefined : x.shape[i - off]!;
    if (t === -1) {
      if (d === undefined) c.graphError(`-1 in a new leading dim of shape [${target.join(',')}]`);
      return d;
    }
    if (d === undefined || d === t || d === 1) return t;
    if (!isStatic(d)) return t;
    return c.shapeError(`${fmtDims(x.shape)} cannot expand to [${target.join(',')}] (dim ${i})`);
  });
  return [like(x, shape)];
};

const concat: ShapeRule = (c) => {
  if (c.inputs.length < 1) c.graphError('expects at least 1 input');
  const xs = c.inputs.map((_, i) => c.input(i, `x${i}`));
  const first = xs[0]!;
  const r = first.shape.length;
  const axis = c.axis('axis', r);
  let total: Dim = 0;
  xs.forEach((x, i) => {
    c.sameDType(first, x, 'x0', `x${i}`);
    if (x.shape.length !== r)
      c.shapeError(`'x${i}' ${fmtDims(x.shape)} rank differs from 'x0' ${fmtDims(first.shape)}`);
    x.shape.forEach((d, j) => {
      if (j !== axis) c.sameDim(d, first.shape[j]!, `'x${i}' dim ${j} vs 'x0'`);
    });
    total = dimAdd(total, x.shape[axis]!);
  });
  return [
    like(
      first,
      first.shape.map((d, j) => (j === axis ? total : d)),
    ),
  ];
};

const pad: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const pads = c.ints('pads', 2 * x.shape.length);
  c.str('mode', ['constant', 'reflect', 'edge']);
  c.num('value', true);
  const shape = x.shape.map((d, i) => {
    const o = dimAdd(d, pads[2 * i]! + pads[2 * i + 1]!);
    if (isStatic(o) && o < 0)
      c.shapeError(`pads [${pads.join(',')}] crop dim ${i} of ${fmtDims(x.shape)} below 0`);
    return o;
  });
  return [like(x, shape)];
};

function indicesOf(c: InferContext, i: number): ValueInfo {
  const idx = c.input(i, 'indices');
  c.dtypeIn(idx, ['int32'], 'indices');
  return idx;
}

const gather: ShapeRule = (c) => {
  c.arity(2);
  const x = c.input(0, 'x');
  const idx = indicesOf(c, 1);
  const axis = c.axis('axis', x.shape.length);
  return [like(x, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)])];
};

const gatherGrad: ShapeRule = (c) => {
  c.arity(2);
  const dy = c.input(0, 'dy');
  const idx = indicesOf(c, 1);
  const axis = c.int('axis', 0);
  const size = c.int('size', 0);
  if (axis + idx.shape.length > dy.shape.length)
    c.shapeError(`axis ${axis} out of range for 'dy' ${fmtDims(dy.shape)}`);
  return [
    {
      shape: [...dy.shape.slice(0, axis), size, ...dy.shape.slice(axis + idx.shape.length)],
      dtype: dy.dtype,
    },
  ];
};

const stridedCopy: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const target = c.ints('shape', undefined, -1);
  const strides = c.ints('strides', target.length);
  const offset = c.int('offset', 0);
  const shape = target.map((d, i): Dim => {
    if (d !== -1) return d;
    if (target.length !== x.shape.length)
      c.graphError(`-1 in shape [${target.join(',')}] needs the input's rank`);
    return x.shape[i]!;
  });
  const size = dimProd(x.shape);
  if (isStatic(size) && shape.every(isStatic) && shape.every((d) => d > 0)) {
    let lo = offset;
    let hi = offset;
    shape.forEach((d, i) => {
      const span = (d - 1) * strides[i]!;
      if (span < 0) lo += span;
      else hi += span;
    });
    if (lo < 0 || hi >= size) {
      c.shapeError(
        `view [${shape.join(',')}] strides [${strides.join(',')}] offset ${offset} reads outside the ${size}-element input`,
      );
    }
  }
  return [like(x, shape)];
};

const flip: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const axes = c.ints('axes', undefined, 0);
  if (axes.some((a, i) => a >= Math.max(x.shape.length, 1) || (i > 0 && a <= axes[i - 1]!))) {
    c.graphError(`'axes' [${axes.join(',')}] must be sorted unique axes < rank ${x.shape.length}`);
  }
  return [like(x, x.shape)];
};

const tile: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const reps = c.ints('reps', undefined, 0);
  const off = reps.length - x.shape.length;
  if (off < 0) c.shapeError(`'reps' [${reps.join(',')}] shorter than rank of ${fmtDims(x.shape)}`);
  return [
    like(
      x,
      reps.map((r, i) => dimMul(i < off ? 1 : x.shape[i - off]!, r)),
    ),
  ];
};

const gatherElements: ShapeRule = (c) => {
  c.arity(2);
  const x = c.input(0, 'x');
  const idx = indicesOf(c, 1);
  c.axis('axis', x.shape.length);
  if (idx.shape.length !== x.shape.length)
    c.shapeError(`'indices' ${fmtDims(idx.shape)} rank differs from 'x' ${fmtDims(x.shape)}`);
  return [like(x, idx.shape)];
};

const gatherElementsGrad: ShapeRule = (c) => {
  c.arity(2);
  const dy = c.input(0, 'dy');
  indicesOf(c, 1);
  const shape = c.ints('shape', undefined, 0);
  c.axis('axis', shape.length);
  return [{ shape, dtype: dy.dtype }];
};

/** Shape rules of the movement kernels (views, copies, gathers). */
export const movementRules: Readonly<Record<string, ShapeRule>> = {
  [K.Reshape]: reshape,
  [K.Transpose]: transpose,
  [K.Slice]: slice,
  [K.Expand]: expand,
  [K.Concat]: concat,
  [K.Pad]: pad,
  [K.Gather]: gather,
  [K.GatherGrad]: gatherGrad,
  [K.StridedCopy]: stridedCopy,
  [K.Flip]: flip,
  [K.Tile]: tile,
  [K.GatherElements]: gatherElements,
  [K.GatherElementsGrad]: gatherElementsGrad,
};
