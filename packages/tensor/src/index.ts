/**
 * `@tinyvision/tensor`: tensors, dtypes, ops, autograd, the graph IR and the backend plugin interface.
 *
 * @example
 * ```ts
 * import { registerBackend, tensor, add } from '@tinyvision/tensor';
 * import { cpu } from '@tinyvision/backend-cpu';
 * registerBackend(cpu());
 * add(tensor([1, 2]), 1).toArray(); // [2, 3]
 * ```
 * @packageDocumentation
 */

export type { GradContext, GradFunc } from './autograd/gradients.js';
export type {
  Attrs,
  Backend,
  BackendInfo,
  DataHandle,
  KernelConfig,
  KernelContext,
  KernelFunc,
  SelfCheckResult,
  TensorInfo,
} from './backend/backend-spec-v1.js';
export type * from './backend/kernel-names.js';
export * as kernelNames from './backend/kernel-names.js';
export {
  type BackendRegistration,
  type BackendStatus,
  type Capabilities,
  capabilities,
  findBackend,
  getBackend,
  getKernel,
  listBackends,
  registerBackend,
  useBackend,
} from './backend/registry.js';
export { arange, fromStorage, full, ones, rand, randn, type TensorLike, tensor, zeros } from './creation.js';
export {
  allocStorage,
  assertDType,
  bfloat16BitsToFloat32,
  bytesPerElement,
  castValues,
  DTYPES,
  type DType,
  type DTypeStorage,
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  fromFloat32,
  isFloat,
  isInt,
  type TypedArray,
  toFloat32,
} from './dtype.js';
export {
  type FallbackRecord,
  getFallbackReport,
  isGradEnabled,
  keep,
  noGrad,
  resetFallbackReport,
  runComposite,
  runKernel,
  type TidyResult,
  type TraceHook,
  tidy,
} from './engine.js';
export {
  BackendInitError,
  BackendNotFoundError,
  DisposedTensorError,
  DTypeError,
  FormatError,
  GraphError,
  InvalidArgumentError,
  KernelNotFoundError,
  ShapeError,
  TinyVisionError,
  UnsupportedOpError,
} from './errors/index.js';
export * from './graph/index.js';
export { encodeNpy, type NpyArray, parseNpy } from './io/npy.js';
export * from './ops/activation.js';
export * from './ops/conv.js';
export { contiguous } from './ops/copy.js';
export * from './ops/elementwise.js';
export * from './ops/linalg.js';
export * from './ops/loss.js';
export * from './ops/movement.js';
export * from './ops/norm.js';
export * from './ops/pool.js';
export * from './ops/quant.js';
export * from './ops/reduce.js';
export * from './ops/resize.js';
export * from './optim/index.js';
export { type QuantParams, qRange, quantParams } from './quant.js';
export { defaultRng, manualSeed, Rng } from './random.js';
export {
  broadcastShapes,
  contiguousStrides,
  fmtShape,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  shapesEqual,
  sizeOf,
} from './shape.js';
export { type NestedArray, Tensor } from './tensor.js';
