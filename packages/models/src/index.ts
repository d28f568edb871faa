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

// data: image decoding, image folders, synthetic detection, augmentation, batching
export {
  type AugmentSample,
  type ChwImage,
  horizontalFlip,
  imageAt,
  type RandomCropOptions,
  randomCrop,
  randomHorizontalFlip,
  stackImages,
  type Transform,
} from './data/augment.js';
export {
  type ColorJitterOptions,
  colorJitter,
  compose,
  normalize,
  normalizeTransform,
} from './data/augment-color.js';
export { type MosaicOptions, mosaic } from './data/augment-mosaic.js';
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
export { type DecodedImage, decodeImage, type ImageFormat, imageFormat } from './data/image-decode.js';
export { type ImageFolder, type LoadImageFolderOptions, loadImageFolder } from './data/image-folder.js';
export {
  DataLoader,
  type DataLoaderOptions,
  type Dataset,
  defaultCollate,
  type Preprocessing,
} from './data/loader.js';
export {
  type ClassificationData,
  DATASET_SPEC_FORMS,
  type DatasetNormalization,
  type DatasetSpec,
  DatasetSpecError,
  type DetectionData,
  datasetNormalization,
  formatDatasetSpec,
  type LoadDatasetOptions,
  type LoadedDataset,
  loadDataset,
  parseDatasetSpec,
} from './data/spec.js';
export {
  type DetectionTargets,
  SYNTHETIC_SHAPES,
  type SyntheticDetection,
  type SyntheticDetectionOptions,
  syntheticDetection,
} from './data/synthetic-detection.js';
// detect: YOLO decoding, NMS, COCO-style mAP, YOLOv5 loss and target assignment; the YOLO-nano detector
export {
  decodeYolo,
  type YoloHeadLayout,
} from './detect/decode.js';
export {
  type AssignOptions,
  assignYoloTargets,
  type YoloAssignment,
  type YoloLossOptions,
  type YoloLossResult,
  yoloLoss,
} from './detect/loss.js';
export {
  COCO_IOU_THRESHOLDS,
  type GroundTruth,
  type MapOptions,
  type MapResult,
  meanAveragePrecision,
} from './detect/map.js';
export {
  decodeDetectionTargets,
  encodeDetectionTargets,
  type YoloMapMetricOptions,
  yoloLossFn,
  yoloMapMetric,
} from './detect/metric.js';
export {
  batchedNms,
  type Detections,
  nms,
  type PostprocessOptions,
  yoloPostprocess,
} from './detect/nms.js';
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
// train: metrics and the training loop (checkpoint files live in '@tinyvision/models/node')
export {
  confusionMatrix,
  countCorrect,
  perClassAccuracy,
  predictClasses,
  top1Accuracy,
} from './train/metrics.js';
export {
  type BatchSource,
  type EarlyStoppingOptions,
  type EpochRecord,
  type EvaluateResult,
  type FitOptions,
  type MetricFn,
  type SchedulerLike,
  type TrainBatch,
  Trainer,
  type TrainerOptions,
} from './train/trainer.js';
export { chainMacs } from './zoo/chain-macs.js';
export {
  activationModule,
  type BlockActivation,
  type ConvBNActivationOptions,
  convBNActivation,
  makeDivisible,
  SqueezeExcitation,
} from './zoo/common.js';
export {
  EfficientNetLite,
  type EfficientNetLiteOptions,
  type EfficientNetLiteParams,
  type EfficientNetLiteVariant,
  efficientNetLiteConfig,
  efficientNetLiteParams,
  MBConvLite,
  type MBConvLiteConfig,
} from './zoo/efficientnet-lite.js';
export { type CountMacsOptions, countMacs, type MacsReport, type NodeMacs, nodeMacs } from './zoo/macs.js';
export {
  depthwiseSeparable,
  MOBILENET_V1_WIDTHS,
  MobileNetV1,
  type MobileNetV1Options,
  mobileNetV1Channels,
} from './zoo/mobilenet-v1.js';
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
  ConvLayer,
  type ConvLayerOptions,
  MobileViT,
  type MobileViTArch,
  MobileViTBlock,
  type MobileViTConfig,
  type MobileViTOptions,
  MV2Block,
  mobileViTConfig,
  NamedSequential,
} from './zoo/mobilevit.js';
export {
  type CreateModelOptions,
  createModel,
  isModelName,
  listModels,
  MODEL_NAMES,
  type ModelInfo,
  type ModelName,
  modelInfo,
  ZOO,
  type ZooEntry,
  type ZooModel,
  type ZooModelBase,
} from './zoo/registry.js';
export {
  MultiHeadAttention,
  type MultiHeadAttentionOptions,
  TransformerEncoder,
  type TransformerEncoderOptions,
} from './zoo/transformer.js';
export {
  YOLO_STRIDES,
  YOLOV5_ANCHORS,
  type YoloBackbone,
  YoloBottleneck,
  YoloC3,
  YoloConcat,
  YoloConv,
  YoloDetect,
  YoloNano,
  type YoloNanoOptions,
  type YoloNanoZooOptions,
  YoloSPPF,
  YoloUpsample,
  yoloNanoFromZoo,
} from './zoo/yolo-nano.js';
