// TFLite converters of the NN ops: convolution (CONV_2D / DEPTHWISE_CONV_2D, OHWI and [1,H,W,C·M] weights),
// pooling, fully connected, batch matmul, resize and the normalisations (decomposed).
import type {
  BatchNormAttrs,
  FusedConv2DAttrs,
  LayerNormAttrs,
  MatMulAttrs,
  Node,
  Pool2DAttrs,
  ResizeAttrs,
} from '@tinyvision/tensor';
import { permute, type TflContext, TO_NHWC } from './context.js';
import {
  ActivationFunctionType,
  BuiltinOperator,
  BuiltinOptions,
  Padding,
  TensorType,
} from './generated/schema_generated.js';
import { emitActivation, fusedActivation, type TflConverter } from './ops-common.js';

/** Explicit pads `[top, left, bottom, right]` equal TF 'SAME' for this window and output size. */
function isSame(
  inHW: readonly number[],
  outHW: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  pads: readonly number[],
): boolean {
  for (let i = 0; i < 2; i++) {
    if (outHW[i] !== Math.ceil(inHW[i]! / s[i]!)) return false;
    const total = Math.max((outHW[i]! - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!, 0);
    const before = Math.floor(total / 2);
    if (pads[i] !== before || pads[i + 2] !== total - before) return false;
  }
  return true;
}

/**
 * Pads an NHWC tensor spatially (PAD with zeros, or PADV2 with `value`) and returns the padded tensor.
 * @internal
 */
export function padSpatial(
  c: TflContext,
  node: Node,
  x: number,
  nhwc: readonly number[],
  pads: readonly number[],
  value = 0,
): number {
  const [top, left, bottom, right] = pads as [number, number, number, number];
  const shape = [nhwc[0]!, nhwc[1]! + top + bottom, nhwc[2]! + left + right, nhwc[3]!];
  const q = c.tensors[x]!.quant;
  const out = c.tmp(`${node.name}/pad`, shape, c.tensors[x]!.type, q);
  const paddings = c.constI32(`${node.name}/paddings`, [0, 0, top, bottom, left, right, 0, 0], [4, 2]);
  if (value === 0) c.op(BuiltinOperator.PAD, [x, paddings], [out], { type: BuiltinOptions.PadOptions });
  else {
    const v = c.constF32(`${node.name}/padValue`, [value], []);
    c.op(BuiltinOperator.PADV2, [x, paddings, v], [out], { type: BuiltinOptions.PadV2Options });
  }
  return out;
}

/**
 * Conv2D / FusedConv2D → [PAD] + CONV_2D or DEPTHWISE_CONV_2D (+ activation ops TFLite cannot fuse).
 * @internal
 */
export function conv(): TflConverter {
  return (c, node) => {
    const a = node.attrs as unknown as FusedConv2DAttrs;
    const [xName, wName, bName] = node.inputs;
    const w = c.init(wName);
    if (!w || (w.dtype !== 'float32' && !(w.dtype === 'int8' && w.quant))) {
      throw c.unsupported(node, 'needs a constant float32 (or quantized int8) weight');
    }
    const b = c.init(bName);
    if (bName && !b) throw c.unsupported(node, 'needs a constant bias');
    const xs = c.shape(xName!);
    const ys = c.shape(node.outputs[0]!);
    const [O, Ig, kh, kw] = w.shape as [number, number, number, number];
    const cin = xs[1]!;
    const depthwise = a.groups > 1 && a.groups === cin && Ig === 1;
    if (a.groups !== 1 && !depthwise)
      throw c.unsupported(node, `has groups ${a.groups} (only 1 or depthwise)`);
    let x = c.get(xName!, 'nhwc');
    let padding = Padding.VALID;
    const pads = a.pads;
    if (pads.some((p) => p !== 0)) {
      if (isSame([xs[2]!, xs[3]!], [ys[2]!, ys[3]!], [kh, kw], a.strides, a.dilations, pads)) {
        padding = Padding.SAME;
      } else {
        if (pads.some((p) => p < 0)) throw c.unsupported(node, 'has negative pads');
        x = padSpatial(c, node, x, permute(xs, TO_NHWC), pads);
      }
    }
    const wt = depthwise
      ? c.permutedConstant(w, [O, kh, kw], [1, 2, 0], 3, [1, kh, kw, O])
      : c.permutedConstant(w, [O, Ig, kh, kw], TO_NHWC, 0);
    const quantized = w.dtype === 'int8';
    let bias: number;
    if (b) bias = c.constant(b, 'plain');
    else if (quantized) {
      // int8 CONV_2D needs a bias: zeros with scale inputScale × weightScale[c]
      const sx = c.tensors[x]!.quant?.scale[0] ?? 1;
      const sw = w.quant!.scale;
      const scale = Array.from({ length: O }, (_, i) => sx * (sw[sw.length === 1 ? 0 : i] ?? 1));
      bias = c.addTensor(`${node.name}/bias`, [O], TensorType.INT32, new Int32Array(O), {
        scale,
        zeroPoint: scale.map(() => 0),
        axis: 0,
      });
    } else bias = c.constF32(`${node.name}/bias`, new Float32Array(O), [O]);
    const act = a.activation ?? 'none';
    const fused = fusedActivation(act);
    const out = node.outputs[0]!;
    const y = c.out(out, 'nhwc');
    const target = fused === undefined ? c.tmp(`${node.name}/conv`, c.storedShape(out, 'nhwc')) : y;
    const common = {
      padding,
      strideW: a.strides[1],
      strideH: a.strides[0],
      fusedActivationFunction: fused ?? ActivationFunctionType.NONE,
      dilationWFactor: a.dilations[1],
      dilationHFactor: a.dilations[0],
    };
    if (depthwise) {
      c.op(
        BuiltinOperator.DEPTHWISE_CONV_2D,
        [x, wt, bias],
        [target],
        {
          type: BuiltinOptions.DepthwiseConv2DOptions,
          values: { ...common, depthMultiplier: O / cin },
        },
        2,
      );
    } else {
      c.op(BuiltinOperator.CONV_2D, [x, wt, bias], [target], {
        type: BuiltinOptions.Conv2DOptions,
        values: common,
      });
    }
    if (fused === undefined) emitActivation(c, node, act, target, y, c.storedShape(out, 'nhwc'));
  };
}

/** MaxPool2D / AvgPool2D → [PAD/PADV2] + MAX_POOL_2D / AVERAGE_POOL_2D. @internal */
export function pool(max: boolean): TflConverter {
  return (c, node) => {
    const a = node.attrs as unknown as Pool2DAttrs;
    if (a.dilations.some((d) => d !== 1)) throw c.unsupported(node, 'has dilation (not in TFLite pooling)');
    const xName = node.inputs[0]!;
    const xs = c.shape(xName);
    const ys = c.shape(node.outputs[0]!);
    const k = a.kernelSize;
    const s = a.strides;
    let x = c.get(xName, 'nhwc');
    let padding = Padding.VALID;
    const same = isSame([xs[2]!, xs[3]!], [ys[2]!, ys[3]!], k, s, [1, 1], a.pads);
    // padded cells: TFLite SAME ignores them (max, and avg without count_include_pad)
    const zero = a.pads.every((p) => p === 0);
    if (!zero && same && (max || !a.countIncludePad)) padding = Padding.SAME;
    else {
      const extraH = Math.max(0, (ys[2]! - 1) * s[0] + k[0] - (xs[2]! + a.pads[0] + a.pads[2]));
      const extraW = Math.max(0, (ys[3]! - 1) * s[1] + k[1] - (xs[3]! + a.pads[1] + a.pads[3]));
      const pads = [a.pads[0], a.pads[1], a.pads[2] + extraH, a.pads[3] + extraW];
      if (pads.some((p) => p !== 0)) {
        if (!max && (!a.countIncludePad || extraH || extraW)) {
          throw c.unsupported(node, 'pads an average pool in a way TFLite cannot express');
        }
        x = padSpatial(c, node, x, permute(xs, TO_NHWC), pads, max ? -3.4028234663852886e38 : 0);
      }
    }
    c.op(
      max ? BuiltinOperator.MAX_POOL_2D : BuiltinOperator.AVERAGE_POOL_2D,
      [x],
      [c.out(node.outputs[0]!, 'nhwc')],
      {
        type: BuiltinOptions.Pool2DOptions,
        values: {
          padding,
          strideW: s[1],
          strideH: s[0],
          filterWidth: k[1],
          filterHeight: k[0],
          fusedActivationFunction: ActivationFunctionType.NONE,
        },
      },
    );
  };
}

/** GlobalAvgPool / GlobalMaxPool → MEAN / REDUCE_MAX over H, W (NHWC axes 1, 2), keeping dims. @internal */
export function globalPool(max: boolean): TflConverter {
  return (c, node) => {
    c.op(
      max ? BuiltinOperator.REDUCE_MAX : BuiltinOperator.MEAN,
      [c.get(node.inputs[0]!, 'nhwc'), c.constI32(`${node.name}/axes`, [1, 2])],
      [c.out(node.outputs[0]!, 'nhwc')],
      { type: BuiltinOptions.ReducerOptions, values: { keepDims: true } },
    );
  };
}

/** Linear → FULLY_CONNECTED (weights [out, in] as they are, keep_num_dims for rank > 2). @internal */
export function linear(): TflConverter {
  return (c, node) => {
    const [xName, wName, bName] = node.inputs;
    const w = c.init(wName);
    if (!w || (w.dtype !== 'float32' && !(w.dtype === 'int8' && w.quant))) {
      throw c.unsupported(node, 'needs a constant float32 (or quantized int8) weight');
    }
    const b = c.init(bName);
    if (bName && !b) throw c.unsupported(node, 'needs a constant bias');
    const rank = c.shape(xName!).length;
    c.op(
      BuiltinOperator.FULLY_CONNECTED,
      [c.get(xName!, 'plain'), c.constant(w, 'plain'), b ? c.constant(b, 'plain') : -1],
      [c.out(node.outputs[0]!, 'plain')],
      {
        type: BuiltinOptions.FullyConnectedOptions,
        values: { fusedActivationFunction: ActivationFunctionType.NONE, keepNumDims: rank > 2 },
      },
    );
  };
}

/** MatMul → BATCH_MATMUL (adj_x / adj_y). @internal */
export const matmul: TflConverter = (c, node) => {
  const a = node.attrs as unknown as MatMulAttrs;
  c.op(
    BuiltinOperator.BATCH_MATMUL,
    [c.get(node.inputs[0]!, 'plain'), c.get(node.inputs[1]!, 'plain')],
    [c.out(node.outputs[0]!, 'plain')],
    { type: BuiltinOptions.BatchMatMulOptions, values: { adjX: a.transposeA, adjY: a.transposeB } },
  );
};

/** Resize → RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR. @internal */
export const resize: TflConverter = (c, node) => {
  const a = node.attrs as unknown as ResizeAttrs;
  const xs = c.shape(node.inputs[0]!);
  if (a.scales && a.coordinateMode !== 'align_corners') {
    for (let i = 0; i < 2; i++) {
      if (Math.abs(a.size[i]! / xs[i + 2]! - a.scales[i]!) > 1e-6 * a.scales[i]!) {
        throw c.unsupported(
          node,
          `has scale ${a.scales[i]} that differs from size/input (TFLite maps by size)`,
        );
      }
    }
  }
  let alignCorners = false;
  let halfPixelCenters = false;
  if (a.mode === 'nearest') {
    if (a.coordinateMode !== 'asymmetric') throw c.unsupported(node, `nearest with '${a.coordinateMode}'`);
  } else if (a.coordinateMode === 'align_corners') alignCorners = true;
  else if (a.coordinateMode === 'half_pixel' || a.coordinateMode === 'pytorch_half_pixel') {
    halfPixelCenters = true;
  }
  const nearest = a.mode === 'nearest';
  c.op(
    nearest ? BuiltinOperator.RESIZE_NEAREST_NEIGHBOR : BuiltinOperator.RESIZE_BILINEAR,
    [c.get(node.inputs[0]!, 'nhwc'), c.constI32(`${node.name}/size`, [...a.size])],
    [c.out(node.outputs[0]!, 'nhwc')],
    {
      type: nearest ? BuiltinOptions.ResizeNearestNeighborOptions : BuiltinOptions.ResizeBilinearOptions,
      values: { alignCorners, halfPixelCenters },
    },
    nearest ? 1 : halfPixelCenters ? 3 : 1,
  );
};

/** LayerNorm over the last dims → MEAN, SUB, MUL, MEAN, ADD, RSQRT, MUL (+ MUL gamma, ADD beta). @internal */
export const layerNorm: TflConverter = (c, node) => {
  const a = node.attrs as unknown as LayerNormAttrs;
  const [xName, gName, bName] = node.inputs;
  const xs = c.shape(xName!);
  const axes = Array.from({ length: a.normalizedDims }, (_, i) => xs.length - a.normalizedDims + i);
  const red = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const x = c.get(xName!, 'plain');
  const n = node.name;
  const axesT = c.constI32(`${n}/axes`, axes);
  const reduceOpts = { type: BuiltinOptions.ReducerOptions, values: { keepDims: true } };
  const mean = c.tmp(`${n}/mean`, red);
  c.op(BuiltinOperator.MEAN, [x, axesT], [mean], reduceOpts);
  const d = c.tmp(`${n}/centered`, xs);
  c.op(BuiltinOperator.SUB, [x, mean], [d], { type: BuiltinOptions.SubOptions });
  const d2 = c.tmp(`${n}/squared`, xs);
  c.op(BuiltinOperator.MUL, [d, d], [d2], { type: BuiltinOptions.MulOptions });
  const v = c.tmp(`${n}/var`, red);
  c.op(BuiltinOperator.MEAN, [d2, axesT], [v], reduceOpts);
  const ve = c.tmp(`${n}/varEps`, red);
  c.op(BuiltinOperator.ADD, [v, c.constF32(`${n}/eps`, [a.epsilon], [])], [ve], {
    type: BuiltinOptions.AddOptions,
  });
  const r = c.tmp(`${n}/rstd`, red);
  c.op(BuiltinOperator.RSQRT, [ve], [r]);
  const out = c.out(node.outputs[0]!, 'plain');
  const steps: [BuiltinOperator, BuiltinOptions, number][] = [
    [BuiltinOperator.MUL, BuiltinOptions.MulOptions, r],
  ];
  if (gName) steps.push([BuiltinOperator.MUL, BuiltinOptions.MulOptions, c.get(gName, 'plain')]);
  if (bName) steps.push([BuiltinOperator.ADD, BuiltinOptions.AddOptions, c.get(bName, 'plain')]);
  let cur = d;
  steps.forEach(([code, opts, operand], i) => {
    const o = i === steps.length - 1 ? out : c.tmp(`${n}/step${i}`, xs);
    c.op(code, [cur, operand], [o], { type: opts });
    cur = o;
  });
};

/** Inference BatchNorm (when not folded) → MUL + ADD with per-channel constants. @internal */
export const batchNorm: TflConverter = (c, node) => {
  const a = node.attrs as unknown as BatchNormAttrs;
  const [xName, mName, vName, gName, bName] = node.inputs;
  const [m, v, g, b] = [mName, vName, gName, bName].map((n) => c.init(n));
  if (!m || !v || (gName && !g) || (bName && !b)) throw c.unsupported(node, 'needs constant statistics');
  const C = m.shape[0]!;
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  for (let i = 0; i < C; i++) {
    const s = (g ? g.data[i]! : 1) / Math.sqrt(v.data[i]! + a.epsilon);
    scale[i] = s;
    shift[i] = (b ? b.data[i]! : 0) - m.data[i]! * s;
  }
  const xs = c.shape(xName!);
  const nhwc = xs.length === 4;
  const cshape = nhwc ? [C] : [C, ...new Array<number>(xs.length - 2).fill(1)];
  const x = c.get(xName!, nhwc ? 'nhwc' : 'plain');
  const layout = nhwc ? 'nhwc' : 'plain';
  const t = c.tmp(`${node.name}/scaled`, c.storedShape(node.outputs[0]!, layout));
  c.op(BuiltinOperator.MUL, [x, c.constF32(`${node.name}/scale`, scale, cshape)], [t], {
    type: BuiltinOptions.MulOptions,
  });
  c.op(
    BuiltinOperator.ADD,
    [t, c.constF32(`${node.name}/shift`, shift, cshape)],
    [c.out(node.outputs[0]!, layout)],
    { type: BuiltinOptions.AddOptions },
  );
};
