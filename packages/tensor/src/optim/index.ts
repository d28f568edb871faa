// Optimizers, learning-rate schedules and gradient clipping (PyTorch semantics).
export { Adam, type AdamHyperparams, type AdamOptions } from './adam.js';
export { AdamW } from './adamw.js';
export { type ClipGradNormOptions, clipGradNorm } from './clip-grad.js';
export {
  CosineAnnealingLR,
  LinearWarmup,
  type LinearWarmupSchedulerOptions,
  LRScheduler,
  type LRSchedulerState,
  MultiStepLR,
  OneCycleLR,
  type OneCycleLRSchedulerOptions,
  StepLR,
} from './lr-scheduler.js';
export {
  type BaseHyperparams,
  Optimizer,
  type OptimizerParams,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type SerializedTensor,
  type ZeroGradOptions,
} from './optimizer.js';
export {
  type CosineAnnealingLROptions,
  cosineAnnealingLr,
  type LinearWarmupOptions,
  type LrSchedule,
  linearWarmup,
  type MultiStepLROptions,
  multiStepLr,
  type OneCycleLROptions,
  oneCycleLr,
  type StepLROptions,
  stepLr,
} from './schedules.js';
export { SGD, type SGDHyperparams, type SGDOptions } from './sgd.js';
