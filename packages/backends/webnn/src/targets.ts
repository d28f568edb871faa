import type { Graph, Node } from '@tinyvision/tensor';

/** Accelerators that {@link checkCompatibility} knows. */
export type TargetName = 'edgetpu' | 'nnapi' | 'ane' | 'webnn';

/** What {@link OpRule.check} sees of one node. */
export interface NodeView {
  /** The node. */
  readonly node: Node;
  /** The graph it belongs to. */
  readonly graph: Graph;
  /** Shapes of the node's inputs (`undefined` for omitted optional inputs or unknown values). */
  readonly inputShapes: readonly (readonly (number | string)[] | undefined)[];
  /** Shape of the first output. */
  readonly outputShape: readonly (number | string)[] | undefined;
  /** Whether each input is a constant (initializer). */
  readonly constInputs: readonly boolean[];
  /** NNAPI API level being checked against. */
  readonly apiLevel?: number;
}

/** How a target treats one op of our graph IR. */
export interface OpRule {
  /** The target's name for the op (e.g. `CONV_2D`, `conv2d`). */
  readonly targetOp: string;
  /** Extra conditions: returns the reasons the node cannot run (empty when it can). */
  readonly check?: (v: NodeView) => string[];
  /** Minimum API level (NNAPI only). */
  readonly minApi?: number;
}

/** Published constraints of one accelerator, as data. */
export interface TargetSpec {
  /** Short name. */
  readonly name: TargetName;
  /** Human-readable name. */
  readonly title: string;
  /** Where the constraints come from and how sure we are. */
  readonly source: string;
  /** Whether every op must be full-integer (int8/uint8) quantized to run on the accelerator. */
  readonly requiresInt8: boolean;
  /** Maximum tensor rank the accelerator accepts. */
  readonly maxRank: number;
  /**
   * How the runtime splits a graph: `'first-unsupported'` maps ops until the first unsupported one and runs
   * everything after it on the CPU (Edge TPU compiler); `'segments'` delegates every maximal supported run.
   */
  readonly partitioning: 'first-unsupported' | 'segments';
  /** Maximum number of delegated partitions, when the runtime caps it. */
  readonly maxPartitions?: number;
  /** Ops the accelerator runs, keyed by our kernel name; ops not listed are unsupported. */
  readonly ops: Readonly<Record<string, OpRule>>;
  /** Per-op advice when an op is unsupported, keyed by our kernel name. */
  readonly advice: Readonly<Record<string, string>>;
  /** Extra whole-tensor rule (e.g. the Edge TPU's "only the 3 innermost dims may exceed 1"). */
  readonly tensorCheck?: (shape: readonly (number | string)[]) => string | undefined;
}

// ── Shared attribute checks ─────────────────────────────────────────────────────────────────────────────
function attr<T>(n: Node, key: string): T | undefined {
  return (n.attrs as Record<string, unknown>)[key] as T | undefined;
}

function isDepthwise(v: NodeView): boolean {
  const groups = attr<number>(v.node, 'groups') ?? 1;
  const x = v.inputShapes[0];
  return groups > 1 && x !== undefined && x[1] === groups;
}

function groupsCheck(v: NodeView): string[] {
  const groups = attr<number>(v.node, 'groups') ?? 1;
  return groups > 1 && !isDepthwise(v) ? [`grouped convolution (groups=${groups}, not depthwise)`] : [];
}

function spatialAxesOnly(v: NodeView): string[] {
  const axes = attr<readonly number[]>(v.node, 'axes') ?? [];
  const rank = v.inputShapes[0]?.length ?? 4;
  const spatial = new Set([rank - 2, rank - 1]);
  return axes.every((a) => spatial.has(a))
    ? []
    : [`reduces over axes [${axes.join(', ')}]: only H and W (x/y)`];
}

