// ONNX → graph op table, part 2: reshapes, slices, gathers, padding and other layout ops.
import { type Dim, SLICE_END_MAX } from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import type { NodeCtx } from './import-context.js';
import { isSym, SYM_BASE } from './import-tensor.js';

type Importer = (c: NodeCtx) => void;

/** Reshape attrs for `dims`: static dims stay, one symbolic dim becomes -1. */
export function reshapeAttr(c: NodeCtx, dims: readonly Dim[]): number[] {
  const sym = dims.filter((d) => typeof d !== 'number');
  if (sym.length > 1) c.unsupported(`needs a static target shape, got [${dims.join(',')}]`);
  return dims.map((d) => (typeof d === 'number' ? d : -1));
}

/** Reshape `x` to `dims`, writing ONNX output `out` when given. */
export function reshapeTo(c: NodeCtx, x: string, dims: readonly Dim[], out?: number): string {
  const attrs = { shape: reshapeAttr(c, dims) };
  return out === undefined ? c.tmp('Reshape', [x], attrs) : c.final('Reshape', [x], attrs, out);
}

const prod = (dims: readonly Dim[]): Dim =>
  dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, d) => a * d, 1) : '?';

const reshape: Importer = (c: NodeCtx) => {
  const shape = c.opset >= 5 ? c.dims(1, 'shape') : (c.intList('shape') ?? []);
  const allowZero = c.int('allowzero', 0) === 1;
  const xs = c.shape(0);
  // 0 copies the input dim; a sentinel is a symbolic dim carried from a Shape
  let dims: Dim[] = shape.map((d, i) => {
    if (d === 0 && !allowZero) return xs[i]!;
    if (isSym(d)) return c.s.symbols[SYM_BASE - d] ?? c.unsupported('has an unknown symbolic dim');
    return d;
  });
  const open = () => dims.filter((d) => typeof d !== 'number' || d === -1).length;
  if (open() > 1 && dims.includes(-1)) {
    // [N, -1] of [N, C, H, W]: cancel the target's symbols against the input's, then the -1 is static
    const rest: Dim[] = [...xs];
    for (const d of dims) if (typeof d === 'string' && rest.includes(d)) rest.splice(rest.indexOf(d), 1);
    const known = dims.reduce<number>((a, d) => (typeof d === 'number' && d !== -1 ? a * d : a), 1);
    if (rest.every((d) => typeof d === 'number') && known > 0) {
      const total = (rest as number[]).reduce((a, d) => a * d, 1);
      dims = dims.map((d) => (d === -1 ? total / known : d));
    }
  }
  if (open() > 1) c.unsupported(`has more than one dynamic dim in its target shape [${dims.join(',')}]`);
  c.final('Reshape', [c.x(0)], { shape: dims.map((d) => (typeof d === 'number' ? d : -1)) });
};

const flatten: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const a = c.int('axis', 1);
  if (a < -xs.length || a > xs.length) c.unsupported(`'axis' ${a} is out of range for rank ${xs.length}`);
  const axis = a < 0 ? a + xs.length : a;
  reshapeTo(c, c.x(0), [prod(xs.slice(0, axis)), prod(xs.slice(axis))], 0);
};

function unsqueezeDims(c: NodeCtx, xs: readonly Dim[], axes: readonly number[]): Dim[] {
  const r = xs.length + axes.length;
  const set = new Set(axes.map((a) => c.axis(a, r, 'axes')));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : xs[j++]!);
  return out;
}

const squeeze: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const axes = c.opset >= 13 ? (c.has(1) ? c.ints(1, 'axes') : undefined) : c.intList('axes');
  let dims: Dim[];
  if (!axes) dims = xs.filter((d) => d !== 1);
  else {
    const set = new Set(axes.map((a) => c.axis(a, xs.length, 'axes')));
    dims = xs.filter((_, i) => !set.has(i));
  }
  reshapeTo(c, c.x(0), dims, 0);
};

const unsqueeze: Importer = (c: NodeCtx) => {
  const axes = c.opset >= 13 ? c.ints(1, 'axes') : (c.intList('axes') ?? []);
  reshapeTo(c, c.x(0), unsqueezeDims(c, c.shape(0), axes), 0);
};

const transpose: Importer = (c: NodeCtx) => {
  const r = c.shape(0).length;
  const perm = c.intList('perm') ?? [...Array(r).keys()].reverse();
  c.final('Transpose', [c.x(0)], { perm: perm.map((p) => c.axis(p, r, 'perm')) });
};

const concat: Importer = (c: NodeCtx) => {
  const ins = [...Array(c.nIn).keys()].filter((i) => c.has(i));
  const axis = c.axis(c.int('axis', c.opset < 4 ? 1 : 0), c.shape(ins[0]).length);
  c.final(
    'Concat',
    ins.map((i) => c.x(i)),
    { axis },
  );
};

