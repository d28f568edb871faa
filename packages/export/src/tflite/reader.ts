// importTflite: .tflite bytes → Graph, for the builtin ops the writer emits. Values keep their TFLite (NHWC)
// shapes; NHWC-only ops (conv, pooling, resize) are wrapped in Transpose nodes around the NCHW kernels.
// Quantized tensors come back in the QDQ form of decision 0003 (DequantizeLinear on inputs, QuantizeLinear on
// outputs, int8 weights and int32 biases as quantized initializers).
import {
  type Activation,
  type Attrs,
  type DType,
  FormatError,
  float16BitsToFloat32,
  type Graph,
  type Initializer,
  inferShapes,
  makeGraph,
  ShapeError,
  TinyVisionError,
  UnsupportedOpError,
  validateGraph,
} from '@tinyvision/tensor';
import { permute, transposeData } from './context.js';
import {
  ActivationFunctionType,
  BuiltinOperator,
  MirrorPadMode,
  Padding,
} from './generated/schema_generated.js';
import type { TflOperator } from './ir.js';
import { readTfliteModel } from './parse.js';
import { Importer } from './reader-context.js';

const ACTIVATIONS: Partial<Record<ActivationFunctionType, Activation>> = {
  [ActivationFunctionType.NONE]: 'none',
  [ActivationFunctionType.RELU]: 'relu',
  [ActivationFunctionType.RELU6]: 'relu6',
  [ActivationFunctionType.TANH]: 'tanh',
};

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function opt<T>(op: TflOperator, key: string, dflt: T): T {
  const v = op.options[key];
  return (v === undefined ? dflt : v) as T;
}

/** Explicit [top, left, bottom, right] pads of TF 'SAME' for an input size, window and stride. */
function samePads(inHW: number[], k: number[], s: number[], d: number[]): [number, number, number, number] {
  const p = [0, 1].map((i) => {
    const out = Math.ceil(inHW[i]! / s[i]!);
    const total = Math.max((out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)] as const;
  });
  return [p[0]![0], p[1]![0], p[0]![1], p[1]![1]];
}

/** Applies a fused activation after `value`, writing `out`. */
function fused(im: Importer, op: TflOperator, value: (dst: string) => unknown, out: string): string {
  const act = opt(op, 'fusedActivationFunction', 0) as ActivationFunctionType;
  if (act === ActivationFunctionType.NONE) {
    value(out);
    return out;
  }
  const kernel = {
    [ActivationFunctionType.RELU]: 'Relu',
    [ActivationFunctionType.RELU6]: 'Relu6',
    [ActivationFunctionType.TANH]: 'Tanh',
  }[act as 1 | 3 | 4];
  if (!kernel)
    throw new UnsupportedOpError(`importTflite: fused activation ${ActivationFunctionType[act] ?? act}`);
  const t = im.fresh('preact');
  value(t);
  return im.node(kernel, [t], [out]);
}

/** Runs `body` on the NCHW view of an NHWC tensor and transposes its NCHW result back into `out`. */
function nchw(im: Importer, x: string, out: string, body: (xNchw: string, yNchw: string) => unknown): string {
  const xt = im.fresh('to_nchw');
  im.node('Transpose', [x], [xt], { perm: TO_NCHW });
  const yt = im.fresh('nchw');
  body(xt, yt);
  return im.node('Transpose', [yt], [out], { perm: TO_NHWC });
}