function padSpatialOnly(v: NodeView): string[] {
  const pads = attr<readonly number[]>(v.node, 'pads') ?? [];
  const rank = pads.length / 2;
  const bad: number[] = [];
  for (let d = 0; d < rank - 2; d++) if (pads[d] !== 0 || pads[d + rank] !== 0) bad.push(d);
  const mode = attr<string>(v.node, 'mode') ?? 'constant';
  const reasons = bad.length > 0 ? [`pads dims [${bad.join(', ')}]: only H and W (x/y)`] : [];
  if (mode !== 'constant') reasons.push(`pad mode '${mode}': only constant`);
  return reasons;
}

/** Q/DQ nodes of a QDQ graph fold into the integer ops around them on every target. */
const QDQ: Record<string, OpRule> = {
  QuantizeLinear: { targetOp: 'QUANTIZE' },
  DequantizeLinear: { targetOp: 'DEQUANTIZE' },
  QConv2D: { targetOp: 'CONV_2D (int8)' },
  QMatMul: { targetOp: 'FULLY_CONNECTED (int8)' },
};

// ── Edge TPU ────────────────────────────────────────────────────────────────────────────────────────────
const edgetpuConv = groupsCheck;

/** Coral Edge TPU (edgetpu_compiler on a full-integer TFLite model). */
export const EDGETPU: TargetSpec = {
  name: 'edgetpu',
  title: 'Coral Edge TPU',
  source:
    'Coral docs, "TensorFlow models on the Edge TPU" (coral.ai/docs/edgetpu/models-intro): supported-operations ' +
    'table and model requirements (full 8-bit quantization, static shapes, tensors of rank ≤ 3 or only the 3 ' +
    'innermost dims > 1; the compiler maps ops up to the first unsupported one and runs the rest on the CPU). ' +
    'Ops missing from that table (e.g. HARD_SWISH, BATCH_MATMUL, layer norm) are reported unsupported; confirm ' +
    'with edgetpu_compiler, whose op set changes between releases.',
  requiresInt8: true,
  maxRank: 4,
  partitioning: 'first-unsupported',
  tensorCheck: (shape) => {
    if (shape.length <= 3) return undefined;
    const outer = shape.slice(0, shape.length - 3);
    return outer.some((d) => d !== 1)
      ? `tensor [${shape.join(', ')}]: only the 3 innermost dims may exceed 1 (batch must be 1)`
      : undefined;
  },
  ops: {
    ...QDQ,
    Conv2D: { targetOp: 'CONV_2D / DEPTHWISE_CONV_2D', check: edgetpuConv },
    FusedConv2D: { targetOp: 'CONV_2D / DEPTHWISE_CONV_2D', check: edgetpuConv },
    Linear: { targetOp: 'FULLY_CONNECTED' },
    Add: { targetOp: 'ADD' },
    Sub: { targetOp: 'SUB' },
    Mul: { targetOp: 'MUL' },
    Maximum: { targetOp: 'MAXIMUM' },
    Minimum: { targetOp: 'MINIMUM' },
    Relu: { targetOp: 'RELU' },
    Relu6: { targetOp: 'RELU6' },
    Sigmoid: { targetOp: 'LOGISTIC' },
    Tanh: { targetOp: 'TANH' },
    Rsqrt: { targetOp: 'RSQRT' },
    AvgPool2D: { targetOp: 'AVERAGE_POOL_2D' },
    MaxPool2D: { targetOp: 'MAX_POOL_2D' },
    GlobalAvgPool: { targetOp: 'MEAN (x/y)' },
    Mean: { targetOp: 'MEAN', check: spatialAxesOnly },
    Sum: { targetOp: 'SUM' },
    Max: { targetOp: 'REDUCE_MAX' },
    Min: { targetOp: 'REDUCE_MIN' },
    Reshape: { targetOp: 'RESHAPE' },
    Concat: { targetOp: 'CONCATENATION' },
    Pad: { targetOp: 'PAD', check: padSpatialOnly },
    Resize: { targetOp: 'RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR' },
    Softmax: { targetOp: 'SOFTMAX' },
    Transpose: { targetOp: 'TRANSPOSE' },
    Slice: { targetOp: 'STRIDED_SLICE' },
  },
  advice: {
    HardSwish: 'replace hard-swish with ReLU6 or ReLU (as MobileNet-EdgeTPU does) and retrain/fine-tune',
    HardSigmoid: 'replace hard-sigmoid in squeeze-excite with sigmoid (LOGISTIC) or drop SE blocks',
    Silu: 'replace SiLU with ReLU6, or express it as x·sigmoid(x) (LOGISTIC + MUL)',
    Gelu: 'replace GELU with ReLU6',
    MatMul:
      'attention (BATCH_MATMUL) does not map: use a conv-only architecture (MobileNet/EfficientNet-Lite)',
    LayerNorm: 'layer norm does not map: use BatchNorm (folded into the conv) instead',
    ConvTranspose2D: 'use Resize + Conv2D instead of ConvTranspose2D',
  },
};

