import * as K from '../backend/kernel-names.js';
import {
  dimMap,
  dimMul,
  fmtDims,
  type InferContext,
  isStatic,
  type ShapeRule,
  windowOut,
} from './infer-context.js';
import type { Dim, ValueInfo } from './types.js';

const FLOATS = ['float32', 'float16', 'bfloat16'] as const;

/** Batched matmul shape: `[..., M, K] @ [..., K, N]` with optional transposes of the last two dims. */
function matmulShape(c: InferContext, a: ValueInfo, b: ValueInfo, ta: boolean, tb: boolean): Dim[] {
  if (a.shape.length < 2 || b.shape.length < 2) {
    c.shapeError(`'a' ${fmtDims(a.shape)} and 'b' ${fmtDims(b.shape)} must have rank >= 2`);
  }
  const ar = a.shape.length;
  const br = b.shape.length;
  const [m, ka] = ta ? [a.shape[ar - 1]!, a.shape[ar - 2]!] : [a.shape[ar - 2]!, a.shape[ar - 1]!];
  const [kb, n] = tb ? [b.shape[br - 1]!, b.shape[br - 2]!] : [b.shape[br - 2]!, b.shape[br - 1]!];
  if (ka !== kb) c.shapeError(`inner dims differ: 'a' ${fmtDims(a.shape)}, 'b' ${fmtDims(b.shape)}`);
  return [...c.broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
}

/** Reads the shared Conv2D attributes. */
function convAttrs(c: InferContext) {
  return {
    strides: c.ints('strides', 2, 1),
    pads: c.ints('pads', 4, 0),
    dilations: c.ints('dilations', 2, 1),
    groups: c.int('groups', 1),
  };
}

/** Conv2D-style output shape; checks x/w/bias agreement. */
function convShape(c: InferContext, x: ValueInfo, w: ValueInfo, bias: ValueInfo | null): Dim[] {
  c.rank(x, 4, 'x');
  c.rank(w, 4, 'w');
  const { strides: s, pads: p, dilations: d, groups } = convAttrs(c);
  const [n, ch, h, wd] = x.shape as Dim[];
  const [o, ig, kh, kw] = w.shape as Dim[];
  if (!isStatic(kh) || !isStatic(kw)) c.shapeError(`'w' ${fmtDims(w.shape)} needs static kernel dims`);
  c.sameDim(ch!, dimMul(ig!, groups), `'x' channels vs 'w' [O, I/groups=${ig}, kH, kW] x groups ${groups}`);
  if (isStatic(o!) && o % groups !== 0)
    c.shapeError(`'w' out channels ${o} not divisible by groups ${groups}`);
  if (bias)
    c.sameDim(
      bias.shape.length === 1 ? bias.shape[0]! : -1,
      o!,
      `'bias' ${fmtDims(bias.shape)} vs out channels`,
    );
  const oh = windowOut(h!, kh, s[0]!, p[0]! + p[2]!, d[0]!);
  const ow = windowOut(wd!, kw, s[1]!, p[1]! + p[3]!, d[1]!);
  if ((isStatic(oh) && oh <= 0) || (isStatic(ow) && ow <= 0)) {
    c.shapeError(`input ${fmtDims(x.shape)} too small for kernel [${kh},${kw}] (output ${oh}x${ow})`);
  }
  return [n!, o!, oh, ow];
}

const conv2d: ShapeRule = (c) => {
  c.arity(2, 3);
  const x = c.input(0, 'x');
  const w = c.input(1, 'w');
  c.mixedFloat(x, w, 'x', 'w');
  return [{ shape: convShape(c, x, w, c.optional(2)), dtype: x.dtype }];
};

const fusedConv2d: ShapeRule = (c) => {
  c.str('activation', ['none', 'relu', 'relu6', 'hardSwish', 'hardSigmoid', 'sigmoid', 'silu', 'tanh']);
  return conv2d(c);
};

const qconv2d: ShapeRule = (c) => {
  c.arity(2, 3);
  const x = c.input(0, 'x');
  const w = c.input(1, 'w');
  c.dtypeIn(x, ['int8', 'uint8'], 'x');
  c.dtypeIn(w, ['int8'], 'w');
  const bias = c.optional(2);
  if (bias) c.dtypeIn(bias, ['int32'], 'bias');
  c.str('activation', ['none', 'relu', 'relu6']);
  return [{ shape: convShape(c, x, w, bias), dtype: x.dtype, quant: c.quant('outQuant') }];
};

const convTranspose2d: ShapeRule = (c: InferContext) => {
  c.arity(2, 3);
  const x = c.input(0, 'x');
  const w = c.input(1, 'w');
  c.rank(x, 4, 'x');
  c.rank(w, 4, 'w');
  const { strides: s, pads: p, dilations: d, groups } = convAttrs(c);
  const op = c.ints('outputPadding', 2, 0);
  const [n, ch, h, wd] = x.shape as Dim[];
  const [i, og, kh, kw] = w.shape as Dim[];
  if (!isStatic(kh) || !isStatic(kw)) c.shapeError(`'w' ${fmtDims(w.shape)} needs static kernel dims`);
  c.sameDim(ch!, i!, `'x' channels vs 'w' [I, O/groups, kH, kW]`);
  const o = dimMul(og!, groups);
  const bias = c.optional(2);
  if (bias)
    c.sameDim(
      bias.shape.length === 1 ? bias.shape[0]! : -1,
      o,
      `'bias' ${fmtDims(bias.shape)} vs out channels`,
    );
  const out = (dim: Dim, k: number, j: number) =>
    dimMap(
      dim,
      (v) => (v - 1) * s[j]! - p[j]! - p[j + 2]! + d[j]! * (k - 1) + op[j]! + 1,
      `convT${k}s${s[j]}`,
    );
  return [{ shape: [n!, o, out(h!, kh, 0), out(wd!, kw, 1)], dtype: x.dtype }];
};

const conv2dBackpropFilter: ShapeRule = (c) => {
  c.arity(2);
  const x = c.input(0, 'x');
  c.input(1, 'dy');
  convAttrs(c);
  return [{ shape: c.ints('filterShape', 4, 0), dtype: x.dtype }];
};

const matmul: ShapeRule = (c) => {
  c.arity(2);
  const a = c.input(0, 'a');
  const b = c.input(1, 'b');
  c.mixedFloat(a, b, 'a', 'b');
  return [{ shape: matmulShape(c, a, b, c.bool('transposeA'), c.bool('transposeB')), dtype: a.dtype }];
};

const qmatmul: ShapeRule = (c) => {
  c.arity(2, 3);
  const a = c.input(0, 'a');
  const b = c.input(1, 'b');
  c.dtypeIn(a, ['int8', 'uint8'], 'a');
  c.dtypeIn(b, ['int8'], 'b');
  c.rank(b, 2, 'b');
  c.str('activation', ['none', 'relu', 'relu6']);
  return [{ shape: matmulShape(c, a, b, false, false), dtype: a.dtype, quant: c.quant('outQuant') }];
};

const linear: ShapeRule = (c) => {
  c.arity(2, 3);
  const x = c.input(0, 'x');
  const w = c.input(1, 'w');
  c.mixedFloat(x, w, 'x', 'w');
  c.rank(w, 2, 'w');
  if (x.shape.length < 1) c.shapeError(`'x' must have rank >= 1`);
  c.sameDim(x.shape[x.shape.length - 1]!, w.shape[1]!, `'x' features vs 'w' [out, in]`);
  const bias = c.optional(2);
  if (bias)
    c.sameDim(
      bias.shape.length === 1 ? bias.shape[0]! : -1,
      w.shape[0]!,
      `'bias' ${fmtDims(bias.shape)} vs out`,
    );
  return [{ shape: [...x.shape.slice(0, -1), w.shape[0]!], dtype: x.dtype }];
};

/** Checks an optional per-channel parameter has shape `want`. */
function param(c: InferContext, v: ValueInfo | null, want: readonly Dim[], arg: string): void {
  if (v && (v.shape.length !== want.length || v.shape.some((d, i) => d !== want[i]))) {
    c.shapeError(`'${arg}' (${v.name}) shape ${fmtDims(v.shape)} must be ${fmtDims(want)}`);
  }
}

const batchNorm: ShapeRule = (c) => {
  c.arity(3, 5);
  const x = c.input(0, 'x');
  c.num('epsilon');
  if (x.shape.length < 2) c.shapeError(`'x' ${fmtDims(x.shape)} must have rank >= 2`);
  const ch = [x.shape[1]!];
  param(c, c.input(1, 'mean'), ch, 'mean');
  param(c, c.input(2, 'var'), ch, 'var');
  param(c, c.optional(3), ch, 'gamma');
  param(c, c.optional(4), ch, 'beta');
  return [{ shape: x.shape, dtype: x.dtype }];
};

/** BatchNormTrain: x, gamma?, beta? → y, saveMean [C], saveInvStd [C]. */
const batchNormTrain: ShapeRule = (c) => {
  c.arity(1, 3);
  const x = c.input(0, 'x');
  c.num('epsilon');
  if (x.shape.length < 2) c.shapeError(`'x' ${fmtDims(x.shape)} must have rank >= 2`);
  const ch = [x.shape[1]!];
  param(c, c.optional(1), ch, 'gamma');
  param(c, c.optional(2), ch, 'beta');
  return [
    { shape: x.shape, dtype: x.dtype },
    { shape: ch, dtype: x.dtype },
    { shape: ch, dtype: x.dtype },
  ];
};

/** BatchNormTrainGrad: dy, x, gamma?, saveMean, saveInvStd → dx, dgamma [C], dbeta [C]. */
const batchNormTrainGrad: ShapeRule = (c) => {
  c.arity(5);
  const dy = c.input(0, 'dy');
  const x = c.input(1, 'x');
  c.num('epsilon');
  if (x.shape.length < 2) c.shapeError(`'x' ${fmtDims(x.shape)} must have rank >= 2`);
  param(c, dy, x.shape, 'dy');
  const ch = [x.shape[1]!];
  param(c, c.optional(2), ch, 'gamma');
  param(c, c.input(3, 'saveMean'), ch, 'saveMean');
  param(c, c.input(4, 'saveInvStd'), ch, 'saveInvStd');
  return [
    { shape: x.shape, dtype: dy.dtype },
    { shape: ch, dtype: dy.dtype },
    { shape: ch, dtype: dy.dtype },
  ];
};

const layerNorm: ShapeRule = (c) => {
  c.arity(1, 3);
  const x = c.input(0, 'x');
  c.num('epsilon');
  const k = c.int('normalizedDims', 1);
  if (k > x.shape.length) c.shapeError(`normalizedDims ${k} exceeds rank of ${fmtDims(x.shape)}`);
  const ns = x.shape.slice(x.shape.length - k);
  param(c, c.optional(1), ns, 'gamma');
  param(c, c.optional(2), ns, 'beta');
  return [{ shape: x.shape, dtype: x.dtype }];
};

const groupNorm: ShapeRule = (c) => {
  c.arity(1, 3);
  const x = c.input(0, 'x');
  c.num('epsilon');
  const g = c.int('numGroups', 1);
  if (x.shape.length < 2) c.shapeError(`'x' ${fmtDims(x.shape)} must have rank >= 2`);
  const ch = x.shape[1]!;
  if (isStatic(ch) && ch % g !== 0) c.shapeError(`numGroups ${g} does not divide channels ${ch}`);
  param(c, c.optional(1), [ch], 'gamma');
  param(c, c.optional(2), [ch], 'beta');
  return [{ shape: x.shape, dtype: x.dtype }];
};

/** Pooling output dim with PyTorch's ceil-mode rule. */
function poolDim(n: Dim, k: number, s: number, d: number, p0: number, p1: number, ceil: boolean): Dim {
  return dimMap(
    n,
    (v) => {
      const span = v + p0 + p1 - ((k - 1) * d + 1);
      let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceil && (out - 1) * s >= v + p0) out--;
      return out;
    },
    `pool${k}s${s}p${p0}_${p1}d${d}${ceil ? 'c' : ''}`,
  );
}

