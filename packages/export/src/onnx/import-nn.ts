// ONNX → graph op table, part 3: convolution, pooling, normalisation, matrix products, resampling, quantization.
import type { Dim, QuantParams } from '@tinyvision/tensor';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import type { NodeCtx } from './import-context.js';
import { reshapeTo } from './import-movement.js';

type Importer = (c: NodeCtx) => void;

/** Explicit [top, left, bottom, right] pads from `pads` or `auto_pad` for a 2-D window op. */
function windowPads(
  c: NodeCtx,
  kernel: readonly number[],
  strides: readonly number[],
  dil: readonly number[],
): number[] {
  const auto = c.str('auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const p = c.intList('pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) c.unsupported(`has ${p.length} pads (2-D only)`);
    return p;
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') c.unsupported(`has unknown auto_pad '${auto}'`);
  const xs = c.shape(0);
  const out = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    const d = xs[2 + i];
    if (typeof d !== 'number') c.unsupported('needs static spatial dims for auto_pad');
    const o = Math.ceil(d / strides[i]!);
    const total = Math.max(0, (o - 1) * strides[i]! + (kernel[i]! - 1) * dil[i]! + 1 - d);
    const small = Math.floor(total / 2);
    out[i] = auto === 'SAME_UPPER' ? small : total - small;
    out[i + 2] = total - out[i]!;
  }
  return out;
}

function pair(c: NodeCtx, name: string, def: number): [number, number] {
  const v = c.intList(name) ?? [def, def];
  if (v.length !== 2) c.unsupported(`has ${v.length}-D '${name}' (2-D only)`);
  return [v[0]!, v[1]!];
}

/** Runs a 2-D importer on a 1-D (N, C, L) node by inserting a unit height. */
function as2d(c: NodeCtx): boolean {
  return c.shape(0).length === 4;
}

const conv: Importer = (c: NodeCtx) => {
  if (!as2d(c)) c.unsupported(`has a rank-${c.shape(0).length} input (only 2-D convolution is supported)`);
  const ws = c.staticShape(1);
  const kernel = c.intList('kernel_shape') ?? ws.slice(2);
  const strides = pair(c, 'strides', 1);
  const dilations = pair(c, 'dilations', 1);
  const pads = windowPads(c, kernel, strides, dilations);
  c.final('Conv2D', [c.x(0), c.x(1), c.opt(2)], { strides, dilations, pads, groups: c.int('group', 1) });
};

const convTranspose: Importer = (c: NodeCtx) => {
  if (!as2d(c)) c.unsupported(`has a rank-${c.shape(0).length} input (only 2-D is supported)`);
  const ws = c.staticShape(1);
  const kernel = c.intList('kernel_shape') ?? ws.slice(2);
  const strides = pair(c, 'strides', 1);
  const dilations = pair(c, 'dilations', 1);
  const outPad = pair(c, 'output_padding', 0);
  const auto = c.str('auto_pad', 'NOTSET');
  const outShape = c.intList('output_shape');
  let pads = c.intList('pads') ?? [0, 0, 0, 0];
  if (outShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const xs = c.staticShape(0);
    pads = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const target = outShape ? outShape[outShape.length - 2 + i]! : xs[2 + i]! * strides[i]!;
      const total =
        strides[i]! * (xs[2 + i]! - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - target;
      if (total < 0) {
        // a larger requested output is extra output padding at the end
        outPad[i] = outPad[i]! - total;
        continue;
      }
      const half = Math.floor(total / 2);
      pads[i] = auto === 'SAME_UPPER' ? half : total - half;
      pads[i + 2] = total - pads[i]!;
    }
  } else if (auto === 'VALID') pads = [0, 0, 0, 0];
  if (pads.length !== 4) c.unsupported(`has ${pads.length} pads (2-D only)`);
  c.final('ConvTranspose2D', [c.x(0), c.x(1), c.opt(2)], {
    strides,
    dilations,
    pads,
    groups: c.int('group', 1),
    outputPadding: outPad,
  });
};

const pool =
  (op: 'MaxPool2D' | 'AvgPool2D'): Importer =>
  (c: NodeCtx) => {
    if (!as2d(c)) c.unsupported(`has a rank-${c.shape(0).length} input (only 2-D pooling is supported)`);
    if (c.wants(1)) c.unsupported('returns indices (not supported)');
    const kernelSize = pair(c, 'kernel_shape', 1);
    const strides = pair(c, 'strides', 1);
    const dilations = pair(c, 'dilations', 1);
    c.final(op, [c.x(0)], {
      kernelSize,
      strides,
      dilations,
      pads: windowPads(c, kernelSize, strides, dilations),
      ceilMode: c.int('ceil_mode', 0) === 1,
      countIncludePad: c.int('count_include_pad', 0) === 1,
    });
  };

