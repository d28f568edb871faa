// The nn module system: Module, layers, safetensors state dicts and module tracing.
export { StateDictError } from './errors.js';
export { type InitOptions, uniformFanIn } from './init.js';
export {
  GELU,
  Hardsigmoid,
  Hardswish,
  Identity,
  ReLU,
  ReLU6,
  Sigmoid,
  SiLU,
  Tanh,
} from './layers/activation.js';
export { ModuleList, Sequential } from './layers/container.js';
export {
  Conv2d,
  type Conv2dOptions,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  type Size2,
} from './layers/conv.js';
export { Dropout, type DropoutOptions } from './layers/dropout.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export {
  BatchNorm2d,
  type BatchNorm2dOptions,
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
} from './layers/norm.js';
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  type AvgPool2dOptions,
  Flatten,
  MaxPool2d,
  type MaxPool2dOptions,
} from './layers/pool.js';
export {
  type ForwardHook,
  type ForwardPreHook,
  type HookHandle,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type RegisterBufferOptions,
  type StateDict,
} from './module.js';
export {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsDType,
} from './safetensors.js';
export { type TraceModuleOptions, traceModule } from './trace.js';
