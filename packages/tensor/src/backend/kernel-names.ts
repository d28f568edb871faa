/**
 * Kernel names and their typed attributes. Ops, gradients, the graph IR, backends and exporters share these
 * names, so the graph's op vocabulary is exactly this list. Inputs are listed in order in each comment.
 * @packageDocumentation
 */
import type { DType } from '../dtype.js';
import type { QuantParams } from '../quant.js';

// ── Elementwise binary (broadcasting; inputs a, b of equal dtype) ─────────────────────────────────────────
/** a + b */ export const Add = 'Add';
/** a - b */ export const Sub = 'Sub';
/** a * b */ export const Mul = 'Mul';
/** a / b (integer dtypes: truncating) */ export const Div = 'Div';
/** a ** b */ export const Pow = 'Pow';
/** max(a, b) */ export const Maximum = 'Maximum';
/** min(a, b) */ export const Minimum = 'Minimum';
/** a == b → bool */ export const Equal = 'Equal';
/** a > b → bool */ export const Greater = 'Greater';
/** a < b → bool */ export const Less = 'Less';
/** where(cond: bool, a, b), broadcasting all three */ export const Where = 'Where';
/** a >= b → bool (composite: greater or equal) */ export const GreaterEqual = 'GreaterEqual';
/** a <= b → bool (composite: less or equal) */ export const LessEqual = 'LessEqual';
/** a != b → bool (composite: not equal) */ export const NotEqual = 'NotEqual';

// ── Elementwise unary (input x) ───────────────────────────────────────────────────────────────────────────
/** -x */ export const Neg = 'Neg';
/** |x| */ export const Abs = 'Abs';
/** e^x */ export const Exp = 'Exp';
/** ln x */ export const Log = 'Log';
/** √x */ export const Sqrt = 'Sqrt';
/** 1/√x */ export const Rsqrt = 'Rsqrt';
/** x² */ export const Square = 'Square';
/** 1/x */ export const Reciprocal = 'Reciprocal';
/** ⌊x⌋ */ export const Floor = 'Floor';
/** round half to even */ export const Round = 'Round';
/** sign(x) */ export const Sign = 'Sign';
/** erf(x) */ export const Erf = 'Erf';
/** tanh(x) */ export const Tanh = 'Tanh';
/** 1/(1+e^-x) */ export const Sigmoid = 'Sigmoid';
/** max(x, 0) */ export const Relu = 'Relu';
/** min(max(x, 0), 6) */ export const Relu6 = 'Relu6';
/** x<0 ? alpha·x : x, attrs {@link LeakyReluAttrs} */ export const LeakyRelu = 'LeakyRelu';
/** x·relu6(x+3)/6 */ export const HardSwish = 'HardSwish';
/** relu6(x+3)/6 */ export const HardSigmoid = 'HardSigmoid';
/** x·sigmoid(x) */ export const Silu = 'Silu';
/** GELU, attrs {@link GeluAttrs} */ export const Gelu = 'Gelu';
/** clamp(x, min, max), attrs {@link ClipAttrs} */ export const Clip = 'Clip';
/** dtype conversion, attrs {@link CastAttrs} */ export const Cast = 'Cast';

// ── Reductions (input x) ──────────────────────────────────────────────────────────────────────────────────
/** attrs {@link ReduceAttrs} */ export const Sum = 'Sum';
/** attrs {@link ReduceAttrs} */ export const Mean = 'Mean';
/** attrs {@link ReduceAttrs} */ export const Max = 'Max';
/** attrs {@link ReduceAttrs} */ export const Min = 'Min';
/** attrs {@link ReduceAttrs} */ export const Prod = 'Prod';
/** → int32 indices, attrs {@link ArgReduceAttrs} */ export const ArgMax = 'ArgMax';
/** → int32 indices, attrs {@link ArgReduceAttrs} */ export const ArgMin = 'ArgMin';
/** → [values, int32 indices], attrs {@link TopKAttrs} */ export const TopK = 'TopK';
/** attrs {@link AxisAttrs} */ export const Softmax = 'Softmax';
/** attrs {@link AxisAttrs} */ export const LogSoftmax = 'LogSoftmax';
/** log Σ exp over axes, stable (composite), attrs {@link ReduceAttrs} */ export const LogSumExp =
  'LogSumExp';
/** variance over axes (composite), attrs {@link VarianceAttrs} */ export const Variance = 'Variance';
/** gradient of TopK values: inputs dy, int32 indices; attrs {@link TopKGradAttrs} (scatters dy along the axis) */
export const TopKGrad = 'TopKGrad';

// ── Linear algebra and convolution ────────────────────────────────────────────────────────────────────────
/** a[..., M, K] @ b[..., K, N] with batch broadcasting, attrs {@link MatMulAttrs} */ export const MatMul =
  'MatMul';
