// The MIL ops the ML Program writer emits, with their input names as in coremltools' op definitions
// (ops/defs/iOS15 and, for constexpr_affine_dequantize, iOS16). The test re-derives these from the defs.

/** One MIL op: the opset that introduced it and its inputs (true = required). @internal */
export interface MilOpSpec {
  /** `CoreML5` (iOS 15) or `CoreML6` (iOS 16). */
  readonly opset: 'CoreML5' | 'CoreML6';
  /** Input name → required. */
  readonly inputs: Readonly<Record<string, boolean>>;
}

const x = { x: true };
const xy = { x: true, y: true };
const pool = { x: true, kernel_sizes: true, strides: false, pad_type: true, pad: false, ceil_mode: false };

/** The ops {@link exportMLPackage} can write, by MIL name. @internal */
export const MIL_OPS: Readonly<Record<string, MilOpSpec>> = {
  const: { opset: 'CoreML5', inputs: {} },
  cast: { opset: 'CoreML5', inputs: { x: true, dtype: true } },
  conv: {
    opset: 'CoreML5',
    inputs: {
      x: true,
      weight: true,
      bias: false,
      strides: false,
      pad_type: false,
      pad: false,
      dilations: false,
      groups: false,
    },
  },
  relu: { opset: 'CoreML5', inputs: x },
  sigmoid: { opset: 'CoreML5', inputs: x },
  silu: { opset: 'CoreML5', inputs: x },
  tanh: { opset: 'CoreML5', inputs: x },
  clip: { opset: 'CoreML5', inputs: { x: true, alpha: true, beta: true } },
  sigmoid_hard: { opset: 'CoreML5', inputs: { x: true, alpha: true, beta: true } },
  add: { opset: 'CoreML5', inputs: xy },
  mul: { opset: 'CoreML5', inputs: xy },
  sub: { opset: 'CoreML5', inputs: xy },
  reduce_mean: { opset: 'CoreML5', inputs: { x: true, axes: false, keep_dims: false } },
  reshape: { opset: 'CoreML5', inputs: { x: true, shape: true } },
  linear: { opset: 'CoreML5', inputs: { x: true, weight: true, bias: false } },
  matmul: { opset: 'CoreML5', inputs: { x: true, y: true, transpose_x: false, transpose_y: false } },
  softmax: { opset: 'CoreML5', inputs: { x: true, axis: false } },
  transpose: { opset: 'CoreML5', inputs: { x: true, perm: true } },
  concat: { opset: 'CoreML5', inputs: { values: true, axis: true, interleave: false } },
  slice_by_index: {
    opset: 'CoreML5',
    inputs: {
      x: true,
      begin: true,
      end: true,
      stride: false,
      begin_mask: false,
      end_mask: false,
      squeeze_mask: false,
    },
  },
  layer_norm: {
    opset: 'CoreML5',
    inputs: { x: true, axes: false, gamma: false, beta: false, epsilon: false },
  },
  max_pool: { opset: 'CoreML5', inputs: pool },
  avg_pool: { opset: 'CoreML5', inputs: { ...pool, exclude_padding_from_average: false } },
  upsample_nearest_neighbor: {
    opset: 'CoreML5',
    inputs: { x: true, scale_factor_height: false, scale_factor_width: false },
  },
  upsample_bilinear: {
    opset: 'CoreML5',
    inputs: { x: true, scale_factor_height: false, scale_factor_width: false, align_corners: false },
  },
  constexpr_affine_dequantize: {
    opset: 'CoreML6',
    inputs: { quantized_data: true, zero_point: true, scale: true, axis: true },
  },
};

/** Minimum `specificationVersion` of each opset. @internal */
export const OPSET_SPEC_VERSION: Readonly<Record<string, number>> = { CoreML5: 6, CoreML6: 7 };