// ── NNAPI ───────────────────────────────────────────────────────────────────────────────────────────────
/** NNAPI: grouped (non-depthwise) convolution exists only as GROUPED_CONV_2D from API level 29. */
function nnapiConv(v: NodeView): string[] {
  return groupsCheck(v).length > 0 && (v.apiLevel ?? 30) < 29
    ? ['grouped convolution needs GROUPED_CONV_2D (NNAPI API level 29)']
    : [];
}

/** Android Neural Networks API (through TFLite's NNAPI delegate). */
export const NNAPI: TargetSpec = {
  name: 'nnapi',
  title: 'Android NNAPI',
  source:
    'Android NDK NeuralNetworks.h OperationCode (minimum API level per operation); tensors of rank ≤ 4 for ' +
    'conv/pool ops; TFLite NNAPI delegate defaults to at most 3 delegated partitions ' +
    '(max_number_delegated_partitions). Float32/float16 and int8 (TENSOR_QUANT8_ASYMM_SIGNED, API 30) run; ' +
    'which ops reach the NPU rather than the vendor CPU path depends on the driver.',
  requiresInt8: false,
  maxRank: 4,
  partitioning: 'segments',
  maxPartitions: 3,
  ops: {
    ...QDQ,
    Conv2D: { targetOp: 'CONV_2D / DEPTHWISE_CONV_2D / GROUPED_CONV_2D', minApi: 27, check: nnapiConv },
    FusedConv2D: { targetOp: 'CONV_2D / DEPTHWISE_CONV_2D', minApi: 27, check: nnapiConv },
    Linear: { targetOp: 'FULLY_CONNECTED', minApi: 27 },
    MatMul: { targetOp: 'BATCH_MATMUL', minApi: 31 },
    Add: { targetOp: 'ADD', minApi: 27 },
    Mul: { targetOp: 'MUL', minApi: 27 },
    Sub: { targetOp: 'SUB', minApi: 28 },
    Div: { targetOp: 'DIV', minApi: 28 },
    Maximum: { targetOp: 'MAXIMUM', minApi: 29 },
    Minimum: { targetOp: 'MINIMUM', minApi: 29 },
    Relu: { targetOp: 'RELU', minApi: 27 },
    Relu6: { targetOp: 'RELU6', minApi: 27 },
    Sigmoid: { targetOp: 'LOGISTIC', minApi: 27 },
    Tanh: { targetOp: 'TANH', minApi: 27 },
    HardSwish: { targetOp: 'HARD_SWISH', minApi: 30 },
    Exp: { targetOp: 'EXP', minApi: 29 },
    Sqrt: { targetOp: 'SQRT', minApi: 29 },
    Rsqrt: { targetOp: 'RSQRT', minApi: 29 },
    AvgPool2D: { targetOp: 'AVERAGE_POOL_2D', minApi: 27 },
    MaxPool2D: { targetOp: 'MAX_POOL_2D', minApi: 27 },
    GlobalAvgPool: { targetOp: 'AVERAGE_POOL_2D (global) / MEAN', minApi: 27 },
    Mean: { targetOp: 'MEAN', minApi: 28 },
    Reshape: { targetOp: 'RESHAPE', minApi: 27 },
    Concat: { targetOp: 'CONCATENATION', minApi: 27 },
    Pad: { targetOp: 'PAD', minApi: 28 },
    Resize: { targetOp: 'RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR', minApi: 29 },
    Softmax: { targetOp: 'SOFTMAX', minApi: 27 },
    Transpose: { targetOp: 'TRANSPOSE', minApi: 28 },
    Slice: { targetOp: 'STRIDED_SLICE', minApi: 28 },
  },
  advice: {
    HardSigmoid:
      'hard-sigmoid has no NNAPI op: express it as RELU6(x + 3) / 6 (ADD, RELU6, MUL) or use sigmoid',
    Silu: 'SiLU has no NNAPI op: express it as x·sigmoid(x) (LOGISTIC + MUL)',
    Gelu: 'GELU has no NNAPI op: replace with ReLU6 or the tanh approximation built from TANH/MUL/ADD',
    LayerNorm: 'NNAPI has no layer norm: it splits the graph; prefer BatchNorm, or accept the CPU partition',
  },
};

