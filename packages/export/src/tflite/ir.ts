// The in-memory TFLite model shared by the writer and the reader: plain objects mirroring the subset of
// schema.fbs that tinyvision writes and reads (one subgraph, builtin ops, per-tensor/per-axis quantization).
import { BuiltinOptions, TensorType } from './generated/schema_generated.js';

/**
 * Affine quantization of a TFLite tensor (`real = scale · (q − zeroPoint)`), per tensor or along `axis`.
 * @internal
 */
export interface TflQuant {
  readonly scale: readonly number[];
  readonly zeroPoint: readonly number[];
  /** `quantized_dimension` (0 when per tensor). */
  readonly axis: number;
}

/**
 * One tensor of the subgraph.
 * @internal
 */
export interface TflTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: TensorType;
  /** Index into {@link TflModel.buffers}; 0 (the empty sentinel) for activations. */
  readonly buffer: number;
  readonly quant?: TflQuant;
}

/** A scalar or int-vector option value. @internal */
export type TflOptionValue = number | boolean | readonly number[];

/**
 * One operator: builtin code, tensor indices (-1 for an omitted optional input) and builtin options.
 * @internal
 */
export interface TflOperator {
  readonly code: number;
  readonly version: number;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly optionsType: BuiltinOptions;
  readonly options: Readonly<Record<string, TflOptionValue>>;
}

/**
 * A single-subgraph TFLite model.
 * @internal
 */
export interface TflModel {
  readonly description: string;
  readonly subgraphName: string;
  readonly tensors: readonly TflTensor[];
  readonly operators: readonly TflOperator[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** Buffer contents; buffer 0 is always the empty sentinel. */
  readonly buffers: readonly Uint8Array[];
  /** `Model.metadata` entries (name → buffer index). */
  readonly metadata: readonly { readonly name: string; readonly buffer: number }[];
}

/** Scalar kinds of option fields. @internal */
export type FieldKind = 'byte' | 'bool' | 'int' | 'float' | 'intVector';

/**
 * Field layout of an options table: `[name, kind, default]` in schema order (the field's index is its slot).
 * A `null` entry is a deprecated field that is never written.
 * @internal
 */
export type OptionSpec = readonly (readonly [string, FieldKind, number] | null)[];

const act = ['fusedActivationFunction', 'byte', 0] as const;

/**
 * The options tables tinyvision reads and writes, from `schema.fbs` (field order = slot order).
 * @internal
 */
export const OPTION_SPECS: Readonly<Partial<Record<BuiltinOptions, OptionSpec>>> = {
  [BuiltinOptions.Conv2DOptions]: [
    ['padding', 'byte', 0],
    ['strideW', 'int', 0],
    ['strideH', 'int', 0],
    act,
    ['dilationWFactor', 'int', 1],
    ['dilationHFactor', 'int', 1],
  ],
  [BuiltinOptions.DepthwiseConv2DOptions]: [
    ['padding', 'byte', 0],
    ['strideW', 'int', 0],
    ['strideH', 'int', 0],
    ['depthMultiplier', 'int', 0],
    act,
    ['dilationWFactor', 'int', 1],
    ['dilationHFactor', 'int', 1],
  ],
  [BuiltinOptions.Pool2DOptions]: [
    ['padding', 'byte', 0],
    ['strideW', 'int', 0],
    ['strideH', 'int', 0],
    ['filterWidth', 'int', 0],
    ['filterHeight', 'int', 0],
    act,
  ],
  [BuiltinOptions.FullyConnectedOptions]: [
    act,
    ['weightsFormat', 'byte', 0],
    ['keepNumDims', 'bool', 0],
    ['asymmetricQuantizeInputs', 'bool', 0],
  ],
  [BuiltinOptions.AddOptions]: [act, ['potScaleInt16', 'bool', 1]],
  [BuiltinOptions.SubOptions]: [act, ['potScaleInt16', 'bool', 1]],
  [BuiltinOptions.MulOptions]: [act],
  [BuiltinOptions.DivOptions]: [act],
  [BuiltinOptions.ReshapeOptions]: [['newShape', 'intVector', 0]],
  [BuiltinOptions.ConcatenationOptions]: [['axis', 'int', 0], act],
  [BuiltinOptions.SoftmaxOptions]: [['beta', 'float', 0]],
  [BuiltinOptions.ReducerOptions]: [['keepDims', 'bool', 0]],
  [BuiltinOptions.StridedSliceOptions]: [
    ['beginMask', 'int', 0],
    ['endMask', 'int', 0],
    ['ellipsisMask', 'int', 0],
    ['newAxisMask', 'int', 0],
    ['shrinkAxisMask', 'int', 0],
    ['offset', 'bool', 0],
  ],
  [BuiltinOptions.ResizeBilinearOptions]: [
    null,
    null,
    ['alignCorners', 'bool', 0],
    ['halfPixelCenters', 'bool', 0],
  ],
  [BuiltinOptions.ResizeNearestNeighborOptions]: [
    ['alignCorners', 'bool', 0],
    ['halfPixelCenters', 'bool', 0],
  ],
  [BuiltinOptions.BatchMatMulOptions]: [
    ['adjX', 'bool', 0],
    ['adjY', 'bool', 0],
    ['asymmetricQuantizeInputs', 'bool', 0],
  ],
  [BuiltinOptions.LeakyReluOptions]: [['alpha', 'float', 0]],
  [BuiltinOptions.GeluOptions]: [['approximate', 'bool', 0]],
  [BuiltinOptions.MirrorPadOptions]: [['mode', 'byte', 0]],
  [BuiltinOptions.TransposeOptions]: [],
  [BuiltinOptions.PadOptions]: [],
  [BuiltinOptions.PadV2Options]: [],
  [BuiltinOptions.HardSwishOptions]: [],
  [BuiltinOptions.QuantizeOptions]: [],
  [BuiltinOptions.DequantizeOptions]: [],
  [BuiltinOptions.MaximumMinimumOptions]: [],
  [BuiltinOptions.ExpOptions]: [],
  [BuiltinOptions.SquareOptions]: [],
  [BuiltinOptions.AbsOptions]: [],
  [BuiltinOptions.NegOptions]: [],
  [BuiltinOptions.PowOptions]: [],
  [BuiltinOptions.CastOptions]: [
    ['inDataType', 'byte', 0],
    ['outDataType', 'byte', 0],
  ],
};

/** Bytes per element of the tensor types tinyvision reads and writes. @internal */
export const TENSOR_TYPE_BYTES: Readonly<Partial<Record<TensorType, number>>> = {
  [TensorType.FLOAT32]: 4,
  [TensorType.FLOAT16]: 2,
  [TensorType.INT32]: 4,
  [TensorType.UINT8]: 1,
  [TensorType.INT8]: 1,
  [TensorType.BOOL]: 1,
  [TensorType.INT64]: 8,
  [TensorType.INT16]: 2,
};
