// Import-time evaluation of shape arithmetic on constants (Shape → Gather → Concat → Reshape chains and the like).
import { FormatError } from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import type { NodeCtx } from './import-context.js';
import { checkDims, hasSym, MAX_TENSOR_ELEMENTS, type OnnxConst } from './import-tensor.js';

const T = TensorProto_DataType;
type Folder = (c: NodeCtx, ins: readonly OnnxConst[]) => OnnxConst | undefined;

const isFloatType = (t: number) => t === T.FLOAT || t === T.DOUBLE;

function make(type: number, shape: readonly number[], values: ArrayLike<number>): OnnxConst {
  const n = values.length;
  if (n > MAX_TENSOR_ELEMENTS)
    throw new FormatError(`importOnnx: folded constant of ${n} elements is too large`);
  let data: OnnxConst['data'];
  if (type === T.FLOAT) data = Float32Array.from(values);
  else if (type === T.INT32) data = Int32Array.from(values);
  else if (type === T.INT8) data = Int8Array.from(values);
  else if (type === T.UINT8 || type === T.BOOL) data = Uint8Array.from(values);
  else if (type === T.FLOAT16 || type === T.BFLOAT16) return undefined as never;
  else data = Float64Array.from(values);
  return { type, shape: [...shape], data };
}

const nums = (c: OnnxConst): number[] => Array.from(c.data as ArrayLike<number>);
const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Elementwise binary op with numpy broadcasting. */
function binary(f: (a: number, b: number, int: boolean) => number, outType?: number): Folder {
  return (_c, [a, b]) => {
    if (!a || !b || a.type === T.FLOAT16 || b.type === T.FLOAT16 || hasSym(a) || hasSym(b)) return undefined;
    const r = Math.max(a.shape.length, b.shape.length);
    const pa = [...Array<number>(r - a.shape.length).fill(1), ...a.shape];
    const pb = [...Array<number>(r - b.shape.length).fill(1), ...b.shape];
    const shape = pa.map((d, i) => (d === 1 ? pb[i]! : d));
    if (pa.some((d, i) => d !== shape[i] && d !== 1) || pb.some((d, i) => d !== shape[i] && d !== 1)) {
      return undefined;
    }
    const n = size(shape);
    if (n > MAX_TENSOR_ELEMENTS) return undefined;
    const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
    const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
    const so = strides(shape);
    const int = !isFloatType(a.type);
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      let ia = 0;
      let ib = 0;
      let rem = k;
      for (let d = 0; d < r; d++) {
        const q = Math.floor(rem / so[d]!);
        rem -= q * so[d]!;
        ia += q * sa[d]!;
        ib += q * sb[d]!;
      }
      out[k] = f(a.data[ia]!, b.data[ib]!, int);
    }
    return make(outType ?? a.type, shape, out);
  };
}

const gather: Folder = (c, [x, idx]) => {
  if (!x || !idx) return undefined;
  const axis = c.axis(c.int('axis', 0), x.shape.length);
  const outer = size(x.shape.slice(0, axis));
  const inner = size(x.shape.slice(axis + 1));
  const dim = x.shape[axis]!;
  const ids = nums(idx).map((i) => (i < 0 ? i + dim : i));
  if (ids.some((i) => i < 0 || i >= dim)) c.unsupported(`has an index out of range [0, ${dim})`);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const i of ids) for (let k = 0; k < inner; k++) out.push(x.data[(o * dim + i) * inner + k]!);
  }
  return make(x.type, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], out);
};

const concat: Folder = (c, ins) => {
  if (ins.length === 0 || ins.some((t) => t.shape.length !== 1 || t.type !== ins[0]!.type)) return undefined;
  c.axis(c.int('axis', 0), 1);
  const out = ins.flatMap(nums);
  return make(ins[0]!.type, [out.length], out);
};

function unsqueezeShape(c: NodeCtx, x: OnnxConst, axesIn?: readonly number[]): number[] {
  const axes = axesIn ?? c.intList('axes') ?? [];
  const r = x.shape.length + axes.length;
  const norm = new Set(axes.map((a) => c.axis(a, r, 'axes')));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(norm.has(i) ? 1 : x.shape[j++]!);
  return out;
}

