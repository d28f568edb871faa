/**
 * `@tinyvision/compress`: post-training quantization (int8 QDQ graphs and their lowering to int8 kernels,
 * weight-only int8/int4, dynamic, fp16/bf16, cross-layer equalization, bias correction), range observers,
 * pruning (unstructured magnitude, N:M, gradual schedules, dependency-aware channel pruning), QAT,
 * distillation losses, and the compression pipeline (`runPipeline`; `compressToDir` in `./node`).
 *
 * @example
 * ```ts
 * import { lowerQdq, quantizeStatic } from '@tinyvision/compress';
 * const qdq = quantizeStatic(optimizeGraph(graph), calibrationBatches, { activationObserver: 'percentile' });
 * const int8 = lowerQdq(qdq); // QConv2D / QMatMul int8 kernels
 * ```
 * @packageDocumentation
 */

export {
  type DistillationLossOptions,
  distillationLoss,
  HintAdapter,
  hintLoss,
  softTargetLoss,
} from './distill/distill.js';
export {
  type PipelineConfig,
  PipelineConfigError,
  type PipelineModelOptions,
  type PipelineQuant,
  parsePipelineConfig,
} from './pipeline/config.js';
export {
  type PipelineMetrics,
  type PipelineResult,
  type RunPipelineOptions,
  runPipeline,
} from './pipeline/run.js';
export { pruneModuleChannels } from './prune/module.js';
export {
  type ChannelCriterion,
  type ParamCounts,
  type PruneChannelsOptions,
  type PruneChannelsResult,
  type PrunedLayer,
  pruneChannels,
} from './prune/structured.js';
export {
  applyMasks,
  type LayerSparsity,
  type MagnitudePruneOptions,
  magnitudePrune,
  type NMPruneOptions,
  nmPrune,
  type PolynomialScheduleOptions,
  type PruneMasks,
  type PruneScope,
  polynomialSparsity,
  sparsityReport,
} from './prune/unstructured.js';
export { prepareQat, type QatHandle, type QatOptions } from './qat/qat.js';
export {
  type BiasCorrectionResult,
  type CorrectedLayer,
  correctBias,
} from './quantize/bias-correction.js';
export {
  type ChannelRangeStats,
  channelRangeStats,
  type EqualizedPair,
  type EqualizeOptions,
  type EqualizeResult,
  equalizeCrossLayer,
} from './quantize/cle.js';
export { type QuantizeDynamicOptions, quantizeDynamic } from './quantize/dynamic.js';
export type { CalibrationBatch } from './quantize/graph-util.js';
export { convertFloat, type HalfDType } from './quantize/half.js';
export { type LoweredNode, type LowerQdqResult, lowerQdq, lowerQdqWithReport } from './quantize/lower.js';
export {
  createObserver,
  OBSERVER_KINDS,
  type Observer,
  type ObserverKind,
  type ObserverOptions,
} from './quantize/observers.js';
export { DEFAULT_QUANTIZED_OPS, type QuantizeStaticOptions, quantizeStatic } from './quantize/static.js';
export {
  INT4_METADATA_KEY,
  type QuantizeWeightsOptions,
  quantizeWeights,
  type WeightOnlyLayer,
  type WeightOnlyResult,
  weightBytes,
} from './quantize/weight-only.js';
export { quantizeSymmetric, type SymmetricWeights, type WeightRangeMethod } from './quantize/weights.js';
