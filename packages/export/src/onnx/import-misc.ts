// ONNX → graph op table, part 4: less common ops expressed through the core kernels.
import type { DType } from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import type { NodeCtx } from './import-context.js';
import { reshapeAttr } from './import-movement.js';

type Importer = (c: NodeCtx) => void;

const T = TensorProto_DataType;

/** A scalar constant of input 0's dtype. */
function scalar(c: NodeCtx, v: number): string {
  const dtype = c.info(0).dtype;
  if (dtype === 'float32') return c.f32([v]);
  if (dtype === 'int32') return c.i32([v], []);
  return c.unsupported(`needs a scalar of dtype ${dtype}`);
}

/** ONNX type of a graph dtype (int32 values stay INT32). */
function onnxTypeOf(dtype: DType): number {
  const map: Partial<Record<DType, number>> = {
    float32: T.FLOAT,
    int32: T.INT32,
    int8: T.INT8,
    uint8: T.UINT8,
    bool: T.BOOL,
  };
  return map[dtype] ?? T.FLOAT;
}

/** Hardmax: 1 at the first maximum along the axis, else 0 (opsets < 13 flatten to 2-D first). */
const hardmax: Importer = (c: NodeCtx) => {
  const s = c.staticShape(0);
  const rank = s.length;
  let x = c.x(0);
  let shape = s;
  let axis: number;
  if (c.opset >= 13) axis = c.axis(c.int('axis', -1), rank);
  else {
    const a = c.axis(c.int('axis', 1), rank);
    shape = [s.slice(0, a).reduce((p, d) => p * d, 1), s.slice(a).reduce((p, d) => p * d, 1)];
    x = c.tmp('Reshape', [x], { shape });
    axis = 1;
  }
  const d = shape[axis]!;
  const idx = c.tmp('ArgMax', [x], { axis, keepDims: true });
  const pos = c.i32(
    Array.from({ length: d }, (_, i) => i),
    [d, ...Array<number>(shape.length - 1 - axis).fill(1)],
  );
  const y = c.tmp('Cast', [c.tmp('Equal', [pos, idx])], { dtype: c.info(0).dtype });
  if (shape === s) c.final('Cast', [y], { dtype: c.info(0).dtype });
  else c.final('Reshape', [y], { shape: s });
};

/** OneHot: Equal(indices[..., None] (negative ones wrapped), arange(depth)) selects on/off values. */
const oneHot: Importer = (c: NodeCtx) => {
  const depth = c.scalar(1, 'depth');
  if (depth === undefined || !Number.isInteger(depth) || depth < 1)
    c.unsupported('needs a positive constant depth');
  const r = c.shape(0).length;
  const axis = c.axis(c.int('axis', -1), r + 1);
  let idx = c.info(0).dtype === 'int32' ? c.x(0) : c.tmp('Cast', [c.x(0)], { dtype: 'int32' });
  const k = c.konst(0);
  if (k)
    idx = c.i32(
      c.ints(0, 'indices').map((v) => (v < 0 ? v + depth : v)),
      k.shape,
    );
  else
    idx = c.tmp('Where', [
      c.tmp('Less', [idx, c.i32([0], [])]),
      c.tmp('Add', [idx, c.i32([depth], [])]),
      idx,
    ]);
  const xs = c.shape(0);
  const un = reshapeAttr(c, [...xs.slice(0, axis), 1, ...xs.slice(axis)]);
  const pos = c.i32(
    Array.from({ length: depth }, (_, i) => i),
    [depth, ...Array<number>(r - axis).fill(1)],
  );
  const eq = c.tmp('Equal', [c.tmp('Reshape', [idx], { shape: un }), pos]);
  const vals = c.info(2);
  const [off, on] = [0, 1].map((i) => c.tmp('Gather', [c.x(2), c.i32([i], [])], { axis: 0 })) as [
    string,
    string,
  ];
  if (vals.shape.length !== 1) c.unsupported('needs 1-D values');
  c.final('Where', [eq, on, off]);
};

/** Less common importers. @internal */
export const MISC_IMPORTERS: Readonly<Record<string, Importer>> = {
  Hardmax: hardmax,
  OneHot: oneHot,
  Shrink: (c: NodeCtx) => {
    const l = c.float('lambd', 0.5);
    const bias = c.float('bias', 0);
    const x = c.x(0);
    const hi = c.tmp('Where', [
      c.tmp('Greater', [x, scalar(c, l)]),
      c.tmp('Sub', [x, scalar(c, bias)]),
      scalar(c, 0),
    ]);
    c.final('Where', [c.tmp('Less', [x, scalar(c, -l)]), c.tmp('Add', [x, scalar(c, bias)]), hi]);
  },
  EyeLike: (c: NodeCtx) => {
    const s = c.staticShape(0);
    if (s.length !== 2) c.unsupported('needs a 2-D input');
    const k = c.int('k', 0);
    const to = c.hasAttr('dtype') ? c.int('dtype', 1) : (c.konst(0)?.type ?? onnxTypeOf(c.info(0).dtype));
    const data = new Float64Array(s[0]! * s[1]!);
    for (let i = 0; i < s[0]!; i++) if (i + k >= 0 && i + k < s[1]!) data[i * s[1]! + i + k] = 1;
    c.setConst({ type: to, shape: s, data: to === T.FLOAT ? Float32Array.from(data) : data });
  },
};
