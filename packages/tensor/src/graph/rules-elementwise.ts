import * as K from '../backend/kernel-names.js';
import { type InferContext, isStatic, type OutputInfo, type ShapeRule } from './infer-context.js';
import type { Dim } from './types.js';

const binary: ShapeRule = (c) => {
  c.arity(2);
  const a = c.input(0, 'a');
  const b = c.input(1, 'b');
  c.sameDType(a, b, 'a', 'b');
  return [{ shape: c.broadcast(a.shape, b.shape), dtype: a.dtype }];
};

const compare: ShapeRule = (c) => {
  const [out] = binary(c);
  return [{ shape: out!.shape, dtype: 'bool' }];
};

const where: ShapeRule = (c) => {
  c.arity(3);
  const cond = c.input(0, 'cond');
  const a = c.input(1, 'a');
  const b = c.input(2, 'b');
  c.dtypeIn(cond, ['bool'], 'cond');
  c.sameDType(a, b, 'a', 'b');
  return [{ shape: c.broadcast(cond.shape, c.broadcast(a.shape, b.shape)), dtype: a.dtype }];
};

const unary: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  return [{ shape: x.shape, dtype: x.dtype }];
};

/** A unary rule that first checks attributes. */
function unaryWith(check: (c: InferContext) => void): ShapeRule {
  return (c) => {
    check(c);
    return unary(c);
  };
}

/** Shape after reducing `axes` of `shape`. */
function reduced(shape: readonly Dim[], axes: readonly number[], keepDims: boolean): Dim[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

function reduceAxes(c: InferContext, rank: number): number[] {
  const axes = c.ints('axes', undefined, 0);
  for (let i = 0; i < axes.length; i++) {
    if (axes[i]! >= rank) c.shapeError(`axis ${axes[i]} out of range for rank ${rank}`);
    if (i > 0 && axes[i]! <= axes[i - 1]!)
      c.graphError(`'axes' must be sorted and unique, got [${axes.join(',')}]`);
  }
  return axes;
}

const reduce: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const axes = reduceAxes(c, x.shape.length);
  return [{ shape: reduced(x.shape, axes, c.bool('keepDims')), dtype: x.dtype }];
};

/** Max/Min keep the input's quantization (the max of quantized values is a quantized value). */
const reduceKeepQuant: ShapeRule = (c) => {
  const [out] = reduce(c);
  const x = c.input(0, 'x');
  return [x.quant ? { ...out!, quant: x.quant } : out!];
};

const variance: ShapeRule = (c) => {
  c.num('correction');
  return reduce(c);
};

const argReduce: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const rank = x.shape.length;
  const axis = c.axis('axis', rank);
  const keep = c.bool('keepDims');
  return [{ shape: rank === 0 ? [] : reduced(x.shape, [axis], keep), dtype: 'int32' }];
};

const topK: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const rank = x.shape.length;
  const axis = c.axis('axis', rank);
  const k = c.int('k', 0);
  c.bool('largest');
  c.bool('sorted');
  const dim = rank === 0 ? 1 : x.shape[axis]!;
  if (isStatic(dim) && k > dim) c.shapeError(`k = ${k} exceeds dim ${axis} of size ${dim}`);
  const shape = rank === 0 ? [] : x.shape.map((d, i) => (i === axis ? k : d));
  const values: OutputInfo = x.quant ? { shape, dtype: x.dtype, quant: x.quant } : { shape, dtype: x.dtype };
  return [values, { shape, dtype: 'int32' }];
};

const topKGrad: ShapeRule = (c) => {
  c.arity(2);
  const dy = c.input(0, 'dy');
  const idx = c.input(1, 'indices');
  c.dtypeIn(idx, ['int32'], 'indices');
  const rank = dy.shape.length;
  const axis = c.axis('axis', rank);
  const size = c.int('size', 0);
  return [{ shape: rank === 0 ? [] : dy.shape.map((d, i) => (i === axis ? size : d)), dtype: dy.dtype }];
};

const softmax: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  c.axis('axis', x.shape.length);
  return [{ shape: x.shape, dtype: x.dtype }];
};

/** Shape rules of the elementwise and reduction kernels. */
export const elementwiseRules: Readonly<Record<string, ShapeRule>> = {
  [K.Add]: binary,
  [K.Sub]: binary,
  [K.Mul]: binary,
  [K.Div]: binary,
  [K.Pow]: binary,
  [K.Maximum]: binary,
  [K.Minimum]: binary,
  [K.Equal]: compare,
  [K.Greater]: compare,
  [K.Less]: compare,
  [K.GreaterEqual]: compare,
  [K.LessEqual]: compare,
  [K.NotEqual]: compare,
  [K.Where]: where,
  [K.Neg]: unary,
  [K.Abs]: unary,
  [K.Exp]: unary,
  [K.Log]: unary,
  [K.Sqrt]: unary,
  [K.Rsqrt]: unary,
  [K.Square]: unary,
  [K.Reciprocal]: unary,
  [K.Floor]: unary,
  [K.Round]: unary,
  [K.Sign]: unary,
  [K.Erf]: unary,
  [K.Tanh]: unary,
  [K.Sigmoid]: unary,
  [K.Relu]: unary,
  [K.Relu6]: unary,
  [K.LeakyRelu]: unaryWith((c) => c.num('alpha')),
  [K.HardSwish]: unary,
  [K.HardSigmoid]: unary,
  [K.Silu]: unary,
  [K.Gelu]: unaryWith((c) => c.str('approximate', ['none', 'tanh'])),
  [K.Clip]: unaryWith((c) => {
    c.optNum('min');
    c.optNum('max');
  }),
  [K.Cast]: (c) => {
    c.arity(1);
    return [{ shape: c.input(0, 'x').shape, dtype: c.dtype('dtype') }];
  },
  [K.Sum]: reduce,
  [K.Mean]: reduce,
  [K.Max]: reduceKeepQuant,
  [K.Min]: reduceKeepQuant,
  [K.Prod]: reduce,
  [K.LogSumExp]: reduce,
  [K.Variance]: variance,
  [K.ArgMax]: argReduce,
  [K.ArgMin]: argReduce,
  [K.TopK]: topK,
  [K.TopKGrad]: topKGrad,
  [K.Softmax]: softmax,
  [K.LogSoftmax]: softmax,
};