/** Emits Slice for the ranges given per axis (begin/end resolved, positive steps). */
function emitSlice(
  c: NodeCtx,
  x: string,
  begin: number[],
  end: number[],
  steps: number[],
  out: number | string,
): string {
  const attrs = { begin, end, steps };
  return typeof out === 'number' ? c.final('Slice', [x], attrs, out) : c.emit('Slice', [x], attrs, [out])[0]!;
}

const split: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const axis = c.axis(c.int('axis', 0), xs.length);
  const n = c.n.output.length;
  let sizes: number[] | undefined =
    c.opset >= 13 ? (c.has(1) ? c.ints(1, 'split') : undefined) : c.intList('split');
  const d = xs[axis];
  if (!sizes) {
    if (typeof d !== 'number') c.unsupported('needs a static split dim');
    const k = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(k, d - i * k)));
  }
  if (sizes.length !== n) c.unsupported(`has ${sizes.length} split sizes for ${n} outputs`);
  let at = 0;
  sizes.forEach((s, i) => {
    const begin = xs.map(() => 0);
    const end = xs.map((dd) => (typeof dd === 'number' ? dd : SLICE_END_MAX));
    begin[axis] = at;
    end[axis] = at + s;
    at += s;
    if (c.wants(i))
      emitSlice(
        c,
        c.x(0),
        begin,
        end,
        begin.map(() => 1),
        i,
      );
  });
};

const slice: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const r = xs.length;
  const old = c.opset < 10;
  const starts = old ? (c.intList('starts') ?? []) : c.ints(1, 'starts');
  const ends = old ? (c.intList('ends') ?? []) : c.ints(2, 'ends');
  const axes = old
    ? (c.intList('axes') ?? starts.map((_, i) => i))
    : c.has(3)
      ? c.ints(3, 'axes')
      : starts.map((_, i) => i);
  const steps = !old && c.has(4) ? c.ints(4, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    c.unsupported('has starts/ends/axes/steps of different lengths');
  }
  const begin = xs.map(() => 0);
  const end = xs.map((d) => (typeof d === 'number' ? d : SLICE_END_MAX));
  const step = xs.map(() => 1);
  const flips: number[] = [];
  axes.forEach((a0, k) => {
    const a = c.axis(a0, r, 'axes');
    const s = steps[k]!;
    if (s === 0) c.unsupported('has a zero step');
    const d = xs[a]!;
    const st = starts[k]!;
    const en = ends[k]!;
    if (typeof d !== 'number') {
      if (s < 0 || st < 0 || (en < 0 && en > -(2 ** 31)))
        c.unsupported(`slices symbolic dim ${a} from the end`);
      begin[a] = st;
      end[a] = Math.min(en, SLICE_END_MAX);
      step[a] = s;
      return;
    }
    const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    if (s > 0) {
      begin[a] = norm(st, 0, d);
      end[a] = Math.max(norm(en, 0, d), begin[a]!);
      step[a] = s;
    } else {
      // reversed: flip the axis, then slice forwards
      const b = norm(st, 0, d - 1);
      const e = norm(en, -1, d - 1);
      flips.push(a);
      begin[a] = d - 1 - b;
      end[a] = Math.max(d - 1 - e, begin[a]!);
      step[a] = -s;
    }
  });
  let x = c.x(0);
  if (flips.length > 0) x = c.tmp('Flip', [x], { axes: [...new Set(flips)].sort((p, q) => p - q) });
  emitSlice(c, x, begin, end, step, 0);
};

/** Integer indices as an int32 graph value, normalising constant negative indices against `dim`. */
function indices(c: NodeCtx, i: number, dim: Dim | undefined): string {
  const k = c.konst(i);
  if (k && typeof dim === 'number') {
    const vals = c.ints(i, 'indices').map((v) => (v < 0 ? v + dim : v));
    if (vals.some((v) => v < 0 || v >= dim)) c.unsupported(`has an index out of range [0, ${dim})`);
    return c.i32(vals, k.shape);
  }
  const info = c.info(i);
  if (info.dtype !== 'int32') return c.tmp('Cast', [c.x(i)], { dtype: 'int32' });
  return c.x(i);
}

const gather: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const axis = c.axis(c.int('axis', 0), xs.length);
  c.final('Gather', [c.x(0), indices(c, 1, xs[axis])], { axis });
};

const gatherElements: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const axis = c.axis(c.int('axis', 0), xs.length);
  c.final('GatherElements', [c.x(0), indices(c, 1, xs[axis])], { axis });
};