// ── Apple Neural Engine ──────────────────────────────────────────────────────────────────────────────────
/** Apple Neural Engine, reached only through Core ML. */
export const ANE: TargetSpec = {
  name: 'ane',
  title: 'Apple Neural Engine (via Core ML)',
  source:
    'Heuristic: Apple publishes no ANE op list; Core ML assigns each layer to ANE/GPU/CPU at load time. ' +
    'Encoded here: ANE computes in float16 (a float32 model runs in fp16 there); Apple\'s "Deploying ' +
    'Transformers on the Apple Neural Engine" (2022) recommends 4-D channels-first tensors, so rank ≤ 4 is ' +
    "required here; dynamic-shape and gather-style ops stay on CPU/GPU. Confirm with Xcode's Core ML " +
    'performance report on a device.',
  requiresInt8: false,
  maxRank: 4,
  partitioning: 'segments',
  ops: {
    ...QDQ,
    Conv2D: { targetOp: 'convolution' },
    FusedConv2D: { targetOp: 'convolution + activation' },
    Linear: { targetOp: 'inner_product / linear' },
    MatMul: { targetOp: 'matmul' },
    Add: { targetOp: 'add' },
    Sub: { targetOp: 'sub' },
    Mul: { targetOp: 'mul' },
    Maximum: { targetOp: 'maximum' },
    Minimum: { targetOp: 'minimum' },
    Relu: { targetOp: 'relu' },
    Relu6: { targetOp: 'relu6' },
    Sigmoid: { targetOp: 'sigmoid' },
    HardSigmoid: { targetOp: 'sigmoid_hard' },
    HardSwish: { targetOp: 'silu-style hard swish' },
    Silu: { targetOp: 'silu' },
    Gelu: { targetOp: 'gelu' },
    Tanh: { targetOp: 'tanh' },
    AvgPool2D: { targetOp: 'avg_pool' },
    MaxPool2D: { targetOp: 'max_pool' },
    GlobalAvgPool: { targetOp: 'reduce_mean' },
    Mean: { targetOp: 'reduce_mean' },
    Reshape: { targetOp: 'reshape' },
    Transpose: { targetOp: 'transpose' },
    Concat: { targetOp: 'concat' },
    Slice: { targetOp: 'slice_by_index' },
    Pad: { targetOp: 'pad' },
    Resize: { targetOp: 'upsample / resize' },
    Softmax: { targetOp: 'softmax' },
    LayerNorm: { targetOp: 'layer_norm' },
    BatchNorm: { targetOp: 'batch_norm' },
  },
  advice: {
    Gather: 'gather runs on CPU/GPU: move it out of the hot path',
    TopK: 'topk runs on CPU/GPU: do it after the model',
    Unfold: 'unfold is not an ANE layer: reshape/transpose patch extraction instead (as MobileViT does)',
  },
};