function poolShape(c: InferContext, x: ValueInfo): Dim[] {
  c.rank(x, 4, 'x');
  const k = c.ints('kernelSize', 2, 1);
  const s = c.ints('strides', 2, 1);
  const p = c.ints('pads', 4, 0);
  const d = c.ints('dilations', 2, 1);
  const ceil = c.bool('ceilMode');
  c.bool('countIncludePad');
  const oh = poolDim(x.shape[2]!, k[0]!, s[0]!, d[0]!, p[0]!, p[2]!, ceil);
  const ow = poolDim(x.shape[3]!, k[1]!, s[1]!, d[1]!, p[1]!, p[3]!, ceil);
  if ((isStatic(oh) && oh <= 0) || (isStatic(ow) && ow <= 0)) {
    c.shapeError(`input ${fmtDims(x.shape)} too small for kernel [${k.join(',')}] (output ${oh}x${ow})`);
  }
  return [x.shape[0]!, x.shape[1]!, oh, ow];
}

const pool: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  const shape = poolShape(c, x);
  return [
    x.quant && c.node.op === K.MaxPool2D
      ? { shape, dtype: x.dtype, quant: x.quant }
      : { shape, dtype: x.dtype },
  ];
};

const globalPool: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  if (x.shape.length < 3) c.shapeError(`'x' ${fmtDims(x.shape)} must have rank >= 3 (N, C, spatial…)`);
  const shape = x.shape.map((d, i) => (i < 2 ? d : 1));
  return [
    x.quant && c.node.op === K.GlobalMaxPool
      ? { shape, dtype: x.dtype, quant: x.quant }
      : { shape, dtype: x.dtype },
  ];
};

