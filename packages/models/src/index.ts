/**
 * `@tinyvision/models`: lightweight vision architectures, datasets and training for tinyvision.
 *
 * Datasets: `loadFashionMnist()` reads the balanced Fashion-MNIST subset embedded in this package
 * (or the full dataset of the Debian package `dataset-fashion-mnist`) as tensors.
 *
 * @example
 * ```ts
 * import { registerBackend } from '@tinyvision/tensor';
 * import { cpu } from '@tinyvision/backend-cpu';
 * import { loadFashionMnist } from '@tinyvision/models';
 * registerBackend(cpu());
 * const { images, labels } = await loadFashionMnist({ split: 'test' });
 * ```
 * @packageDocumentation
 */

export {
  FASHION_MNIST_CLASSES,
  type FashionMnist,
  type FashionMnistRaw,
  type FashionMnistSource,
  type FashionMnistSplit,
  type LoadFashionMnistOptions,
  loadFashionMnist,
  type ReadFashionMnistOptions,
  readFashionMnistRaw,
  SYSTEM_FASHION_MNIST_DIR,
} from './data/fashion-mnist.js';
export { encodeIdx, type IdxArray, parseIdx, readIdxFile } from './data/idx.js';

// nn: the module system, layers, safetensors state dicts, module tracing
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  type AvgPool2dOptions,
  BatchNorm2d,
  type BatchNorm2dOptions,
  Conv2d,
  type Conv2dOptions,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  type DecodedSafetensors,
  Dropout,
  type DropoutOptions,
  decodeSafetensors,
  encodeSafetensors,
  Flatten,
  type ForwardHook,
  type ForwardPreHook,
  GELU,
  GroupNorm,
  type GroupNormOptions,
  Hardsigmoid,
  Hardswish,
  type HookHandle,
  Identity,
  type InitOptions,
  LayerNorm,
  type LayerNormOptions,
  Linear,
  type LinearOptions,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  MaxPool2d,
  type MaxPool2dOptions,
  Module,
  ModuleList,
  type RegisterBufferOptions,
  ReLU,
  ReLU6,
  type SafetensorsDType,
  Sequential,
  Sigmoid,
  SiLU,
  type Size2,
  type StateDict,
  StateDictError,
  Tanh,
  type TraceModuleOptions,
  traceModule,
  uniformFanIn,
} from './nn/index.js';
export {
  activationModule,
  type BlockActivation,
  type ConvBNActivationOptions,
  convBNActivation,
  makeDivisible,
  SqueezeExcitation,
} from './zoo/common.js';
export { type CountMacsOptions, countMacs, type MacsReport, type NodeMacs, nodeMacs } from './zoo/macs.js';
export { InvertedResidualV2, MobileNetV2, type MobileNetV2Options } from './zoo/mobilenet-v2.js';
export {
  InvertedResidualV3,
  type InvertedResidualV3Config,
  MobileNetV3,
  type MobileNetV3Arch,
  type MobileNetV3Options,
  type MobileNetV3Setting,
  mobileNetV3Config,
} from './zoo/mobilenet-v3.js';
export {
  type CreateModelOptions,
  createModel,
  listModels,
  MODEL_NAMES,
  type ModelInfo,
  type ModelName,
  modelInfo,
  type ZooModel,
} from './zoo/registry.js';
