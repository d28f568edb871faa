// The op table: tinyvision kernel name → converter emitting equivalent ONNX nodes (default domain, opset 13–17).
import type {
  ArgReduceAttrs,
  AxisAttrs,
  CastAttrs,
  ClipAttrs,
  DType,
  ExpandAttrs,
  FlipAttrs,
  LeakyReluAttrs,
  PadAttrs,
  ReduceAttrs,
  ReshapeAttrs,
  SliceAttrs,
  StridedCopyAttrs,
  TileAttrs,
  TopKAttrs,
  TransposeAttrs,
  VarianceAttrs,
} from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import { type Converter, input, NN_CONVERTERS } from './ops-nn.js';
import { QUANT_CONVERTERS } from './ops-quant.js';

/** ONNX `TensorProto.DataType` of each tinyvision dtype. */
export const ONNX_DTYPES: Readonly<Record<DType, number>> = {
  float32: TensorProto_DataType.FLOAT,
  float16: TensorProto_DataType.FLOAT16,
  bfloat16: TensorProto_DataType.BFLOAT16,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  int32: TensorProto_DataType.INT32,
  bool: TensorProto_DataType.BOOL,
};

/** A one-to-one op with the same inputs and no attributes. */
function same(opType: string): Converter {
  return (b, node) => {
    b.emit(
      opType,
      node.inputs.map((v) => v ?? ''),
      node.outputs,
    );
  };
}

/** `f(x)` chained through fresh values: `chain(['Sqrt', 'Reciprocal'])` is `Reciprocal(Sqrt(x))`. */
function chain(opTypes: readonly string[]): Converter {
  return (b, node) => {
    let v = input(b, node, 0);
    opTypes.forEach((op, i) => {
      v = i === opTypes.length - 1 ? b.emit(op, [v], [node.outputs[0]!]) : b.tmp(op, [v]);
    });
  };
}

const reduce =
  (opType: string): Converter =>
  (b, node) => {
    const a = node.attrs as unknown as ReduceAttrs;
    const x = input(b, node, 0);
    const keepdims = a.keepDims ? 1 : 0;
    // ReduceSum takes axes as an input from opset 13, the other reductions from opset 18
    if (opType === 'ReduceSum' || b.opset >= 18) {
      b.emit(opType, [x, b.int64('axes', a.axes)], [node.outputs[0]!], { keepdims });
    } else b.emit(opType, [x], [node.outputs[0]!], { axes: a.axes, keepdims });
  };

const argReduce =
  (opType: string): Converter =>
  (b, node) => {
    const a = node.attrs as unknown as ArgReduceAttrs;
    // ONNX indices are int64; the graph's are int32
    const idx = b.tmp(opType, [input(b, node, 0)], { axis: a.axis, keepdims: a.keepDims ? 1 : 0 }, 'indices');
    b.emit('Cast', [idx], [node.outputs[0]!], { to: TensorProto_DataType.INT32 });
  };

/** `Σ (x − mean)² / max(0, n − correction)` over static reduced dims. */
const variance: Converter = (b, node) => {
  const a = node.attrs as unknown as VarianceAttrs;
  const x = input(b, node, 0);
  const shape = b.info(node, x).shape;
  const dims = a.axes.map((ax) => shape[ax]);
  if (!dims.every((d) => typeof d === 'number')) b.unsupported(node, 'reduces over a symbolic dim');
  const n = (dims as number[]).reduce((p, d) => p * d, 1);
  const d = b.tmp('Sub', [x, b.tmp('ReduceMean', [x], { axes: a.axes, keepdims: 1 })]);
  const ss = b.tmp('ReduceSum', [b.tmp('Mul', [d, d]), b.int64('axes', a.axes)], {
    keepdims: a.keepDims ? 1 : 0,
  });
  const divisor = Math.max(0, n - a.correction);
  b.emit('Div', [ss, b.float32('divisor', [divisor], [])], [node.outputs[0]!]);
};

/** Reversal as a Slice with step −1 from the last element past the first. */
const flip: Converter = (b, node) => {
  const a = node.attrs as unknown as FlipAttrs;
  const ones = a.axes.map(() => -1);
  b.emit(
    'Slice',
    [
      input(b, node, 0),
      b.int64('starts', ones),
      b.int64(
        'ends',
        a.axes.map(() => -(2 ** 53)),
      ),
      b.int64('axes', a.axes),
      b.int64('steps', ones),
    ],
    [node.outputs[0]!],
  );
};

/** TopK with int64 indices cast to the graph's int32; `sorted: false` is exported as sorted. */
const topK: Converter = (b, node) => {
  const a = node.attrs as unknown as TopKAttrs;
  const idx = b.fresh('indices');
  b.emit('TopK', [input(b, node, 0), b.int64('k', [a.k])], [node.outputs[0]!, idx], {
    axis: a.axis,
    largest: a.largest ? 1 : 0,
    sorted: 1,
  });
  b.emit('Cast', [idx], [node.outputs[1]!], { to: TensorProto_DataType.INT32 });
};

const clip: Converter = (b, node) => {
  const a = node.attrs as unknown as ClipAttrs;
  const lo = a.min === undefined ? '' : b.float32('min', [a.min], []);
  const hi = a.max === undefined ? '' : b.float32('max', [a.max], []);
  b.emit('Clip', hi ? [input(b, node, 0), lo, hi] : [input(b, node, 0), lo], [node.outputs[0]!]);
};

/** The batch-carrying `-1` of a dynamic-batch Expand shape becomes 1, which ONNX broadcasting keeps as N. */
const expand: Converter = (b, node) => {
  const a = node.attrs as unknown as ExpandAttrs;
  const shape = a.shape.map((d) => (d === -1 ? 1 : d));
  b.emit('Expand', [input(b, node, 0), b.int64('shape', shape)], [node.outputs[0]!]);
};