// ── WebNN ───────────────────────────────────────────────────────────────────────────────────────────────
/** W3C WebNN (MLGraphBuilder); what a given browser/device runs is further limited by `opSupportLimits()`. */
export const WEBNN: TargetSpec = {
  name: 'webnn',
  title: 'WebNN (MLGraphBuilder)',
  source:
    'W3C Web Neural Network API, MLGraphBuilder operations (conv2d with groups/dilations, gemm, matmul, ' +
    'element-wise binary/unary ops, clamp, relu, sigmoid, tanh, hardSwish, hardSigmoid, gelu, softmax, pooling, ' +
    'reductions, reshape/transpose/concat/slice/pad/resample2d, normalizations, quantizeLinear/' +
    'dequantizeLinear). A context may support less: check MLContext.opSupportLimits() at run time.',
  requiresInt8: false,
  maxRank: 8,
  partitioning: 'segments',
  ops: {
    ...QDQ,
    Conv2D: { targetOp: 'conv2d' },
    FusedConv2D: { targetOp: 'conv2d + activation' },
    ConvTranspose2D: { targetOp: 'convTranspose2d' },
    Linear: { targetOp: 'gemm' },
    MatMul: { targetOp: 'matmul' },
    Add: { targetOp: 'add' },
    Sub: { targetOp: 'sub' },
    Mul: { targetOp: 'mul' },
    Div: { targetOp: 'div' },
    Pow: { targetOp: 'pow' },
    Maximum: { targetOp: 'max' },
    Minimum: { targetOp: 'min' },
    Relu: { targetOp: 'relu' },
    Relu6: { targetOp: 'clamp' },
    Clip: { targetOp: 'clamp' },
    LeakyRelu: { targetOp: 'leakyRelu' },
    Sigmoid: { targetOp: 'sigmoid' },
    HardSigmoid: { targetOp: 'hardSigmoid' },
    HardSwish: { targetOp: 'hardSwish' },
    Silu: { targetOp: 'sigmoid + mul' },
    Gelu: { targetOp: 'gelu' },
    Tanh: { targetOp: 'tanh' },
    Exp: { targetOp: 'exp' },
    Log: { targetOp: 'log' },
    Sqrt: { targetOp: 'sqrt' },
    Abs: { targetOp: 'abs' },
    Neg: { targetOp: 'neg' },
    Erf: { targetOp: 'erf' },
    AvgPool2D: { targetOp: 'averagePool2d' },
    MaxPool2D: { targetOp: 'maxPool2d' },
    GlobalAvgPool: { targetOp: 'averagePool2d (global)' },
    GlobalMaxPool: { targetOp: 'maxPool2d (global)' },
    Mean: { targetOp: 'reduceMean' },
    Sum: { targetOp: 'reduceSum' },
    Max: { targetOp: 'reduceMax' },
    Min: { targetOp: 'reduceMin' },
    ArgMax: { targetOp: 'argMax' },
    ArgMin: { targetOp: 'argMin' },
    Softmax: { targetOp: 'softmax' },
    Reshape: { targetOp: 'reshape' },
    Transpose: { targetOp: 'transpose' },
    Concat: { targetOp: 'concat' },
    Slice: { targetOp: 'slice' },
    Pad: { targetOp: 'pad' },
    Expand: { targetOp: 'expand' },
    Gather: { targetOp: 'gather' },
    Where: { targetOp: 'where' },
    Cast: { targetOp: 'cast' },
    Resize: { targetOp: 'resample2d' },
    BatchNorm: { targetOp: 'batchNormalization' },
    LayerNorm: { targetOp: 'layerNormalization' },
  },
  advice: {
    Unfold: 'unfold has no WebNN op: it runs on the fallback backend',
    Fold: 'fold has no WebNN op: it runs on the fallback backend',
    GroupNorm: 'group norm has no WebNN op: reshape + instanceNormalization, or accept the split',
  },
};

/** Every target, by name. */
export const TARGETS: Readonly<Record<TargetName, TargetSpec>> = {
  edgetpu: EDGETPU,
  nnapi: NNAPI,
  ane: ANE,
  webnn: WEBNN,
};
