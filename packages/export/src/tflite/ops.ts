// The TFLite op table: tinyvision kernel name → converter (elementwise, movement, reductions here; NN ops in
// ops-nn.ts). Ops not listed raise UnsupportedOpError.
import type {
  AxisAttrs,
  CastAttrs,
  ClipAttrs,
  GeluAttrs,
  LeakyReluAttrs,
  PadAttrs,
  ReduceAttrs,
  SliceAttrs,
  TransposeAttrs,
} from '@tinyvision/tensor';
import { type Layout, nhwcAxis, permute, TFL_TYPES, TO_NHWC } from './context.js';
import { BuiltinOperator, BuiltinOptions, MirrorPadMode } from './generated/schema_generated.js';
import { activation, binary, type TflConverter, unary } from './ops-common.js';
import { batchNorm, conv, globalPool, layerNorm, linear, matmul, pool, resize } from './ops-nn.js';
import { dequantize, quantize } from './qdq.js';

/** Axis `a` of a value of rank `rank` as stored in `layout`. */
function storedAxis(a: number, rank: number, layout: Layout): number {
  return layout === 'nhwc' && rank === 4 ? nhwcAxis(a) : a;
}

const reshape: TflConverter = (c, node) => {
  const shape = c.shape(node.outputs[0]!);
  c.op(
    BuiltinOperator.RESHAPE,
    [c.get(node.inputs[0]!, 'plain'), c.constI32(`${node.name}/shape`, shape)],
    [c.out(node.outputs[0]!, 'plain')],
    { type: BuiltinOptions.ReshapeOptions, values: { newShape: shape } },
  );
};

/** Transpose of an NHWC-stored value composes with the storage permutation (often to nothing). */
const transpose: TflConverter = (c, node) => {
  const a = node.attrs as unknown as TransposeAttrs;
  const x = node.inputs[0]!;
  const rank = c.shape(x).length;
  const layout = c.layoutOf(x);
  const perm = layout === 'nhwc' && rank === 4 ? a.perm.map((p) => nhwcAxis(p)) : [...a.perm];
  const t = c.get(x, layout);
  if (perm.every((p, i) => p === i)) {
    c.define(node.outputs[0]!, t, 'plain');
    return;
  }
  c.op(
    BuiltinOperator.TRANSPOSE,
    [t, c.constI32(`${node.name}/perm`, perm)],
    [c.out(node.outputs[0]!, 'plain')],
    { type: BuiltinOptions.TransposeOptions },
  );
};

const slice: TflConverter = (c, node) => {
  const a = node.attrs as unknown as SliceAttrs;
  const x = node.inputs[0]!;
  const xs = c.shape(x);
  const layout = c.layoutOf(x);
  const end = a.end.map((e, i) => Math.min(e, xs[i]!));
  const re = (v: readonly number[]) => (layout === 'nhwc' && xs.length === 4 ? permute(v, TO_NHWC) : [...v]);
  c.op(
    BuiltinOperator.STRIDED_SLICE,
    [
      c.get(x, layout),
      c.constI32(`${node.name}/begin`, re(a.begin)),
      c.constI32(`${node.name}/end`, re(end)),
      c.constI32(`${node.name}/strides`, re(a.steps)),
    ],
    [c.out(node.outputs[0]!, layout)],
    { type: BuiltinOptions.StridedSliceOptions, values: {} },
  );
};

const concat: TflConverter = (c, node) => {
  const a = node.attrs as unknown as AxisAttrs;
  const rank = c.shape(node.outputs[0]!).length;
  const ins = node.inputs.filter((v): v is string => v !== null);
  const layout: Layout =
    rank === 4 && ins.some((v) => !c.isConst(v) && c.layoutOf(v) === 'nhwc') ? 'nhwc' : 'plain';
  c.op(
    BuiltinOperator.CONCATENATION,
    ins.map((v) => c.get(v, layout)),
    [c.out(node.outputs[0]!, layout)],
    { type: BuiltinOptions.ConcatenationOptions, values: { axis: storedAxis(a.axis, rank, layout) } },
  );
};