const UNARY: Readonly<Record<number, string>> = {
  [BuiltinOperator.RELU]: 'Relu',
  [BuiltinOperator.RELU6]: 'Relu6',
  [BuiltinOperator.LOGISTIC]: 'Sigmoid',
  [BuiltinOperator.TANH]: 'Tanh',
  [BuiltinOperator.HARD_SWISH]: 'HardSwish',
  [BuiltinOperator.ABS]: 'Abs',
  [BuiltinOperator.NEG]: 'Neg',
  [BuiltinOperator.EXP]: 'Exp',
  [BuiltinOperator.LOG]: 'Log',
  [BuiltinOperator.SQRT]: 'Sqrt',
  [BuiltinOperator.RSQRT]: 'Rsqrt',
  [BuiltinOperator.SQUARE]: 'Square',
  [BuiltinOperator.FLOOR]: 'Floor',
};
const BINARY: Readonly<Record<number, string>> = {
  [BuiltinOperator.ADD]: 'Add',
  [BuiltinOperator.SUB]: 'Sub',
  [BuiltinOperator.MUL]: 'Mul',
  [BuiltinOperator.DIV]: 'Div',
  [BuiltinOperator.POW]: 'Pow',
  [BuiltinOperator.MAXIMUM]: 'Maximum',
  [BuiltinOperator.MINIMUM]: 'Minimum',
};
const REDUCE: Readonly<Record<number, string>> = {
  [BuiltinOperator.MEAN]: 'Mean',
  [BuiltinOperator.SUM]: 'Sum',
  [BuiltinOperator.REDUCE_MAX]: 'Max',
  [BuiltinOperator.REDUCE_MIN]: 'Min',
};

