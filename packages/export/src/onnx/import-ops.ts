// ONNX → graph op table, part 1: elementwise, reductions, softmax and constants.
import type { DType } from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import type { NodeCtx } from './import-context.js';
import { MISC_IMPORTERS } from './import-misc.js';
import { MOVEMENT_IMPORTERS } from './import-movement.js';
import { NN_IMPORTERS } from './import-nn.js';
import { onnxToDType, onnxTypeName, SYM_BASE } from './import-tensor.js';

/** Imports one ONNX node by emitting graph nodes (or recording aliases/constants). @internal */
export type Importer = (c: NodeCtx) => void;

const T = TensorProto_DataType;

const binary =
  (op: string): Importer =>
  (c: NodeCtx) => {
    c.final(op, [c.x(0), c.x(1)]);
  };

const unary =
  (op: string): Importer =>
  (c: NodeCtx) => {
    c.final(op, [c.x(0)]);
  };

/** A float scalar of input 0's dtype. */
function scalar(c: NodeCtx, v: number): string {
  const dtype = c.info(0).dtype;
  if (dtype === 'float32') return c.f32([v]);
  if (dtype === 'int32') return c.i32([v], []);
  return c.unsupported(`needs a scalar of dtype ${dtype}`);
}

/** Variadic Max/Min/Sum folded pairwise. */
const variadic =
  (op: string, mean = false): Importer =>
  (c: NodeCtx) => {
    const n = c.nIn;
    if (n === 1 && !mean) {
      c.final('Cast', [c.x(0)], { dtype: c.info(0).dtype });
      return;
    }
    let acc = c.x(0);
    for (let i = 1; i < n; i++)
      acc = i === n - 1 && !mean ? c.final(op, [acc, c.x(i)]) : c.tmp(op, [acc, c.x(i)]);
    if (mean) c.final('Mul', [acc, scalar(c, 1 / n)]);
  };

const where = (c: NodeCtx, cond: string, a: string, b: string): string => c.final('Where', [cond, a, b]);

const hardSigmoid: Importer = (c: NodeCtx) => {
  const alpha = c.float('alpha', 0.2);
  const beta = c.float('beta', 0.5);
  if (Math.abs(alpha - 1 / 6) < 1e-7 && beta === 0.5) {
    c.final('HardSigmoid', [c.x(0)]);
    return;
  }
  const y = c.tmp('Add', [c.tmp('Mul', [c.x(0), scalar(c, alpha)]), scalar(c, beta)]);
  c.final('Clip', [y], { min: 0, max: 1 });
};

/** alpha · (exp(x) − 1) for x ≤ 0, x otherwise, then × gamma. */
function elu(c: NodeCtx, alpha: number, gamma = 1): void {
  const x = c.x(0);
  const neg = c.tmp('Mul', [c.tmp('Sub', [c.tmp('Exp', [x]), scalar(c, 1)]), scalar(c, alpha)]);
  const pos = c.tmp('Greater', [x, scalar(c, 0)]);
  if (gamma === 1) {
    where(c, pos, x, neg);
    return;
  }
  c.final('Mul', [c.tmp('Where', [pos, x, neg]), scalar(c, gamma)]);
}

const clip: Importer = (c: NodeCtx) => {
  let lo: number | undefined;
  let hi: number | undefined;
  if (c.opset < 11) {
    lo = c.hasAttr('min') ? c.float('min', 0) : undefined;
    hi = c.hasAttr('max') ? c.float('max', 0) : undefined;
  } else {
    if ((c.has(1) && !c.konst(1)) || (c.has(2) && !c.konst(2))) {
      // runtime bounds: max(min(x, hi), lo)
      let y = c.x(0);
      if (c.has(1)) y = c.has(2) ? c.tmp('Maximum', [y, c.x(1)]) : c.final('Maximum', [y, c.x(1)]);
      if (c.has(2)) c.final('Minimum', [y, c.x(2)]);
      else if (!c.has(1)) c.final('Cast', [y], { dtype: c.info(0).dtype });
      return;
    }
    lo = c.scalar(1, 'min');
    hi = c.scalar(2, 'max');
  }
  const info = c.info(0);
  if (info.quant && info.quant.axis === undefined && (info.dtype === 'int8' || info.dtype === 'uint8')) {
    // clamp of a quantized value: the same clamp in the dequantized domain, requantized with its parameters
    const s = info.quant.scale[0]!;
    const z = info.quant.zeroPoint[0]!;
    const f = c.tmp('Clip', [c.tmp('DequantizeLinear', [c.x(0)])], {
      ...(lo !== undefined ? { min: (lo - z) * s } : {}),
      ...(hi !== undefined ? { max: (hi - z) * s } : {}),
    });
    c.final('QuantizeLinear', [f], { quant: info.quant, dtype: info.dtype });
    return;
  }
  if (info.dtype !== 'float32') {
    let y = c.x(0);
    if (lo !== undefined)
      y = hi !== undefined ? c.tmp('Maximum', [y, scalar(c, lo)]) : c.final('Maximum', [y, scalar(c, lo)]);
    if (hi !== undefined) c.final('Minimum', [y, scalar(c, hi)]);
    else if (lo === undefined) c.final('Cast', [y], { dtype: c.info(0).dtype });
    return;
  }
  c.final('Clip', [c.x(0)], {
    ...(lo !== undefined ? { min: lo } : {}),
    ...(hi !== undefined ? { max: hi } : {}),
  });
};