const expand: Importer = (c: NodeCtx) => {
  const target = c.ints(1, 'shape');
  const xs = c.shape(0);
  const r = Math.max(target.length, xs.length);
  const t = [...Array<number>(r - target.length).fill(1), ...target];
  const off = r - xs.length;
  // bidirectional broadcast: a target 1 keeps the input dim (-1 in the kernel's attrs)
  const shape = t.map((d, i) => (i >= off && (d === 1 || d === xs[i - off]) ? -1 : d));
  if (shape.every((d) => d === -1) && r === xs.length) {
    c.final('Cast', [c.x(0)], { dtype: c.info(0).dtype });
    return;
  }
  let x = c.x(0);
  if (off > 0 && xs.length === 0) x = c.tmp('Reshape', [x], { shape: [1] });
  c.final('Expand', [x], { shape: shape.map((d, i) => (d === -1 && i < off ? 1 : d)) });
};

const tile: Importer = (c: NodeCtx) => {
  c.final('Tile', [c.x(0)], { reps: c.ints(1, 'repeats') });
};

const pad: Importer = (c: NodeCtx) => {
  const r = c.shape(0).length;
  const old = c.opset < 11;
  const pads = old ? (c.intList(c.opset < 2 ? 'paddings' : 'pads') ?? []) : c.ints(1, 'pads');
  const value = old ? c.float('value', 0) : (c.scalar(2, 'constant_value', 0) ?? 0);
  const axes = !old && c.has(3) ? c.ints(3, 'axes').map((a) => c.axis(a, r, 'axes')) : [...Array(r).keys()];
  if (pads.length !== 2 * axes.length) c.unsupported(`has ${pads.length} pads for ${axes.length} axes`);
  const mode = c.str('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge')
    c.unsupported(`has unsupported mode '${mode}'`);
  const ours = new Array<number>(2 * r).fill(0);
  axes.forEach((a, k) => {
    ours[2 * a] = pads[k]!;
    ours[2 * a + 1] = pads[k + axes.length]!;
  });
  c.final('Pad', [c.x(0)], { pads: ours, mode, value });
};

/** DepthToSpace / SpaceToDepth as reshape → transpose → reshape on a static NCHW input. */
const depthToSpace: Importer = (c: NodeCtx) => {
  const [n, ch, h, w] = c.staticShape(0);
  const b = c.int('blocksize', 0);
  if (b < 1 || c.staticShape(0).length !== 4) c.unsupported('needs a 4-D input and a positive blocksize');
  const crd = c.str('mode', 'DCR') === 'CRD';
  const cc = ch! / (b * b);
  const six = crd ? [n!, cc, b, b, h!, w!] : [n!, b, b, cc, h!, w!];
  const perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
  const t = c.tmp('Transpose', [c.tmp('Reshape', [c.x(0)], { shape: six })], { perm });
  c.final('Reshape', [t], { shape: [n!, cc, h! * b, w! * b] });
};

const spaceToDepth: Importer = (c: NodeCtx) => {
  const [n, ch, h, w] = c.staticShape(0);
  const b = c.int('blocksize', 0);
  if (b < 1 || c.staticShape(0).length !== 4) c.unsupported('needs a 4-D input and a positive blocksize');
  const six = [n!, ch!, h! / b, b, w! / b, b];
  const t = c.tmp('Transpose', [c.tmp('Reshape', [c.x(0)], { shape: six })], { perm: [0, 3, 5, 1, 2, 4] });
  c.final('Reshape', [t], { shape: [n!, ch! * b * b, h! / b, w! / b] });
};

/** Trilu: keep the upper (or lower) triangle from diagonal k of the last two dims; zero the rest. */
const trilu: Importer = (c: NodeCtx) => {
  const xs = c.staticShape(0);
  if (xs.length < 2) c.unsupported('needs a rank >= 2 input');
  const k = c.scalar(1, 'k', 0) ?? 0;
  const upper = c.int('upper', 1) === 1;
  const [n, m] = xs.slice(-2) as [number, number];
  const mask = new Uint8Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) mask[i * m + j] = (upper ? j - i >= k : j - i <= k) ? 1 : 0;
  const name = c.s.fresh(`${c.name}/mask`);
  c.s.consts.set(name, { type: TensorProto_DataType.BOOL, shape: [n, m], data: mask });
  const dtype = c.info(0).dtype;
  const zero = dtype === 'float32' ? c.f32([0]) : c.i32([0], []);
  c.final('Where', [
    c.s.value(name, c.where),
    c.x(0),
    dtype === 'int32' || dtype === 'float32' ? zero : c.unsupported(`has dtype ${dtype}`),
  ]);
};

/** Layout importers. @internal */
export const MOVEMENT_IMPORTERS: Readonly<Record<string, Importer>> = {
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  Trilu: trilu,
};