/** Emits the nodes of one operator; returns the value written (undefined when folded into a constant). */
function convert(im: Importer, op: TflOperator): string | undefined {
  const ins = op.inputs;
  const o = op.outputs[0];
  if (o === undefined) throw new FormatError('tflite: operator without outputs');
  const name = BuiltinOperator[op.code] ?? String(op.code);
  const x = () => im.input(ins[0]!);
  const out = () => im.output(o);
  const rankOf = (i: number) => im.shape(i).length;
  const unaryK = UNARY[op.code];
  if (unaryK) return im.node(unaryK, [x()], [out()]);
  const binK = BINARY[op.code];
  if (binK) {
    const a = x();
    const b = im.input(ins[1]!);
    return fused(im, op, (dst) => im.node(binK, [a, b], [dst]), out());
  }
  const redK = REDUCE[op.code];
  if (redK) {
    const r = rankOf(ins[0]!);
    const axes = [...new Set(im.ints(ins[1]!, `${name} axes`).map((a) => (a < 0 ? a + r : a)))].sort();
    if (axes.some((a) => a < 0 || a >= r)) throw new FormatError(`tflite: ${name} axis out of range`);
    return im.node(redK, [x()], [out()], { axes, keepDims: opt(op, 'keepDims', false) });
  }
  switch (op.code) {
    case BuiltinOperator.CONV_2D:
    case BuiltinOperator.DEPTHWISE_CONV_2D: {
      const dw = op.code === BuiltinOperator.DEPTHWISE_CONV_2D;
      const xs = im.shape(ins[0]!);
      const ws = im.shape(ins[1]!);
      if (xs.length !== 4 || ws.length !== 4)
        throw new ShapeError(`importTflite: ${name} needs rank-4 input and filter`);
      if (!im.isConst(ins[1]!))
        throw new UnsupportedOpError(`importTflite: ${name} with a non-constant filter`);
      const [a0, kh, kw, a3] = ws as [number, number, number, number];
      const wq = im.quant(ins[1]!);
      const wData = im.data(ins[1]!);
      const wDtype = im.dtype(ins[1]!) === 'float16' ? 'float16' : im.dtype(ins[1]!);
      const Ctor = wData.constructor as new (n: number) => Initializer['data'] & { [i: number]: number };
      // OHWI → OIHW; depthwise [1, H, W, O] → [O, 1, H, W]
      const oihw = dw
        ? transposeData(wData, [kh, kw, a3], [2, 0, 1], (n) => new Ctor(n))
        : transposeData(wData, ws, TO_NCHW, (n) => new Ctor(n));
      const O = dw ? a3 : a0;
      const shape = dw ? [O, 1, kh, kw] : permute(ws, TO_NCHW);
      const quant = wq ? (wq.axis !== undefined ? { ...wq, axis: 0 } : wq) : undefined;
      let data = oihw;
      let dtype: DType = wDtype;
      if (wDtype === 'float16') {
        data = Float32Array.from(oihw as Uint16Array, (b) => float16BitsToFloat32(b));
        dtype = 'float32';
      }
      const wName = im.floatOf(im.addInit('filter', { dtype, shape, data, ...(quant ? { quant } : {}) }));
      const bias = ins[2] !== undefined && ins[2] >= 0 ? im.input(ins[2]) : null;
      const strides: [number, number] = [opt(op, 'strideH', 1), opt(op, 'strideW', 1)];
      const dilations: [number, number] = [opt(op, 'dilationHFactor', 1), opt(op, 'dilationWFactor', 1)];
      if ([...strides, ...dilations].some((v) => !Number.isInteger(v) || v < 1)) {
        throw new FormatError(`tflite: ${name} has bad strides/dilations`);
      }
      const pads =
        opt(op, 'padding', Padding.SAME) === Padding.SAME
          ? samePads([xs[1]!, xs[2]!], [kh, kw], strides, dilations)
          : ([0, 0, 0, 0] as [number, number, number, number]);
      const act = ACTIVATIONS[opt(op, 'fusedActivationFunction', 0) as ActivationFunctionType];
      if (!act) throw new UnsupportedOpError(`importTflite: ${name} fused activation`);
      const groups = dw ? xs[3]! : xs[3]! / ws[3]!;
      const xv = x();
      return nchw(im, xv, out(), (xt, yt) =>
        im.node('FusedConv2D', [xt, wName, bias], [yt], {
          strides,
          pads,
          dilations,
          groups,
          activation: act,
        }),
      );
    }
    case BuiltinOperator.AVERAGE_POOL_2D:
    case BuiltinOperator.MAX_POOL_2D: {
      const xs = im.shape(ins[0]!);
      if (xs.length !== 4) throw new ShapeError(`importTflite: ${name} needs a rank-4 input`);
      const k: [number, number] = [opt(op, 'filterHeight', 1), opt(op, 'filterWidth', 1)];
      const s: [number, number] = [opt(op, 'strideH', 1), opt(op, 'strideW', 1)];
      if ([...k, ...s].some((v) => !Number.isInteger(v) || v < 1))
        throw new FormatError(`tflite: ${name} window`);
      const same = opt(op, 'padding', Padding.SAME) === Padding.SAME;
      const pads = same ? samePads([xs[1]!, xs[2]!], k, s, [1, 1]) : [0, 0, 0, 0];
      const kernel = op.code === BuiltinOperator.MAX_POOL_2D ? 'MaxPool2D' : 'AvgPool2D';
      const xv = x();
      return fused(
        im,
        op,
        (dst) =>
          nchw(im, xv, dst, (xt, yt) =>
            im.node(kernel, [xt], [yt], {
              kernelSize: k,
              strides: s,
              pads,
              dilations: [1, 1],
              ceilMode: false,
              countIncludePad: false,
            }),
          ),
        out(),
      );
    }
    case BuiltinOperator.FULLY_CONNECTED: {
      const xs = im.shape(ins[0]!);
      const ws = im.shape(ins[1]!);
      if (ws.length !== 2) throw new ShapeError('importTflite: FULLY_CONNECTED needs a 2-D filter');
      let xv = x();
      if (!opt(op, 'keepNumDims', false) && xs.length !== 2) {
        const r = im.fresh('fc_in');
        im.node('Reshape', [xv], [r], { shape: [-1, ws[1]!] });
        xv = r;
      }
      const w = im.input(ins[1]!);
      const b = ins[2] !== undefined && ins[2] >= 0 ? im.input(ins[2]) : null;
      return fused(im, op, (dst) => im.node('Linear', [xv, w, b], [dst]), out());
    }
    case BuiltinOperator.BATCH_MATMUL:
      return im.node('MatMul', [x(), im.input(ins[1]!)], [out()], {
        transposeA: opt(op, 'adjX', false),
        transposeB: opt(op, 'adjY', false),
      });
    case BuiltinOperator.RESHAPE:
      return im.node('Reshape', [x()], [out()], { shape: im.shape(o) });
    case BuiltinOperator.TRANSPOSE: {
      const perm = im.ints(ins[1]!, 'TRANSPOSE perm');
      const r = rankOf(ins[0]!);
      if (perm.length !== r || [...perm].sort().some((p, i) => p !== i))
        throw new FormatError('tflite: bad TRANSPOSE perm');
      return im.node('Transpose', [x()], [out()], { perm });
    }
    case BuiltinOperator.CONCATENATION: {
      const r = rankOf(ins[0]!);
      let axis = opt(op, 'axis', 0);
      if (axis < 0) axis += r;
      if (axis < 0 || axis >= r) throw new FormatError('tflite: CONCATENATION axis out of range');
      const vals = ins.map((i) => im.input(i));
      return fused(im, op, (dst) => im.node('Concat', vals, [dst], { axis }), out());
    }
    case BuiltinOperator.SOFTMAX:
      if (opt(op, 'beta', 1) !== 1) throw new UnsupportedOpError('importTflite: SOFTMAX with beta ≠ 1');
      return im.node('Softmax', [x()], [out()], { axis: rankOf(ins[0]!) - 1 });
    case BuiltinOperator.STRIDED_SLICE: {
      for (const m of ['beginMask', 'endMask', 'ellipsisMask', 'newAxisMask', 'shrinkAxisMask']) {
        if (opt(op, m, 0) !== 0) throw new UnsupportedOpError(`importTflite: STRIDED_SLICE with ${m}`);
      }
      const xs = im.shape(ins[0]!);
      const begin = im
        .ints(ins[1]!, 'begin')
        .map((v, i) => Math.min(Math.max(v < 0 ? v + xs[i]! : v, 0), xs[i]!));
      const end = im
        .ints(ins[2]!, 'end')
        .map((v, i) => Math.min(Math.max(v < 0 ? v + xs[i]! : v, 0), xs[i]!));
      const steps = im.ints(ins[3]!, 'strides');
      if (begin.length !== xs.length || end.length !== xs.length || steps.some((s) => s < 1)) {
        throw new UnsupportedOpError(
          'importTflite: STRIDED_SLICE needs full-rank begin/end and positive strides',
        );
      }
      return im.node('Slice', [x()], [out()], { begin, end, steps });
    }
    case BuiltinOperator.PAD:
    case BuiltinOperator.PADV2:
    case BuiltinOperator.MIRROR_PAD: {
      const p = im.ints(ins[1]!, 'paddings');
      if (p.length !== 2 * rankOf(ins[0]!) || p.some((v) => v < 0))
        throw new FormatError('tflite: bad paddings');
      let mode: 'constant' | 'reflect' | 'edge' = 'constant';
      let value = 0;
      if (op.code === BuiltinOperator.MIRROR_PAD) {
        const sym = opt<number>(op, 'mode', MirrorPadMode.REFLECT) === MirrorPadMode.SYMMETRIC;
        if (sym && p.some((v) => v > 1))
          throw new UnsupportedOpError('importTflite: SYMMETRIC mirror pad > 1');
        mode = sym ? 'edge' : 'reflect';
      } else if (op.code === BuiltinOperator.PADV2) {
        if (!im.isConst(ins[2]!))
          throw new UnsupportedOpError('importTflite: PADV2 with a non-constant value');
        value = Number(im.data(ins[2]!)[0] ?? 0);
      }
      return im.node('Pad', [x()], [out()], { pads: p, mode, value });
    }
    case BuiltinOperator.RESIZE_BILINEAR:
    case BuiltinOperator.RESIZE_NEAREST_NEIGHBOR: {
      const size = im.ints(ins[1]!, 'size');
      if (size.length !== 2 || size.some((v) => v < 1)) throw new FormatError('tflite: bad resize size');
      const nearest = op.code === BuiltinOperator.RESIZE_NEAREST_NEIGHBOR;
      const coordinateMode = opt(op, 'alignCorners', false)
        ? 'align_corners'
        : opt(op, 'halfPixelCenters', false)
          ? 'half_pixel'
          : 'asymmetric';
      if (nearest && coordinateMode !== 'asymmetric')
        throw new UnsupportedOpError('importTflite: nearest resize flags');
      const xv = x();
      return nchw(im, xv, out(), (xt, yt) =>
        im.node('Resize', [xt], [yt], { size, mode: nearest ? 'nearest' : 'bilinear', coordinateMode }),
      );
    }
    case BuiltinOperator.LEAKY_RELU:
      return im.node('LeakyRelu', [x()], [out()], { alpha: opt(op, 'alpha', 0.2) });
    case BuiltinOperator.GELU:
      return im.node('Gelu', [x()], [out()], {
        approximate: opt(op, 'approximate', false) ? 'tanh' : 'none',
      });
    case BuiltinOperator.RELU_N1_TO_1:
      return im.node('Clip', [x()], [out()], { min: -1, max: 1 });
    case BuiltinOperator.CAST:
      return im.node('Cast', [x()], [out()], { dtype: im.dtype(o) });
    case BuiltinOperator.DEQUANTIZE: {
      const i = ins[0]!;
      if (im.dtype(i) === 'float16' && im.isConst(i)) {
        // fp16 weight: fold into a float32 initializer
        const data = Float32Array.from(im.data(i) as Uint16Array, (b) => float16BitsToFloat32(b));
        const init: Initializer = { name: im.name(o), dtype: 'float32', shape: im.shape(i), data };
        im.inits.set(init.name, init);
        return;
      }
      const src = im.isConst(i) ? im.constName(i) : im.name(i);
      return im.node('DequantizeLinear', [src], [im.name(o)]);
    }
    case BuiltinOperator.QUANTIZE: {
      const q = im.quant(o);
      const dtype = im.dtype(o);
      if (!q || (dtype !== 'int8' && dtype !== 'uint8'))
        throw new UnsupportedOpError('importTflite: QUANTIZE output');
      return im.node('QuantizeLinear', [x()], [im.name(o)], { quant: q, dtype } as unknown as Attrs);
    }
    default:
      throw new UnsupportedOpError(`importTflite: operator ${name} is not supported`);
  }
}