/** SOFTMAX works on the last stored axis; other axes are moved there and back with TRANSPOSE. */
const softmax: TflConverter = (c, node) => {
  const a = node.attrs as unknown as AxisAttrs;
  const x = node.inputs[0]!;
  const rank = c.shape(x).length;
  const layout = c.layoutOf(x);
  const ax = storedAxis(a.axis, rank, layout);
  const opts = { type: BuiltinOptions.SoftmaxOptions, values: { beta: 1 } };
  const y = c.out(node.outputs[0]!, layout);
  if (ax === rank - 1) {
    c.op(BuiltinOperator.SOFTMAX, [c.get(x, layout)], [y], opts);
    return;
  }
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[ax] = rank - 1;
  perm[rank - 1] = ax;
  const permT = c.constI32(`${node.name}/perm`, perm);
  const moved = permute(c.tensors[y]!.shape, perm);
  const t1 = c.tmp(`${node.name}/moved`, moved);
  const t2 = c.tmp(`${node.name}/softmax`, moved);
  const topts = { type: BuiltinOptions.TransposeOptions };
  c.op(BuiltinOperator.TRANSPOSE, [c.get(x, layout), permT], [t1], topts);
  c.op(BuiltinOperator.SOFTMAX, [t1], [t2], opts);
  c.op(BuiltinOperator.TRANSPOSE, [t2, permT], [y], topts);
};

/** Reductions keep the NHWC layout when the kept dims stay in the same order. */
function reduce(code: BuiltinOperator): TflConverter {
  return (c, node) => {
    const a = node.attrs as unknown as ReduceAttrs;
    const x = node.inputs[0]!;
    const rank = c.shape(x).length;
    let layout = c.layoutOf(x);
    if (layout === 'nhwc' && rank === 4 && !a.keepDims) {
      const kept = [0, 1, 2, 3].filter((i) => !a.axes.includes(i));
      const keptStored = [0, 2, 3, 1].filter((i) => !a.axes.includes(i));
      if (kept.join() !== keptStored.join()) layout = 'plain';
    }
    const axes = a.axes.map((ax) => storedAxis(ax, rank, layout));
    c.op(
      code,
      [c.get(x, layout), c.constI32(`${node.name}/axes`, axes)],
      [c.out(node.outputs[0]!, a.keepDims ? layout : 'plain')],
      { type: BuiltinOptions.ReducerOptions, values: { keepDims: a.keepDims } },
    );
  };
}

const pad: TflConverter = (c, node) => {
  const a = node.attrs as unknown as PadAttrs;
  if (a.pads.some((p) => p < 0)) throw c.unsupported(node, 'crops (negative pads)');
  const x = node.inputs[0]!;
  const rank = c.shape(x).length;
  const layout = c.layoutOf(x);
  const pairs = Array.from({ length: rank }, (_, i) => [a.pads[2 * i]!, a.pads[2 * i + 1]!]);
  const stored = layout === 'nhwc' && rank === 4 ? permute(pairs, TO_NHWC) : pairs;
  const paddings = c.constI32(`${node.name}/paddings`, stored.flat(), [rank, 2]);
  const ins = [c.get(x, layout), paddings];
  const y = c.out(node.outputs[0]!, layout);
  if (a.mode === 'constant') {
    if (a.value === 0) c.op(BuiltinOperator.PAD, ins, [y], { type: BuiltinOptions.PadOptions });
    else {
      ins.push(c.constF32(`${node.name}/value`, [a.value], []));
      c.op(BuiltinOperator.PADV2, ins, [y], { type: BuiltinOptions.PadV2Options });
    }
    return;
  }
  // edge padding by at most 1 equals SYMMETRIC mirror padding
  if (a.mode === 'edge' && a.pads.some((p) => p > 1)) throw c.unsupported(node, 'edge-pads by more than 1');
  const mode = a.mode === 'reflect' ? MirrorPadMode.REFLECT : MirrorPadMode.SYMMETRIC;
  c.op(BuiltinOperator.MIRROR_PAD, ins, [y], { type: BuiltinOptions.MirrorPadOptions, values: { mode } });
};

const clip: TflConverter = (c, node) => {
  const a = node.attrs as unknown as ClipAttrs;
  const x = node.inputs[0]!;
  const layout = c.layoutOf(x);
  const y = node.outputs[0]!;
  if (a.min === 0 && a.max === 6) return unary(BuiltinOperator.RELU6)(c, node);
  if (a.min === 0 && a.max === undefined) return unary(BuiltinOperator.RELU)(c, node);
  if (a.min === -1 && a.max === 1) return unary(BuiltinOperator.RELU_N1_TO_1)(c, node);
  let cur = c.get(x, layout);
  const shape = c.storedShape(y, layout);
  const out = c.out(y, layout);
  const steps: [BuiltinOperator, number][] = [];
  if (a.min !== undefined) steps.push([BuiltinOperator.MAXIMUM, a.min]);
  if (a.max !== undefined) steps.push([BuiltinOperator.MINIMUM, a.max]);
  if (steps.length === 0) steps.push([BuiltinOperator.MAXIMUM, -Infinity]);
  steps.forEach(([code, v], i) => {
    const o = i === steps.length - 1 ? out : c.tmp(`${node.name}/lo`, shape);
    c.op(code, [cur, c.constF32(`${node.name}/bound${i}`, [v], [])], [o], {
      type: BuiltinOptions.MaximumMinimumOptions,
    });
    cur = o;
  });
};