function squeezeShape(c: NodeCtx, x: OnnxConst, axesIn?: readonly number[]): number[] {
  const axes = axesIn ?? c.intList('axes');
  if (!axes) return x.shape.filter((d) => d !== 1);
  const norm = new Set(axes.map((a) => c.axis(a, x.shape.length, 'axes')));
  return x.shape.filter((_, i) => !norm.has(i));
}

const slice1d: Folder = (c, [x, starts, ends, axes, steps]) => {
  if (x?.shape.length !== 1) return undefined;
  const st = starts ? nums(starts) : (c.intList('starts') ?? []);
  const en = ends ? nums(ends) : (c.intList('ends') ?? []);
  if (st.length !== 1 || en.length !== 1) return undefined;
  if (axes && nums(axes)[0] !== 0 && nums(axes)[0] !== -1) return undefined;
  const step = steps ? nums(steps)[0]! : 1;
  if (step === 0) c.unsupported('has a zero slice step');
  const d = x.shape[0]!;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
  const out: number[] = [];
  if (step > 0) {
    for (let i = clamp(st[0]!, 0, d), e = clamp(en[0]!, 0, d); i < e; i += step) out.push(x.data[i]!);
  } else {
    for (let i = clamp(st[0]!, 0, d - 1), e = clamp(en[0]!, -1, d - 1); i > e; i += step)
      out.push(x.data[i]!);
  }
  return make(x.type, [out.length], out);
};

function castType(to: number, v: number): number {
  if (to === T.FLOAT || to === T.DOUBLE || to === T.FLOAT16) return v;
  if (to === T.BOOL) return v ? 1 : 0;
  return Math.trunc(v);
}

/**
 * Folders: ONNX ops evaluated at import time when all their inputs are constants. Each returns the folded
 * output, or undefined to import the node normally.
 * @internal
 */
export const FOLDERS: Readonly<Record<string, Folder>> = {
  Identity: (_c, [x]) => x,
  Cast: (c, [x]) => {
    const to = c.int('to', 0);
    if (
      !x ||
      to === T.FLOAT16 ||
      to === T.BFLOAT16 ||
      x.type === T.FLOAT16 ||
      x.type === T.BFLOAT16 ||
      hasSym(x)
    ) {
      return undefined;
    }
    return make(
      to,
      x.shape,
      nums(x).map((v) => castType(to, v)),
    );
  },
  Gather: gather,
  Concat: concat,
  Unsqueeze: (c, [x, axes]) => x && { ...x, shape: unsqueezeShape(c, x, axes && nums(axes)) },
  Squeeze: (c, [x, axes]) => x && { ...x, shape: squeezeShape(c, x, axes && nums(axes)) },
  Reshape: (c, [x, shape]) => {
    if (!x || !shape) return undefined;
    const target = nums(shape).map((d, i) => (d === 0 && !c.int('allowzero', 0) ? x.shape[i]! : d));
    const known = target.reduce((a, d) => (d === -1 ? a : a * d), 1);
    const out = target.map((d) => (d === -1 ? size(x.shape) / known : d));
    if (size(out) !== size(x.shape) || !out.every(Number.isInteger))
      c.unsupported('has a bad constant reshape');
    return { ...x, shape: checkDims(out, c.where) };
  },
  Slice: slice1d,
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b, int) => (int ? Math.trunc(a / b) : a / b)),
  Equal: binary((a, b) => (a === b ? 1 : 0), T.BOOL),
  Neg: (_c, [x]) =>
    x &&
    make(
      x.type,
      x.shape,
      nums(x).map((v) => -v),
    ),
  ConstantOfShape: (c, [shape]) => {
    if (!shape) return undefined;
    if (hasSym(shape)) c.unsupported('needs a static shape (it depends on a dynamic dim)');
    const dims = checkDims(nums(shape), c.where);
    const v = c.tensorAttr('value');
    const fill = v ? Number(v.data[0] ?? 0) : 0;
    return make(v?.type ?? T.FLOAT, dims, new Array<number>(size(dims)).fill(fill));
  },
  Range: (c, [start, limit, delta]) => {
    if (!start || !limit || !delta) return undefined;
    const [s, l, d] = [start.data[0]!, limit.data[0]!, delta.data[0]!];
    const n = Math.max(Math.ceil((l - s) / d), 0);
    if (!Number.isFinite(n) || n > MAX_TENSOR_ELEMENTS) c.unsupported('produces too many elements');
    return make(
      start.type,
      [n],
      Array.from({ length: n }, (_, i) => s + i * d),
    );
  },
};
