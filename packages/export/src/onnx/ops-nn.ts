// Converters for activations, convolution, normalisation, pooling, linear algebra and resampling.
import type {
  Activation,
  BatchNormAttrs,
  Conv2DAttrs,
  ConvTranspose2DAttrs,
  FusedConv2DAttrs,
  GeluAttrs,
  GroupNormAttrs,
  LayerNormAttrs,
  MatMulAttrs,
  Node,
  Pool2DAttrs,
  ResizeAttrs,
} from '@tinyvision/tensor';
import type { OnnxAttrs, OnnxBuilder } from './builder.js';

/** Converts one graph node into ONNX nodes writing the node's outputs. */
export type Converter = (b: OnnxBuilder, node: Node) => void;

/** The node's input `i` (throws when omitted). */
export function input(b: OnnxBuilder, node: Node, i: number): string {
  const v = node.inputs[i];
  if (v == null) return b.unsupported(node, `needs input ${i}`);
  return v;
}

/** Emits `activation(x)` into `out`: Relu, Clip(0,6), HardSwish, HardSigmoid(1/6, 0.5), Sigmoid, x·Sigmoid(x), Tanh. */
export function emitActivation(
  b: OnnxBuilder,
  node: Node,
  kind: Activation | 'gelu' | 'geluTanh',
  x: string,
  out: string,
): void {
  switch (kind) {
    case 'none':
      b.emit('Identity', [x], [out]);
      return;
    case 'relu':
      b.emit('Relu', [x], [out]);
      return;
    case 'relu6':
      b.emit('Clip', [x, b.float32('zero', [0], []), b.float32('six', [6], [])], [out]);
      return;
    case 'hardSigmoid':
      b.emit('HardSigmoid', [x], [out], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
      return;
    case 'hardSwish':
      if (b.opset >= 14) b.emit('HardSwish', [x], [out]);
      else b.emit('Mul', [x, b.tmp('HardSigmoid', [x], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } })], [out]);
      return;
    case 'sigmoid':
      b.emit('Sigmoid', [x], [out]);
      return;
    case 'silu':
      b.emit('Mul', [x, b.tmp('Sigmoid', [x])], [out]);
      return;
    case 'tanh':
      b.emit('Tanh', [x], [out]);
      return;
    case 'gelu': {
      // 0.5 · x · (1 + erf(x / √2))
      const e = b.tmp('Erf', [b.tmp('Mul', [x, b.float32('inv_sqrt2', [Math.SQRT1_2], [])])]);
      const one = b.tmp('Add', [e, b.float32('one', [1], [])]);
      b.emit('Mul', [b.tmp('Mul', [x, b.float32('half', [0.5], [])]), one], [out]);
      return;
    }
    case 'geluTanh': {
      // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
      const x3 = b.tmp('Mul', [b.tmp('Mul', [x, x]), x]);
      const inner = b.tmp('Add', [x, b.tmp('Mul', [x3, b.float32('c', [0.044715], [])])]);
      const t = b.tmp('Tanh', [b.tmp('Mul', [inner, b.float32('k', [Math.sqrt(2 / Math.PI)], [])])]);
      const one = b.tmp('Add', [t, b.float32('one', [1], [])]);
      b.emit('Mul', [b.tmp('Mul', [x, b.float32('half', [0.5], [])]), one], [out]);
      return;
    }
    default:
      b.unsupported(node, `has unknown activation '${String(kind)}'`);
  }
}

function convAttrs(a: Conv2DAttrs) {
  return { strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.groups };
}

function inputs(node: Node): string[] {
  return node.inputs.filter((v): v is string => v != null);
}

const conv: Converter = (b, node) => {
  const a = node.attrs as unknown as Conv2DAttrs;
  b.emit('Conv', inputs(node), [node.outputs[0]!], convAttrs(a), node.name);
};

const fusedConv: Converter = (b, node) => {
  const a = node.attrs as unknown as FusedConv2DAttrs;
  if (a.activation === 'none') return conv(b, node);
  const y = b.fresh(`${node.name}/conv`);
  b.emit('Conv', inputs(node), [y], convAttrs(a), node.name);
  emitActivation(b, node, a.activation, y, node.outputs[0]!);
};

const convTranspose: Converter = (b, node) => {
  const a = node.attrs as unknown as ConvTranspose2DAttrs;
  b.emit('ConvTranspose', inputs(node), [node.outputs[0]!], {
    ...convAttrs(a),
    output_padding: a.outputPadding,
  });
};

/** Swaps the last two dims of `x` (rank from the value info). */
function swapLast(b: OnnxBuilder, node: Node, x: string): string {
  const rank = b.info(node, x).shape.length;
  if (rank < 2) b.unsupported(node, `cannot transpose rank-${rank} input '${x}'`);
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return b.tmp('Transpose', [x], { perm }, 'transposed');
}