function castTarget(c: NodeCtx, to: number): DType {
  const dtype = onnxToDType(to);
  if (!dtype) c.unsupported(`casts to unsupported type ${onnxTypeName(to)}`);
  return dtype;
}

/** Reduction axes from the attribute (old opsets) or input 1; undefined means "all" or "none". */
function reduceAxes(c: NodeCtx, axesAsInput: boolean): number[] | undefined {
  const rank = c.shape(0).length;
  let axes: number[] | undefined;
  if (axesAsInput) axes = c.has(1) ? c.ints(1, 'axes') : undefined;
  else axes = c.intList('axes');
  if (axes === undefined || axes.length === 0) {
    if (c.int('noop_with_empty_axes', 0)) return undefined;
    return [...Array(rank).keys()];
  }
  return [...new Set(axes.map((a) => c.axis(a, rank, 'axes')))].sort((a, b) => a - b);
}

/** ReduceX → pre(x) → Op → post. */
const reduce =
  (op: string, pre?: string, post?: string, inputSince = 18): Importer =>
  (c: NodeCtx) => {
    const axes = reduceAxes(c, c.opset >= inputSince);
    let x = c.x(0);
    if (axes === undefined || c.shape(0).length === 0) {
      // no reduction: ONNX still applies the pre/post maps
      if (pre) x = post ? c.tmp(pre, [x]) : c.final(pre, [x]);
      if (post) c.final(post, [x]);
      if (!pre && !post) c.final('Cast', [x], { dtype: c.info(0).dtype });
      return;
    }
    if (pre) x = c.tmp(pre, [x]);
    const attrs = { axes, keepDims: c.int('keepdims', 1) === 1 };
    if (post) c.final(post, [c.tmp(op, [x], attrs)]);
    else c.final(op, [x], attrs);
  };

const argReduce =
  (op: string): Importer =>
  (c: NodeCtx) => {
    const rank = c.shape(0).length;
    const axis = c.axis(c.int('axis', 0), rank);
    const keepDims = c.int('keepdims', 1) === 1;
    if (!c.int('select_last_index', 0)) {
      c.final(op, [c.x(0)], { axis, keepDims });
      return;
    }
    // last index = (n − 1) − first index in the flipped input
    const n = c.shape(0)[axis];
    if (typeof n !== 'number') c.unsupported('select_last_index needs a static reduced dim');
    const idx = c.tmp(op, [c.tmp('Flip', [c.x(0)], { axes: [axis] })], { axis, keepDims });
    c.final('Sub', [c.i32([n - 1], []), idx]);
  };

const softmax =
  (op: string): Importer =>
  (c: NodeCtx) => {
    const shape = c.shape(0);
    const rank = shape.length;
    if (c.opset >= 13) {
      c.final(op, [c.x(0)], { axis: c.axis(c.int('axis', -1), rank) });
      return;
    }
    // opsets < 13 flatten to [prod(:axis), prod(axis:)] and normalise the second dim
    const axis = c.axis(c.int('axis', 1), rank);
    if (axis === rank - 1) {
      c.final(op, [c.x(0)], { axis });
      return;
    }
    const s = c.staticShape(0);
    const inner = s.slice(axis).reduce((a, d) => a * d, 1);
    const flat = c.tmp('Reshape', [c.x(0)], { shape: [-1, inner] });
    c.final('Reshape', [c.tmp(op, [flat], { axis: 1 })], { shape: s });
  };

const topK: Importer = (c: NodeCtx) => {
  const k = c.opset >= 10 ? c.scalar(1, 'k') : c.int('k', 0);
  const rank = c.shape(0).length;
  c.emit(
    'TopK',
    [c.x(0)],
    { k: k!, axis: c.axis(c.int('axis', -1), rank), largest: c.int('largest', 1) === 1, sorted: true },
    [c.wants(0) ? c.out(0) : c.s.fresh(c.name), c.wants(1) ? c.out(1) : c.s.fresh(c.name)],
  );
};