/** x[..., in] · w[out, in]ᵀ + bias[out]? (composite) */ export const Linear = 'Linear';
/** x NCHW, w [O, I/groups, kH, kW], bias[O]?; attrs {@link Conv2DAttrs} */ export const Conv2D = 'Conv2D';
/** gradient of Conv2D w.r.t. its weight: inputs x, dy; attrs {@link Conv2DAttrs} + `filterShape` */
export const Conv2DBackpropFilter = 'Conv2DBackpropFilter';
/** x NCHW, w [I, O/groups, kH, kW], bias[O]?; attrs {@link ConvTranspose2DAttrs} */
export const ConvTranspose2D = 'ConvTranspose2D';
/** conv + bias + (folded BN) + activation in one node; inputs x, w, bias?; attrs {@link FusedConv2DAttrs} */
export const FusedConv2D = 'FusedConv2D';

// ── Normalisation (composites; backends may provide fused kernels) ─────────────────────────────────────────
/** x NC..., mean, var, gamma?, beta? (inference form); attrs {@link BatchNormAttrs} */
export const BatchNorm = 'BatchNorm';
/** x, gamma?, beta? over the trailing `normalizedShape` dims; attrs {@link LayerNormAttrs} */
export const LayerNorm = 'LayerNorm';
/** x N C ..., gamma[C]?, beta[C]? normalised per sample over channel groups; attrs {@link GroupNormAttrs} */
export const GroupNorm = 'GroupNorm';
/**
 * training-mode batch norm over axis 1: inputs x NC..., gamma[C]?, beta[C]?; attrs {@link BatchNormAttrs};
 * outputs y, saveMean[C] (batch mean), saveInvStd[C] (`1/sqrt(biased batch var + eps)`)
 */
export const BatchNormTrain = 'BatchNormTrain';
/**
 * gradient of {@link BatchNormTrain}: inputs dy, x, gamma[C]?, saveMean[C], saveInvStd[C]; attrs
 * {@link BatchNormAttrs}; outputs dx, dgamma[C], dbeta[C]
 */
export const BatchNormTrainGrad = 'BatchNormTrainGrad';

// ── Pooling ──────────────────────────────────────────────────────────────────────────────────────────────
/** x NCHW; attrs {@link Pool2DAttrs} */ export const MaxPool2D = 'MaxPool2D';
/** gradient of MaxPool2D: inputs x, dy; attrs {@link Pool2DAttrs} */ export const MaxPool2DGrad =
  'MaxPool2DGrad';
/** x NCHW; attrs {@link Pool2DAttrs} */ export const AvgPool2D = 'AvgPool2D';
/** gradient of AvgPool2D: input dy; attrs {@link Pool2DAttrs} + `inputShape` */
export const AvgPool2DGrad = 'AvgPool2DGrad';
/** mean over H, W keeping dims (composite) */ export const GlobalAvgPool = 'GlobalAvgPool';
/** max over H, W keeping dims (composite) */ export const GlobalMaxPool = 'GlobalMaxPool';

// ── Movement ─────────────────────────────────────────────────────────────────────────────────────────────
/** attrs {@link ReshapeAttrs} (a view when contiguous) */ export const Reshape = 'Reshape';
/** attrs {@link TransposeAttrs} (a view) */ export const Transpose = 'Transpose';
/** attrs {@link SliceAttrs} (a view) */ export const Slice = 'Slice';
/** attrs {@link ExpandAttrs} (a view with zero strides) */ export const Expand = 'Expand';
/** inputs x0..xn; attrs {@link AxisAttrs} */ export const Concat = 'Concat';
/** attrs {@link PadAttrs} */ export const Pad = 'Pad';
/**
 * inputs x, int32 indices (any rank, values in `[0, x.shape[axis])`); attrs {@link AxisAttrs}. Output shape
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]` (torch.index_select for 1-D indices, ONNX Gather)
 */
export const Gather = 'Gather';
/** gradient of Gather (scatter-add): inputs dy, indices; attrs {@link GatherGradAttrs} */
export const GatherGrad = 'GatherGrad';
/** a contiguous copy of a strided view: attrs {@link StridedCopyAttrs} (used by the engine) */
export const StridedCopy = 'StridedCopy';
/** reverses dims (a view with negative strides); attrs {@link FlipAttrs} */ export const Flip = 'Flip';
/** torch `Tensor.repeat` / ONNX Tile (composite); attrs {@link TileAttrs} */ export const Tile = 'Tile';
/**
 * inputs x, int32 indices of x's rank; attrs {@link AxisAttrs}; output has the indices' shape
 * (torch.gather / ONNX GatherElements semantics)
 */
export const GatherElements = 'GatherElements';
/** gradient of GatherElements (scatter-add): inputs dy, indices; attrs {@link GatherElementsGradAttrs} */
export const GatherElementsGrad = 'GatherElementsGrad';