/**
 * Reads a `.tflite` model (first subgraph, builtin ops the TFLite writer emits) into a graph. Values keep
 * TFLite's NHWC shapes (a graph input is `[N, H, W, C]`); convolution, pooling and resize run through
 * Transpose nodes around the NCHW kernels. fp16 weights are widened to float32; quantized tensors come back in
 * the QDQ form (decision 0003). The file is parsed with full bounds checking (hostile input gives
 * FormatError, never a crash or a hang).
 * @param bytes - the `.tflite` file
 * @returns the validated graph
 * @throws {FormatError} on a malformed file (bad identifier/version, offsets, indices, buffer sizes)
 * @throws {UnsupportedOpError} on an operator or option combination this reader does not map
 * @example
 * ```ts
 * const g = importTflite(readFileSync('model.tflite'));
 * const { outputs } = runGraph(g, [nhwcImage]);
 * ```
 */
export function importTflite(bytes: Uint8Array): Graph {
  const parsed = readTfliteModel(bytes);
  const m = parsed.model;
  try {
    const im = new Importer(m.tensors, parsed.buffers);
    const inputs = m.inputs.map((i) => {
      const name = im.name(i);
      const q = im.quant(i);
      im.inputInfos.push({ name, shape: im.shape(i), dtype: im.dtype(i), ...(q ? { quant: q } : {}) });
      return name;
    });
    for (const op of m.operators) {
      convert(im, op);
      for (const p of im.pending.splice(0)) p();
    }
    const outputs = m.outputs.map((i) => im.name(i));
    const metadata: Record<string, string> = { 'tflite.description': m.description };
    const g = makeGraph({
      name: m.subgraphName || 'tflite',
      inputs,
      outputs,
      nodes: im.nodes,
      values: im.inputInfos,
      initializers: [...im.inits.values()],
      metadata,
    });
    return validateGraph(inferShapes(g));
  } catch (e) {
    // shape/dtype/structure errors of a well-formed flatbuffer: the file's operators are inconsistent
    if (e instanceof TinyVisionError && !(e instanceof FormatError) && !(e instanceof UnsupportedOpError)) {
      throw new FormatError(`tflite: the operators do not form a valid graph: ${e.message}`);
    }
    throw e;
  }
}