const constant: Importer = (c: NodeCtx) => {
  const t = c.tensorAttr('value');
  if (t) return c.setConst(t);
  const f = c.hasAttr('value_float') ? [c.float('value_float', 0)] : c.floatList('value_floats');
  if (f)
    return c.setConst({
      type: T.FLOAT,
      shape: c.hasAttr('value_float') ? [] : [f.length],
      data: Float32Array.from(f),
    });
  const i = c.hasAttr('value_int') ? [c.int('value_int', 0)] : c.intList('value_ints');
  if (i)
    return c.setConst({
      type: T.INT64,
      shape: c.hasAttr('value_int') ? [] : [i.length],
      data: Float64Array.from(i),
    });
  return c.unsupported('has no supported value attribute (sparse and string constants are not supported)');
};

const shapeOf: Importer = (c: NodeCtx) => {
  // symbolic dims fold to sentinels, which only a Reshape target may consume
  const s = c.shape(0).map((d) => {
    if (typeof d === 'number') return d;
    let id = c.s.symbols.indexOf(d);
    if (id < 0) id = c.s.symbols.push(d) - 1;
    return SYM_BASE - id;
  });
  const r = s.length;
  const norm = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const part = s.slice(norm(c.int('start', 0)), c.hasAttr('end') ? norm(c.int('end', r)) : r);
  c.setConst({ type: T.INT64, shape: [part.length], data: Float64Array.from(part) });
};

const bool = (c: NodeCtx, v: boolean): string => {
  const name = c.s.fresh(`${c.name}/bool`);
  c.s.consts.set(name, { type: T.BOOL, shape: [], data: Uint8Array.of(v ? 1 : 0) });
  return c.s.value(name, c.where);
};