const resize: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  c.rank(x, 4, 'x');
  const size = c.ints('size', 2, 1);
  c.str('mode', ['nearest', 'bilinear']);
  c.str('coordinateMode', ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel']);
  const shape = [x.shape[0]!, x.shape[1]!, size[0]!, size[1]!];
  return [x.quant ? { shape, dtype: x.dtype, quant: x.quant } : { shape, dtype: x.dtype }];
};

/** Gradient kernels whose output is the forward input, given by an `inputShape` attribute. */
function gradToInputShape(min: number, max: number): ShapeRule {
  return (c) => {
    c.arity(min, max);
    const dy = c.input(max - 1, 'dy');
    return [{ shape: c.ints('inputShape', undefined, 0), dtype: dy.dtype }];
  };
}

function unfoldParams(c: InferContext) {
  return {
    k: c.ints('kernelSize', 2, 1),
    s: c.ints('strides', 2, 1),
    p: c.ints('pads', 2, 0),
    d: c.ints('dilations', 2, 1),
  };
}

const unfold: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  c.rank(x, 4, 'x');
  const { k, s, p, d } = unfoldParams(c);
  const lh = windowOut(x.shape[2]!, k[0]!, s[0]!, 2 * p[0]!, d[0]!);
  const lw = windowOut(x.shape[3]!, k[1]!, s[1]!, 2 * p[1]!, d[1]!);
  return [{ shape: [x.shape[0]!, dimMul(x.shape[1]!, k[0]! * k[1]!), dimMul(lh, lw)], dtype: x.dtype }];
};