const slice: Converter = (b, node) => {
  const a = node.attrs as unknown as SliceAttrs;
  const axes = a.begin.map((_, i) => i);
  b.emit(
    'Slice',
    [
      input(b, node, 0),
      b.int64('starts', a.begin),
      b.int64('ends', a.end),
      b.int64('axes', axes),
      b.int64('steps', a.steps),
    ],
    [node.outputs[0]!],
  );
};

const pad: Converter = (b, node) => {
  const a = node.attrs as unknown as PadAttrs;
  const n = a.pads.length / 2;
  const pads = [
    ...Array.from({ length: n }, (_, i) => a.pads[2 * i]!),
    ...Array.from({ length: n }, (_, i) => a.pads[2 * i + 1]!),
  ];
  const x = input(b, node, 0);
  const ins = [x, b.int64('pads', pads)];
  if (a.mode === 'constant') {
    const dtype = b.info(node, x).dtype;
    if (dtype !== 'float32') b.unsupported(node, `constant pad of ${dtype} is not exported (float32 only)`);
    ins.push(b.float32('value', [a.value], []));
  }
  b.emit('Pad', ins, [node.outputs[0]!], { mode: a.mode });
};

/** A StridedCopy is exportable when it is a plain row-major copy of its input (an Identity). */
const stridedCopy: Converter = (b, node) => {
  const a = node.attrs as unknown as StridedCopyAttrs;
  let expected = 1;
  let rowMajor = a.offset === 0;
  for (let d = a.shape.length - 1; d >= 0; d--) {
    const size = a.shape[d]!;
    if (size !== 1 && a.strides[d] !== expected) rowMajor = false;
    expected *= Math.abs(size);
  }
  if (!rowMajor) b.unsupported(node, `is not a row-major copy (strides [${a.strides}], offset ${a.offset})`);
  b.emit('Identity', [input(b, node, 0)], [node.outputs[0]!]);
};

const castTo: Converter = (b, node) => {
  const a = node.attrs as unknown as CastAttrs;
  b.emit('Cast', [input(b, node, 0)], [node.outputs[0]!], { to: ONNX_DTYPES[a.dtype] });
};

const axisOp =
  (opType: string): Converter =>
  (b, node) => {
    const a = node.attrs as unknown as AxisAttrs;
    b.emit(
      opType,
      node.inputs.map((v) => v ?? ''),
      node.outputs,
      { axis: a.axis },
    );
  };

/**
 * The op table: every kernel name the ONNX writer can express. Ops not listed here raise
 * `UnsupportedOpError` when exported.
 */
export const ONNX_CONVERTERS: Readonly<Record<string, Converter>> = {
  Add: same('Add'),
  Sub: same('Sub'),
  Mul: same('Mul'),
  Div: same('Div'),
  Pow: same('Pow'),
  Maximum: same('Max'),
  Minimum: same('Min'),
  Equal: same('Equal'),
  Greater: same('Greater'),
  Less: same('Less'),
  GreaterEqual: same('GreaterOrEqual'),
  LessEqual: same('LessOrEqual'),
  NotEqual: (b, node) =>
    b.emit('Not', [b.tmp('Equal', [input(b, node, 0), input(b, node, 1)])], [node.outputs[0]!]),
  Where: same('Where'),
  Neg: same('Neg'),
  Abs: same('Abs'),
  Exp: same('Exp'),
  Log: same('Log'),
  Sqrt: same('Sqrt'),
  Rsqrt: chain(['Sqrt', 'Reciprocal']),
  Square: (b, node) => b.emit('Mul', [input(b, node, 0), input(b, node, 0)], [node.outputs[0]!]),
  Reciprocal: same('Reciprocal'),
  Floor: same('Floor'),
  Round: same('Round'),
  Sign: same('Sign'),
  Erf: same('Erf'),
  Tanh: same('Tanh'),
  Sigmoid: same('Sigmoid'),
  Relu: same('Relu'),
  LeakyRelu: (b, node) =>
    b.emit('LeakyRelu', [input(b, node, 0)], [node.outputs[0]!], {
      alpha: { f: (node.attrs as unknown as LeakyReluAttrs).alpha },
    }),
  Clip: clip,
  Cast: castTo,
  Sum: reduce('ReduceSum'),
  Mean: reduce('ReduceMean'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  LogSumExp: reduce('ReduceLogSumExp'),
  Variance: variance,
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  TopK: topK,
  Softmax: axisOp('Softmax'),
  LogSoftmax: axisOp('LogSoftmax'),
  Concat: axisOp('Concat'),
  Gather: axisOp('Gather'),
  GatherElements: axisOp('GatherElements'),
  Reshape: (b, node) =>
    b.emit(
      'Reshape',
      [input(b, node, 0), b.int64('shape', (node.attrs as unknown as ReshapeAttrs).shape)],
      [node.outputs[0]!],
    ),
  Transpose: (b, node) =>
    b.emit('Transpose', [input(b, node, 0)], [node.outputs[0]!], {
      perm: (node.attrs as unknown as TransposeAttrs).perm,
    }),
  Slice: slice,
  Expand: expand,
  Pad: pad,
  Tile: (b, node) =>
    b.emit(
      'Tile',
      [input(b, node, 0), b.int64('repeats', (node.attrs as unknown as TileAttrs).reps)],
      [node.outputs[0]!],
    ),
  StridedCopy: stridedCopy,
  Flip: flip,
  ...NN_CONVERTERS,
  ...QUANT_CONVERTERS,
};