// ── Resampling and patches ───────────────────────────────────────────────────────────────────────────────
/** x NCHW; attrs {@link ResizeAttrs} */ export const Resize = 'Resize';
/** gradient of Resize: input dy; attrs {@link ResizeAttrs} + `inputShape` */ export const ResizeGrad =
  'ResizeGrad';
/** im2col, x NCHW → [N, C·kH·kW, L]; attrs {@link UnfoldAttrs} (torch.nn.functional.unfold) */
export const Unfold = 'Unfold';
/** col2im, [N, C·kH·kW, L] → NCHW; attrs {@link FoldAttrs} (torch.nn.functional.fold) */
export const Fold = 'Fold';

// ── Quantization ─────────────────────────────────────────────────────────────────────────────────────────
/** float → int8/uint8/int32 with `attrs.quant`; attrs {@link QuantizeAttrs} */
export const QuantizeLinear = 'QuantizeLinear';
/** quantized → float32 using the input's quant params */ export const DequantizeLinear = 'DequantizeLinear';
/** quantize then dequantize, gradient by straight-through estimator; attrs {@link FakeQuantizeAttrs} */
export const FakeQuantize = 'FakeQuantize';
/** int8 conv: x int8 (quant), w int8 (per-channel, zp 0), bias int32?; attrs {@link QConv2DAttrs} */
export const QConv2D = 'QConv2D';
/** int8 matmul: a int8 [..., M, K], b int8 [K, N] (per-column or per-tensor), bias int32?; attrs {@link QMatMulAttrs} */
export const QMatMul = 'QMatMul';
/** gradient of FakeQuantize: inputs x, dy → dy where x quantizes into `[qmin, qmax]`, else 0 (STE) */
export const FakeQuantizeGrad = 'FakeQuantizeGrad';

// ── Attribute types ──────────────────────────────────────────────────────────────────────────────────────
/** Attrs of {@link LeakyRelu}. */
export interface LeakyReluAttrs {
  readonly alpha: number;
}
/** Attrs of {@link Gelu}: exact erf form or the tanh approximation. */
export interface GeluAttrs {
  readonly approximate: 'none' | 'tanh';
}
/** Attrs of {@link Clip}; a missing bound is unbounded. */
export interface ClipAttrs {
  readonly min?: number;
  readonly max?: number;
}
/** Attrs of {@link Cast}. */
export interface CastAttrs {
  readonly dtype: DType;
}
/** Attrs of reductions: sorted non-negative axes (all when empty is not allowed: list them). */
export interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}
/** Attrs of {@link ArgMax}/{@link ArgMin}; ties pick the first index. */
export interface ArgReduceAttrs {
  readonly axis: number;
  readonly keepDims: boolean;
}
/** Attrs of {@link TopK}. */
export interface TopKAttrs {
  readonly k: number;
  readonly axis: number;
  readonly largest: boolean;
  readonly sorted: boolean;
}
/** Attrs of {@link TopKGrad}: the TopK axis and the input's size on it. */
export interface TopKGradAttrs {
  readonly axis: number;
  readonly size: number;
}
/** Attrs of {@link Variance}: divisor is `max(0, N - correction)` (Bessel's correction by default). */
export interface VarianceAttrs extends ReduceAttrs {
  readonly correction: number;
}
/** Attrs with one non-negative axis. */
export interface AxisAttrs {
  readonly axis: number;
}
/** Attrs of {@link MatMul}. */
export interface MatMulAttrs {
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}
/** Fused activations (TFLite/ONNX-compatible set). */
export type Activation =
  | 'none'
  | 'relu'
  | 'relu6'
  | 'hardSwish'
  | 'hardSigmoid'
  | 'sigmoid'
  | 'silu'
  | 'tanh';
/**
 * Attrs of {@link Conv2D}. `pads` is explicit `[top, left, bottom, right]`; ops resolve TF-"SAME" to explicit pads.
 */