const fold: ShapeRule = (c) => {
  c.arity(1);
  const x = c.input(0, 'x');
  c.rank(x, 3, 'x');
  const { k, s, p, d } = unfoldParams(c);
  const os = c.ints('outputSize', 2, 1);
  const kk = k[0]! * k[1]!;
  const ckk = x.shape[1]!;
  if (isStatic(ckk) && ckk % kk !== 0) c.shapeError(`dim 1 (${ckk}) not divisible by kernel area ${kk}`);
  const l = windowOut(os[0]!, k[0]!, s[0]!, 2 * p[0]!, d[0]!) as number;
  const lw = windowOut(os[1]!, k[1]!, s[1]!, 2 * p[1]!, d[1]!) as number;
  if (isStatic(x.shape[2]!) && x.shape[2] !== l * lw)
    c.shapeError(`L = ${x.shape[2]} but outputSize gives ${l * lw} blocks`);
  const ch = isStatic(ckk) ? ckk / kk : `${ckk}/${kk}`;
  return [{ shape: [x.shape[0]!, ch, os[0]!, os[1]!], dtype: x.dtype }];
};

/** Shape rules of the linear-algebra, convolution, normalisation, pooling, resampling and quant kernels. */
export const nnRules: Readonly<Record<string, ShapeRule>> = {
  [K.MatMul]: matmul,
  [K.Linear]: linear,
  [K.Conv2D]: conv2d,
  [K.Conv2DBackpropFilter]: conv2dBackpropFilter,
  [K.ConvTranspose2D]: convTranspose2d,
  [K.FusedConv2D]: fusedConv2d,
  [K.BatchNorm]: batchNorm,
  [K.LayerNorm]: layerNorm,
  [K.GroupNorm]: groupNorm,
  [K.BatchNormTrain]: batchNormTrain,
  [K.BatchNormTrainGrad]: batchNormTrainGrad,
  [K.MaxPool2D]: pool,
  [K.AvgPool2D]: pool,
  [K.MaxPool2DGrad]: (c) => {
    c.arity(2);
    const x = c.input(0, 'x');
    c.input(1, 'dy');
    poolShape(c, x);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  [K.AvgPool2DGrad]: gradToInputShape(1, 1),
  [K.GlobalAvgPool]: globalPool,
  [K.GlobalMaxPool]: globalPool,
  [K.Resize]: resize,
  [K.ResizeGrad]: gradToInputShape(1, 1),
  [K.Unfold]: unfold,
  [K.Fold]: fold,
  [K.QuantizeLinear]: (c) => {
    c.arity(1);
    const x = c.input(0, 'x');
    c.dtypeIn(x, FLOATS, 'x');
    return [{ shape: x.shape, dtype: c.str('dtype', ['int8', 'uint8', 'int32']), quant: c.quant('quant') }];
  },
  [K.DequantizeLinear]: (c) => {
    c.arity(1);
    const x = c.input(0, 'x');
    c.dtypeIn(x, ['int8', 'uint8', 'int32'], 'x');
    return [{ shape: x.shape, dtype: 'float32' }];
  },
  [K.FakeQuantize]: (c) => {
    c.arity(1);
    const x = c.input(0, 'x');
    c.quant('quant');
    c.int('qmin');
    c.int('qmax');
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  [K.FakeQuantizeGrad]: (c) => {
    c.arity(2);
    const x = c.input(0, 'x');
    const dy = c.input(1, 'dy');
    if (x.shape.length !== dy.shape.length || x.shape.some((d, i) => d !== dy.shape[i])) {
      c.shapeError(`'dy' ${fmtDims(dy.shape)} must match 'x' ${fmtDims(x.shape)}`);
    }
    return [{ shape: dy.shape, dtype: dy.dtype }];
  },
  [K.QConv2D]: qconv2d,
  [K.QMatMul]: qmatmul,
};