const matMul: Converter = (b, node) => {
  const a = node.attrs as unknown as MatMulAttrs;
  let x = input(b, node, 0);
  let y = input(b, node, 1);
  if (a.transposeA) x = swapLast(b, node, x);
  if (a.transposeB) y = swapLast(b, node, y);
  b.emit('MatMul', [x, y], [node.outputs[0]!]);
};

const linear: Converter = (b, node) => {
  const x = input(b, node, 0);
  const w = input(b, node, 1);
  const bias = node.inputs[2] ?? null;
  const out = node.outputs[0]!;
  if (b.info(node, x).shape.length === 2) {
    b.emit('Gemm', bias ? [x, w, bias] : [x, w], [out], { transB: 1 });
    return;
  }
  const wt = b.tmp('Transpose', [w], { perm: [1, 0] }, 'transposed');
  if (!bias) {
    b.emit('MatMul', [x, wt], [out]);
    return;
  }
  b.emit('Add', [b.tmp('MatMul', [x, wt]), bias], [out]);
};

/** A ones/zeros f32 vector of the channel count of `like` (an optional BN/LN parameter that is absent). */
function filled(b: OnnxBuilder, node: Node, like: string, value: number, dims: number): string {
  const shape = b.info(node, like).shape.slice(-dims);
  if (!shape.every((d) => typeof d === 'number')) b.unsupported(node, `needs static dims for '${like}'`);
  const n = (shape as number[]).reduce((p, d) => p * d, 1);
  return b.float32(value ? 'ones' : 'zeros', new Array<number>(n).fill(value), shape as number[]);
}

const batchNorm: Converter = (b, node) => {
  const a = node.attrs as unknown as BatchNormAttrs;
  const [x, mean, variance] = [input(b, node, 0), input(b, node, 1), input(b, node, 2)];
  const gamma = node.inputs[3] ?? filled(b, node, mean, 1, 1);
  const beta = node.inputs[4] ?? filled(b, node, mean, 0, 1);
  b.emit('BatchNormalization', [x, gamma, beta, mean, variance], [node.outputs[0]!], {
    epsilon: { f: a.epsilon },
  });
};

const layerNorm: Converter = (b, node) => {
  const a = node.attrs as unknown as LayerNormAttrs;
  const x = input(b, node, 0);
  const k = a.normalizedDims;
  const out = node.outputs[0]!;
  const gamma = node.inputs[1] ?? null;
  const beta = node.inputs[2] ?? null;
  if (b.opset >= 17) {
    const scale = gamma ?? filled(b, node, x, 1, k);
    b.emit('LayerNormalization', beta ? [x, scale, beta] : [x, scale], [out], {
      axis: -k,
      epsilon: { f: a.epsilon },
    });
    return;
  }
  const axes = Array.from({ length: k }, (_, i) => i - k);
  const mu = b.tmp('ReduceMean', [x], { axes, keepdims: 1 });
  const d = b.tmp('Sub', [x, mu]);
  const v = b.tmp('ReduceMean', [b.tmp('Mul', [d, d])], { axes, keepdims: 1 });
  const std = b.tmp('Sqrt', [b.tmp('Add', [v, b.float32('eps', [a.epsilon], [])])]);
  let y = gamma || beta ? b.tmp('Div', [d, std]) : b.emit('Div', [d, std], [out]);
  if (gamma) y = beta ? b.tmp('Mul', [y, gamma]) : b.emit('Mul', [y, gamma], [out]);
  if (beta) b.emit('Add', [y, beta], [out]);
};

/** Group norm: reshape to [N, G, -1], normalise over the last axis, reshape back, then per-channel affine. */
const groupNorm: Converter = (b, node) => {
  const a = node.attrs as unknown as GroupNormAttrs;
  const x = input(b, node, 0);
  const shape = b.info(node, x).shape;
  const c = shape[1];
  if (typeof c !== 'number') return b.unsupported(node, 'needs a static channel dim');
  const grouped = b.tmp('Reshape', [x, b.int64('groups', [0, a.numGroups, -1])]);
  const mu = b.tmp('ReduceMean', [grouped], { axes: [2], keepdims: 1 });
  const d = b.tmp('Sub', [grouped, mu]);
  const v = b.tmp('ReduceMean', [b.tmp('Mul', [d, d])], { axes: [2], keepdims: 1 });
  const normed = b.tmp('Div', [d, b.tmp('Sqrt', [b.tmp('Add', [v, b.float32('eps', [a.epsilon], [])])])]);
  const gamma = node.inputs[1] ?? null;
  const beta = node.inputs[2] ?? null;
  const out = node.outputs[0]!;
  const back = b.tmp('Reshape', [normed, b.tmp('Shape', [x])]);
  if (!gamma && !beta) {
    b.emit('Identity', [back], [out]);
    return;
  }
  // [C] → [C, 1, …, 1] so the affine broadcasts over N C …
  const perChannel = b.int64('per_channel', [c, ...Array<number>(shape.length - 2).fill(1)]);
  let y = back;
  if (gamma) {
    const g = b.tmp('Reshape', [gamma, perChannel]);
    y = beta ? b.tmp('Mul', [y, g]) : b.emit('Mul', [y, g], [out]);
  }
  if (beta) b.emit('Add', [y, b.tmp('Reshape', [beta, perChannel])], [out]);
};