/** Every ONNX op the importer maps (default domain), by op type. @internal */
export const ONNX_IMPORTERS: Readonly<Record<string, Importer>> = {
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
  Pow: (c: NodeCtx) => {
    const a = c.info(0).dtype;
    const b = c.info(1).dtype;
    if (a === 'float32') {
      c.final('Pow', [c.x(0), b === a ? c.x(1) : c.tmp('Cast', [c.x(1)], { dtype: a })]);
      return;
    }
    // integer bases: float power, rounded back (exact for results below 2^24)
    const f = (i: number) =>
      c.info(i).dtype === 'float32' ? c.x(i) : c.tmp('Cast', [c.x(i)], { dtype: 'float32' });
    c.final('Cast', [c.tmp('Round', [c.tmp('Pow', [f(0), f(1)])])], { dtype: a });
  },
  IsNaN: (c: NodeCtx) => c.final('NotEqual', [c.x(0), c.x(0)]),
  IsInf: (c: NodeCtx) => {
    const x = c.x(0);
    const pos = c.int('detect_positive', 1) === 1;
    const neg = c.int('detect_negative', 1) === 1;
    if (pos && neg) c.final('Equal', [c.tmp('Abs', [x]), c.f32([Number.POSITIVE_INFINITY])]);
    else if (pos) c.final('Equal', [x, c.f32([Number.POSITIVE_INFINITY])]);
    else if (neg) c.final('Equal', [x, c.f32([Number.NEGATIVE_INFINITY])]);
    else c.unsupported('detects neither sign');
  },
  MeanVarianceNormalization: (c: NodeCtx) => {
    const r = c.shape(0).length;
    const axes = [...new Set((c.intList('axes') ?? [0, 2, 3]).map((a) => c.axis(a, r, 'axes')))].sort(
      (p, q) => p - q,
    );
    const x = c.x(0);
    const d = c.tmp('Sub', [x, c.tmp('Mean', [x], { axes, keepDims: true })]);
    const v = c.tmp('Mean', [c.tmp('Square', [d])], { axes, keepDims: true });
    c.final('Div', [d, c.tmp('Sqrt', [c.tmp('Add', [v, c.f32([1e-9])])])]);
  },
  Equal: binary('Equal'),
  Greater: binary('Greater'),
  Less: binary('Less'),
  GreaterOrEqual: binary('GreaterEqual'),
  LessOrEqual: binary('LessEqual'),
  Where: (c: NodeCtx) => where(c, c.x(0), c.x(1), c.x(2)),
  Not: (c: NodeCtx) => c.final('Equal', [c.x(0), bool(c, false)]),
  And: (c: NodeCtx) => where(c, c.x(0), c.x(1), bool(c, false)),
  Or: (c: NodeCtx) => where(c, c.x(0), bool(c, true), c.x(1)),
  Xor: binary('NotEqual'),
  Max: variadic('Maximum'),
  Min: variadic('Minimum'),
  Sum: variadic('Add'),
  Mean: variadic('Add', true),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Reciprocal: unary('Reciprocal'),
  Floor: unary('Floor'),
  Ceil: (c: NodeCtx) => c.final('Neg', [c.tmp('Floor', [c.tmp('Neg', [c.x(0)])])]),
  Round: unary('Round'),
  Sign: unary('Sign'),
  Erf: unary('Erf'),
  Tanh: unary('Tanh'),
  Sigmoid: unary('Sigmoid'),
  Relu: unary('Relu'),
  HardSwish: unary('HardSwish'),
  HardSigmoid: hardSigmoid,
  LeakyRelu: (c: NodeCtx) => c.final('LeakyRelu', [c.x(0)], { alpha: c.float('alpha', 0.01) }),
  Elu: (c: NodeCtx) => elu(c, c.float('alpha', 1)),
  Selu: (c: NodeCtx) => elu(c, c.float('alpha', 1.6732632423543772), c.float('gamma', 1.0507009873554805)),
  Celu: (c: NodeCtx) => {
    const alpha = c.float('alpha', 1);
    const x = c.x(0);
    const e = c.tmp('Mul', [
      c.tmp('Sub', [c.tmp('Exp', [c.tmp('Mul', [x, scalar(c, 1 / alpha)])]), scalar(c, 1)]),
      scalar(c, alpha),
    ]);
    c.final('Add', [c.tmp('Relu', [x]), c.tmp('Minimum', [e, scalar(c, 0)])]);
  },
  ThresholdedRelu: (c: NodeCtx) => {
    const x = c.x(0);
    where(c, c.tmp('Greater', [x, scalar(c, c.float('alpha', 1))]), x, scalar(c, 0));
  },
  PRelu: (c: NodeCtx) => {
    const x = c.x(0);
    where(c, c.tmp('Less', [x, scalar(c, 0)]), c.tmp('Mul', [x, c.x(1)]), x);
  },
  Softplus: (c: NodeCtx) => c.final('Log', [c.tmp('Add', [c.tmp('Exp', [c.x(0)]), scalar(c, 1)])]),
  Softsign: (c: NodeCtx) => c.final('Div', [c.x(0), c.tmp('Add', [c.tmp('Abs', [c.x(0)]), scalar(c, 1)])]),
  Clip: clip,
  Cast: (c: NodeCtx) => c.final('Cast', [c.x(0)], { dtype: castTarget(c, c.int('to', 0)) }),
  CastLike: (c: NodeCtx) => c.final('Cast', [c.x(0)], { dtype: c.info(1).dtype }),
  Identity: (c: NodeCtx) => c.alias(c.x(0)),
  Dropout: (c: NodeCtx) => {
    if (c.has(2) && c.ints(2, 'training_mode')[0]) c.unsupported('runs in training mode');
    if (c.opset < 7 && c.int('is_test', 0) === 0) c.unsupported('runs in training mode (is_test 0)');
    c.alias(c.x(0));
    // inference keeps every element: the mask is all true
    if (c.wants(1)) c.final('Expand', [bool(c, true)], { shape: c.staticShape(0) }, 1);
  },
  ReduceSum: reduce('Sum', undefined, undefined, 13),
  ReduceMean: reduce('Mean'),
  ReduceMax: reduce('Max'),
  ReduceMin: reduce('Min'),
  ReduceProd: reduce('Prod'),
  ReduceLogSumExp: reduce('LogSumExp'),
  ReduceSumSquare: reduce('Sum', 'Square'),
  ReduceL1: reduce('Sum', 'Abs'),
  ReduceL2: reduce('Sum', 'Square', 'Sqrt'),
  ReduceLogSum: reduce('Sum', undefined, 'Log'),
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  TopK: topK,
  Softmax: softmax('Softmax'),
  LogSoftmax: softmax('LogSoftmax'),
  Constant: constant,
  Shape: shapeOf,
  Size: (c: NodeCtx) =>
    c.setConst({
      type: T.INT64,
      shape: [],
      data: Float64Array.of(c.staticShape(0).reduce((a, d) => a * d, 1)),
    }),
  ...MISC_IMPORTERS,
  ...MOVEMENT_IMPORTERS,
  ...NN_IMPORTERS,
};