const globalPool =
  (op: 'GlobalAvgPool' | 'GlobalMaxPool', reduce: 'Mean' | 'Max'): Importer =>
  (c: NodeCtx) => {
    const r = c.shape(0).length;
    if (r === 4) c.final(op, [c.x(0)]);
    else c.final(reduce, [c.x(0)], { axes: [...Array(r).keys()].slice(2), keepDims: true });
  };

const batchNorm: Importer = (c: NodeCtx) => {
  if (c.int('training_mode', 0) || c.wants(1) || c.wants(2))
    c.unsupported('runs in training mode (inference only)');
  if (c.opset < 7 && (c.int('is_test', 0) === 0 || c.int('spatial', 1) === 0)) {
    c.unsupported('uses is_test 0 or spatial 0 (opset < 7)');
  }
  c.final('BatchNorm', [c.x(0), c.x(3), c.x(4), c.x(1), c.x(2)], { epsilon: c.float('epsilon', 1e-5) });
};

const instanceNorm: Importer = (c: NodeCtx) => {
  const ch = c.shape(0)[1];
  if (typeof ch !== 'number') c.unsupported('needs a static channel dim');
  c.final('GroupNorm', [c.x(0), c.x(1), c.x(2)], { epsilon: c.float('epsilon', 1e-5), numGroups: ch });
};

const layerNorm: Importer = (c: NodeCtx) => {
  const xs = c.shape(0);
  const axis = c.axis(c.int('axis', -1), xs.length);
  const eps = c.float('epsilon', 1e-5);
  const axes = [...Array(xs.length).keys()].slice(axis);
  // the optional statistics outputs: mean and 1/sqrt(biased variance + eps), reduced dims kept
  if (c.wants(1)) c.final('Mean', [c.x(0)], { axes, keepDims: true }, 1);
  if (c.wants(2)) {
    const v = c.tmp('Variance', [c.x(0)], { axes, keepDims: true, correction: 0 });
    c.final('Rsqrt', [c.tmp('Add', [v, c.f32([eps])])], {}, 2);
  }
  const ns = xs.slice(axis);
  // the kernel wants gamma/beta of the normalised shape: broadcast smaller ones
  const param = (i: number): string | null => {
    if (!c.has(i)) return null;
    const ps = c.shape(i);
    if (ps.length === ns.length && ps.every((d, k) => d === ns[k])) return c.x(i);
    if (!ns.every((d) => typeof d === 'number')) c.unsupported('needs static normalised dims');
    return c.tmp('Expand', [c.x(i)], { shape: ns as number[] });
  };
  c.final('LayerNorm', [c.x(0), param(1), param(2)], {
    epsilon: eps,
    normalizedDims: xs.length - axis,
  });
};

/** MatMul with numpy 1-D promotion. */
const matMul: Importer = (c: NodeCtx) => {
  const a = c.shape(0);
  const b = c.shape(1);
  if (a.length >= 2 && b.length >= 2) {
    c.final('MatMul', [c.x(0), c.x(1)], { transposeA: false, transposeB: false });
    return;
  }
  const x = a.length === 1 ? reshapeTo(c, c.x(0), [1, a[0]!]) : c.x(0);
  const y = b.length === 1 ? reshapeTo(c, c.x(1), [b[0]!, 1]) : c.x(1);
  const out = c.tmp('MatMul', [x, y], { transposeA: false, transposeB: false });
  const os = c.s.values.get(out)!.shape;
  const dims: Dim[] = [...os];
  if (b.length === 1) dims.pop();
  if (a.length === 1) dims.splice(dims.length - (b.length === 1 ? 1 : 2), 1);
  reshapeTo(c, out, a.length === 1 && b.length === 1 ? [] : dims, 0);
};

const gemm: Importer = (c: NodeCtx) => {
  const alpha = c.float('alpha', 1);
  const beta = c.float('beta', 1);
  let y = c.tmp('MatMul', [c.x(0), c.x(1)], {
    transposeA: c.int('transA', 0) === 1,
    transposeB: c.int('transB', 0) === 1,
  });
  const last = !c.has(2) || beta === 0;
  if (alpha !== 1) y = last ? c.final('Mul', [y, c.f32([alpha])]) : c.tmp('Mul', [y, c.f32([alpha])]);
  else if (last) y = c.final('Cast', [y], { dtype: 'float32' });
  if (last) return;
  const bias = beta === 1 ? c.x(2) : c.tmp('Mul', [c.x(2), c.f32([beta])]);
  c.final('Add', [y, bias]);
};