const cast: TflConverter = (c, node) => {
  const a = node.attrs as unknown as CastAttrs;
  const x = node.inputs[0]!;
  const layout = c.layoutOf(x);
  const to = TFL_TYPES[a.dtype];
  if (to === undefined) throw c.unsupported(node, `casts to ${a.dtype}`);
  c.op(BuiltinOperator.CAST, [c.get(x, layout)], [c.out(node.outputs[0]!, layout)], {
    type: BuiltinOptions.CastOptions,
    values: { inDataType: c.tflType(x), outDataType: to },
  });
};

/** The op table of the float writer. @internal */
export const TFLITE_CONVERTERS: Readonly<Record<string, TflConverter>> = {
  Add: binary(BuiltinOperator.ADD, BuiltinOptions.AddOptions),
  Sub: binary(BuiltinOperator.SUB, BuiltinOptions.SubOptions),
  Mul: binary(BuiltinOperator.MUL, BuiltinOptions.MulOptions),
  Div: binary(BuiltinOperator.DIV, BuiltinOptions.DivOptions),
  Pow: binary(BuiltinOperator.POW, BuiltinOptions.PowOptions),
  Maximum: binary(BuiltinOperator.MAXIMUM, BuiltinOptions.MaximumMinimumOptions),
  Minimum: binary(BuiltinOperator.MINIMUM, BuiltinOptions.MaximumMinimumOptions),
  Neg: unary(BuiltinOperator.NEG, BuiltinOptions.NegOptions),
  Abs: unary(BuiltinOperator.ABS, BuiltinOptions.AbsOptions),
  Exp: unary(BuiltinOperator.EXP, BuiltinOptions.ExpOptions),
  Log: unary(BuiltinOperator.LOG),
  Sqrt: unary(BuiltinOperator.SQRT),
  Rsqrt: unary(BuiltinOperator.RSQRT),
  Square: unary(BuiltinOperator.SQUARE, BuiltinOptions.SquareOptions),
  Floor: unary(BuiltinOperator.FLOOR),
  Tanh: activation('tanh'),
  Sigmoid: activation('sigmoid'),
  Relu: activation('relu'),
  Relu6: activation('relu6'),
  HardSwish: activation('hardSwish'),
  HardSigmoid: activation('hardSigmoid'),
  Silu: activation('silu'),
  LeakyRelu: (c, node) => {
    const x = node.inputs[0]!;
    const layout = c.layoutOf(x);
    c.op(BuiltinOperator.LEAKY_RELU, [c.get(x, layout)], [c.out(node.outputs[0]!, layout)], {
      type: BuiltinOptions.LeakyReluOptions,
      values: { alpha: (node.attrs as unknown as LeakyReluAttrs).alpha },
    });
  },
  Gelu: (c, node) => {
    const x = node.inputs[0]!;
    const layout = c.layoutOf(x);
    c.op(BuiltinOperator.GELU, [c.get(x, layout)], [c.out(node.outputs[0]!, layout)], {
      type: BuiltinOptions.GeluOptions,
      values: { approximate: (node.attrs as unknown as GeluAttrs).approximate === 'tanh' },
    });
  },
  Clip: clip,
  Cast: cast,
  Mean: reduce(BuiltinOperator.MEAN),
  Sum: reduce(BuiltinOperator.SUM),
  Max: reduce(BuiltinOperator.REDUCE_MAX),
  Min: reduce(BuiltinOperator.REDUCE_MIN),
  Softmax: softmax,
  Reshape: reshape,
  Transpose: transpose,
  Slice: slice,
  Concat: concat,
  Pad: pad,
  Conv2D: conv(),
  FusedConv2D: conv(),
  MaxPool2D: pool(true),
  AvgPool2D: pool(false),
  GlobalAvgPool: globalPool(false),
  GlobalMaxPool: globalPool(true),
  Linear: linear(),
  MatMul: matmul,
  Resize: resize,
  LayerNorm: layerNorm,
  BatchNorm: batchNorm,
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
};