function poolAttrs(a: Pool2DAttrs) {
  return { kernel_shape: a.kernelSize, strides: a.strides, pads: a.pads, ceil_mode: a.ceilMode ? 1 : 0 };
}

const maxPool: Converter = (b, node) => {
  const a = node.attrs as unknown as Pool2DAttrs;
  b.emit('MaxPool', [input(b, node, 0)], [node.outputs[0]!], { ...poolAttrs(a), dilations: a.dilations });
};

const avgPool: Converter = (b, node) => {
  const a = node.attrs as unknown as Pool2DAttrs;
  if (a.dilations.some((d) => d !== 1) && b.opset < 19) {
    b.unsupported(node, `has dilations [${a.dilations}] (ONNX AveragePool has no dilations before opset 19)`);
  }
  b.emit('AveragePool', [input(b, node, 0)], [node.outputs[0]!], {
    ...poolAttrs(a),
    count_include_pad: a.countIncludePad ? 1 : 0,
  });
};

const resize: Converter = (b, node) => {
  const a = node.attrs as unknown as ResizeAttrs;
  const x = input(b, node, 0);
  const attrs: OnnxAttrs =
    a.mode === 'nearest'
      ? { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: a.coordinateMode }
      : { mode: 'linear', coordinate_transformation_mode: a.coordinateMode };
  const out = node.outputs[0]!;
  if (a.scales && a.coordinateMode !== 'align_corners') {
    b.emit('Resize', [x, '', b.float32('scales', [1, 1, a.scales[0], a.scales[1]])], [out], attrs);
    return;
  }
  const shape = b.staticShape(node, x);
  let sizes: string;
  if (shape) sizes = b.int64('sizes', [shape[0]!, shape[1]!, a.size[0], a.size[1]]);
  else {
    // sizes = concat(shape(x)[0:2], [H, W]) keeps the batch dim symbolic
    const nc = b.tmp('Slice', [b.tmp('Shape', [x]), b.int64('starts', [0]), b.int64('ends', [2])]);
    sizes = b.tmp('Concat', [nc, b.int64('hw', [a.size[0], a.size[1]])], { axis: 0 }, 'sizes');
  }
  b.emit('Resize', [x, '', '', sizes], [out], attrs);
};

const gelu: Converter = (b, node) => {
  const a = node.attrs as unknown as GeluAttrs;
  emitActivation(
    b,
    node,
    a.approximate === 'tanh' ? 'geluTanh' : 'gelu',
    input(b, node, 0),
    node.outputs[0]!,
  );
};

/** Op table entries for neural-network ops. */
export const NN_CONVERTERS: Readonly<Record<string, Converter>> = {
  Conv2D: conv,
  FusedConv2D: fusedConv,
  ConvTranspose2D: convTranspose,
  MatMul: matMul,
  Linear: linear,
  BatchNorm: batchNorm,
  LayerNorm: layerNorm,
  GroupNorm: groupNorm,
  MaxPool2D: maxPool,
  AvgPool2D: avgPool,
  GlobalAvgPool: (b, node) => b.emit('GlobalAveragePool', [input(b, node, 0)], [node.outputs[0]!]),
  GlobalMaxPool: (b, node) => b.emit('GlobalMaxPool', [input(b, node, 0)], [node.outputs[0]!]),
  Resize: resize,
  Gelu: gelu,
  Relu6: (b, node) => emitActivation(b, node, 'relu6', input(b, node, 0), node.outputs[0]!),
  Silu: (b, node) => emitActivation(b, node, 'silu', input(b, node, 0), node.outputs[0]!),
  HardSwish: (b, node) => emitActivation(b, node, 'hardSwish', input(b, node, 0), node.outputs[0]!),
  HardSigmoid: (b, node) => emitActivation(b, node, 'hardSigmoid', input(b, node, 0), node.outputs[0]!),
};