/** Resize (opset 10+) and Upsample: 4-D, nearest (floor) or (bi)linear, no change of N and C. */
function resizeWith(
  c: NodeCtx,
  scales: number[] | undefined,
  sizes: number[] | undefined,
  mode: string,
  coord: string,
): void {
  const xs = c.shape(0);
  if (xs.length !== 4) c.unsupported(`has a rank-${xs.length} input (4-D only)`);
  let m: 'nearest' | 'bilinear';
  if (mode === 'nearest') {
    const nm = c.str('nearest_mode', c.opset >= 11 ? 'round_prefer_floor' : 'floor');
    if (nm !== 'floor' && c.op === 'Resize' && c.opset >= 11)
      c.unsupported(`has nearest_mode '${nm}' (only 'floor')`);
    m = 'nearest';
  } else if (mode === 'linear' || mode === 'bilinear') m = 'bilinear';
  else throw c.unsupported(`has unsupported mode '${mode}'`);
  const modes = ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel'];
  if (!modes.includes(coord)) c.unsupported(`has unsupported coordinate_transformation_mode '${coord}'`);
  let size: [number, number];
  let sc: [number, number] | undefined;
  if (sizes) {
    if (sizes.length !== 4 || sizes[0] !== xs[0] || sizes[1] !== xs[1])
      c.unsupported(`resizes N or C (sizes [${sizes}])`);
    size = [sizes[2]!, sizes[3]!];
  } else if (scales) {
    if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1)
      c.unsupported(`scales N or C ([${scales}])`);
    const [h, w] = [xs[2], xs[3]];
    if (typeof h !== 'number' || typeof w !== 'number') c.unsupported('needs static H and W');
    size = [Math.floor(h * scales[2]!), Math.floor(w * scales[3]!)];
    sc = [scales[2]!, scales[3]!];
  } else throw c.unsupported('has neither scales nor sizes');
  c.final('Resize', [c.x(0)], { size, mode: m, coordinateMode: coord, ...(sc ? { scales: sc } : {}) });
}

const resize: Importer = (c: NodeCtx) => {
  if (c.opset < 11) {
    resizeWith(c, c.ints(1, 'scales'), undefined, c.str('mode', 'nearest'), 'asymmetric');
    return;
  }
  const scales = c.has(2) && c.ints(2, 'scales').length > 0 ? c.ints(2, 'scales') : undefined;
  const sizes = c.has(3) ? c.ints(3, 'sizes') : undefined;
  if (c.hasAttr('axes')) c.unsupported("has an 'axes' attribute");
  resizeWith(
    c,
    scales,
    sizes,
    c.str('mode', 'nearest'),
    c.str('coordinate_transformation_mode', 'half_pixel'),
  );
};

const upsample: Importer = (c: NodeCtx) => {
  const scales = c.opset >= 9 ? c.ints(1, 'scales') : c.floatList('scales');
  resizeWith(c, scales, undefined, c.str('mode', 'nearest'), 'asymmetric');
};

/** Constant scale/zero-point inputs as quant params (axis for per-channel). */
function qparams(c: NodeCtx, si: number, zi: number, rank: number): { quant: QuantParams; zpType: number } {
  const scale = c.ints(si, 'scale');
  const zk = c.konst(zi);
  const zp = c.has(zi) ? c.ints(zi, 'zero_point') : scale.map(() => 0);
  const zpType = zk?.type ?? TensorProto_DataType.UINT8;
  if (zp.length !== scale.length) c.unsupported('has scale and zero_point of different lengths');
  const shape = c.shape(si);
  if (shape.length === 0 || (shape.length === 1 && scale.length === 1 && !c.hasAttr('axis'))) {
    return { quant: { scale, zeroPoint: zp }, zpType };
  }
  return { quant: { scale, zeroPoint: zp, axis: c.axis(c.int('axis', 1), rank) }, zpType };
}

const quantize: Importer = (c: NodeCtx) => {
  const { quant, zpType } = qparams(c, 1, 2, c.shape(0).length);
  const dtype =
    zpType === TensorProto_DataType.INT8
      ? 'int8'
      : zpType === TensorProto_DataType.UINT8
        ? 'uint8'
        : undefined;
  if (!dtype) c.unsupported('quantizes to a type other than int8/uint8');
  c.final('QuantizeLinear', [c.x(0)], { quant, dtype });
};