export interface Conv2DAttrs {
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly groups: number;
}
/** Attrs of {@link ConvTranspose2D} (torch.nn.functional.conv_transpose2d semantics). */
export interface ConvTranspose2DAttrs extends Conv2DAttrs {
  readonly outputPadding: readonly [number, number];
}
/** Attrs of {@link FusedConv2D}: activation applied after bias. */
export interface FusedConv2DAttrs extends Conv2DAttrs {
  readonly activation: Activation;
}
/** Attrs of {@link BatchNorm}, {@link BatchNormTrain} and {@link BatchNormTrainGrad}. */
export interface BatchNormAttrs {
  readonly epsilon: number;
}
/** Attrs of {@link LayerNorm}: number of trailing dims normalised. */
export interface LayerNormAttrs {
  readonly epsilon: number;
  readonly normalizedDims: number;
}
/** Attrs of pooling: `pads` `[top, left, bottom, right]`. */
export interface Pool2DAttrs {
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly ceilMode: boolean;
  /** AvgPool only: whether padded cells count in the divisor (torch `count_include_pad`). */
  readonly countIncludePad: boolean;
}
/** Attrs of {@link AvgPool2DGrad}: the forward attrs plus the forward input's NCHW shape. */
export interface AvgPool2DGradAttrs extends Pool2DAttrs {
  readonly inputShape: readonly number[];
}
/** Attrs of {@link GroupNorm}: channels (axis 1) split into `numGroups` groups. */
export interface GroupNormAttrs {
  readonly epsilon: number;
  readonly numGroups: number;
}
/** Attrs of {@link Reshape}. */
export interface ReshapeAttrs {
  readonly shape: readonly number[];
}
/** Attrs of {@link Transpose}. */
export interface TransposeAttrs {
  readonly perm: readonly number[];
}
/** Attrs of {@link Slice}: per-dim begin (inclusive), end (exclusive), positive step; all resolved. */
export interface SliceAttrs {
  readonly begin: readonly number[];
  readonly end: readonly number[];
  readonly steps: readonly number[];
}
/** Attrs of {@link Expand}. */
export interface ExpandAttrs {
  readonly shape: readonly number[];
}
/** Attrs of {@link Pad}: `pads` is `[before0, after0, before1, after1, …]` per dim (may be negative to crop). */
export interface PadAttrs {
  readonly pads: readonly number[];
  readonly mode: 'constant' | 'reflect' | 'edge';
  readonly value: number;
}
/**
 * Attrs of {@link StridedCopy}: element `i` of the output (row-major over `shape`) is
 * `input[offset + Σ idx[d]·strides[d]]`. Strides may be 0 (expand) or negative (flip).
 */
export interface StridedCopyAttrs {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}
/** Attrs of {@link GatherGrad}: `size` is the length of x's `axis`. */
export interface GatherGradAttrs {
  readonly axis: number;
  readonly size: number;
}
/** Attrs of {@link Flip}: sorted non-negative axes to reverse. */
export interface FlipAttrs {
  readonly axes: readonly number[];
}
/** Attrs of {@link Tile}: repetitions per dim (same length as the output rank). */
export interface TileAttrs {
  readonly reps: readonly number[];
}
/** Attrs of {@link GatherElementsGrad}: `shape` is x's shape. */
export interface GatherElementsGradAttrs {
  readonly axis: number;
  readonly shape: readonly number[];
}
/** Coordinate mapping of {@link Resize} (ONNX names). */
export type ResizeCoordinateMode = 'half_pixel' | 'align_corners' | 'asymmetric' | 'pytorch_half_pixel';
/** Attrs of {@link Resize}. Nearest uses `floor` of the mapped coordinate (torch 'nearest'). */
export interface ResizeAttrs {
  readonly size: readonly [number, number];
  readonly mode: 'nearest' | 'bilinear';
  readonly coordinateMode: ResizeCoordinateMode;
  /**
   * Output/input scale per spatial dim used by the coordinate mapping (ONNX `scales`, torch `scale_factor`);
   * when omitted the mapping uses `size / inputSize`. Ignored by 'align_corners'.
   */
  readonly scales?: readonly [number, number];
}
/** Attrs of {@link ResizeGrad}: the forward attrs plus the forward input's NCHW shape. */
export interface ResizeGradAttrs extends ResizeAttrs {
  readonly inputShape: readonly number[];
}
/** Attrs of {@link Unfold}. */
export interface UnfoldAttrs {
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number];
  readonly dilations: readonly [number, number];
}
/** Attrs of {@link Fold}. */
export interface FoldAttrs extends UnfoldAttrs {
  readonly outputSize: readonly [number, number];
}
/** Attrs of {@link QuantizeLinear}. */
export interface QuantizeAttrs {
  readonly quant: QuantParams;
  readonly dtype: 'int8' | 'uint8' | 'int32';
}
/** Attrs of {@link FakeQuantize}: `[qmin, qmax]` is the integer range (e.g. -128..127). */
export interface FakeQuantizeAttrs {
  readonly quant: QuantParams;
  readonly qmin: number;
  readonly qmax: number;
}
/** Attrs of {@link QConv2D}: output quantization and fused activation (applied as a clamp, TFLite style). */
export interface QConv2DAttrs extends Conv2DAttrs {
  readonly outQuant: QuantParams;
  readonly activation: 'none' | 'relu' | 'relu6';
}
/** Attrs of {@link QMatMul}. */
export interface QMatMulAttrs {
  readonly outQuant: QuantParams;
  readonly activation: 'none' | 'relu' | 'relu6';
}