const sameQuant = (a: QuantParams | undefined, b: QuantParams): boolean =>
  !!a &&
  a.axis === b.axis &&
  a.scale.length === b.scale.length &&
  a.scale.every((s, i) => Math.fround(s) === Math.fround(b.scale[i]!) && a.zeroPoint[i] === b.zeroPoint[i]);

const dequantize: Importer = (c: NodeCtx) => {
  const rank = c.shape(0).length;
  const { quant } = qparams(c, 1, 2, rank);
  const name = c.n.input[0]!;
  // a constant weight carries its quant params; a quantized value must already have the same ones
  if (c.konst(0) && !c.s.materialized.has(name)) c.s.constQuant.set(name, quant);
  if (sameQuant(c.info(0).quant, quant)) {
    c.final('DequantizeLinear', [c.x(0)]);
    return;
  }
  // otherwise the plain arithmetic (x − zp) · scale
  const shape =
    quant.axis === undefined ? [] : [quant.scale.length, ...Array<number>(rank - 1 - quant.axis).fill(1)];
  const x = c.tmp('Cast', [c.x(0)], { dtype: 'float32' });
  const zp = c.f32(quant.zeroPoint, shape);
  c.final('Mul', [c.tmp('Sub', [x, zp]), c.f32(quant.scale, shape)]);
};

/** Quantized-operator importers as DQ → float op → Q (the QDQ form of decision 0003). */
const qlinear =
  (float: 'Conv2D' | 'MatMul'): Importer =>
  (c: NodeCtx) => {
    const xq = qparams(c, 1, 2, c.shape(0).length).quant;
    const wi = 3;
    const wRank = c.shape(wi).length;
    const wq = (() => {
      const scale = c.ints(wi + 1, 'w_scale');
      const zp = c.ints(wi + 2, 'w_zero_point');
      if (scale.length === 1) return { scale, zeroPoint: zp.length === 1 ? zp : [zp[0]!] } as QuantParams;
      return {
        scale,
        zeroPoint: zp.length === scale.length ? zp : scale.map(() => zp[0]!),
        axis: float === 'Conv2D' ? 0 : wRank - 1,
      };
    })();
    const yi = 6;
    const yq = qparams(c, yi, yi + 1, c.shape(0).length);
    const dq = (i: number, q: QuantParams): string => {
      const name = c.n.input[i]!;
      if (c.konst(i) && !c.s.materialized.has(name)) c.s.constQuant.set(name, q);
      if (sameQuant(c.info(i).quant, q)) return c.tmp('DequantizeLinear', [c.x(i)]);
      return c.unsupported(`input ${i} is not a quantized value with matching parameters`);
    };
    const x = dq(0, xq);
    const w = dq(wi, wq);
    let y: string;
    if (float === 'Conv2D') {
      const ws = c.staticShape(wi);
      const kernel = c.intList('kernel_shape') ?? ws.slice(2);
      const strides = pair(c, 'strides', 1);
      const dilations = pair(c, 'dilations', 1);
      const pads = windowPads(c, kernel, strides, dilations);
      let bias: string | null = null;
      if (c.has(8)) {
        const bq: QuantParams = {
          scale: wq.scale.map((s) => s * xq.scale[0]!),
          zeroPoint: wq.scale.map(() => 0),
          ...(wq.scale.length > 1 ? { axis: 0 } : {}),
        };
        bias = dq(8, bq);
      }
      y = c.tmp('Conv2D', [x, w, bias], { strides, dilations, pads, groups: c.int('group', 1) });
    } else y = c.tmp('MatMul', [x, w], { transposeA: false, transposeB: false });
    const dtype = yq.zpType === TensorProto_DataType.INT8 ? 'int8' : 'uint8';
    c.final('QuantizeLinear', [y], { quant: yq.quant, dtype });
  };

/** Neural-network importers. @internal */
export const NN_IMPORTERS: Readonly<Record<string, Importer>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('MaxPool2D'),
  AveragePool: pool('AvgPool2D'),
  GlobalAveragePool: globalPool('GlobalAvgPool', 'Mean'),
  GlobalMaxPool: globalPool('GlobalMaxPool', 'Max'),
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  MatMul: matMul,
  Gemm: gemm,
  Resize: resize,
  Upsample: upsample,
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
  QLinearConv: qlinear('Conv2D'),
  QLinearMatMul: qlinear('MatMul'),
};
