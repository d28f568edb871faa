import { InvalidArgumentError } from '@tinyvision/tensor';
import { OBSERVER_KINDS, type ObserverKind } from '../quantize/observers.js';

/** Quantization targets of the pipeline. */
export type PipelineQuant = 'none' | 'int8' | 'int4' | 'fp16' | 'bf16';

/** Zoo model options of a {@link PipelineConfig}. */
export interface PipelineModelOptions {
  /** Width multiplier (default 0.35). */
  readonly width?: number;
  /** Input resolution; images are resized to it (default 32). */
  readonly resolution?: number;
  /** Classifier outputs (default 10). */
  readonly numClasses?: number;
  /** Input channels, 1 or 3 (default 3: the gray images are repeated). */
  readonly inChannels?: number;
}

/** A compression pipeline, as written in `pipeline.json`. All keys but `model` are optional. */
export interface PipelineConfig {
  /** A zoo model name (e.g. `'mobilenet_v2'`). */
  readonly model: string;
  /** Zoo options (defaults: width 0.35, resolution 32, numClasses 10, inChannels 3). */
  readonly modelOptions?: PipelineModelOptions;
  /** Weights to load: a `.safetensors` file or a checkpoint directory holding `model.safetensors`. */
  readonly weights?: string;
  /** `'fashion-mnist'` (embedded subset, default), `'fashion-mnist:system'` or `'fashion-mnist:<dir>'`. */
  readonly dataset?: string;
  /** Batch size for training, calibration and evaluation (default 32). */
  readonly batchSize?: number;
  /** Test images used for accuracy (default 500). */
  readonly evalImages?: number;
  /** Baseline training steps before compressing (default 0). */
  readonly trainSteps?: number;
  /** Learning rate of training and fine-tuning (default 0.003, Adam). */
  readonly learningRate?: number;
  /** Structured channel pruning: fraction of channels removed, in [0, 1) (default: no pruning). */
  readonly prune?: number;
  /** Channel importance of the pruning (default `'l1'`). */
  readonly pruneCriterion?: 'l1' | 'l2' | 'bn';
  /** Distil from the unpruned baseline while fine-tuning (default false). */
  readonly distill?: boolean;
  /** Softmax temperature of distillation (default 4). */
  readonly temperature?: number;
  /** Fine-tuning steps after pruning / for QAT (default 0, or 50 when pruning, distilling or QAT). */
  readonly fineTuneSteps?: number;
  /** Quantization target (default `'none'`). */
  readonly quant?: PipelineQuant;
  /** Quantization-aware fine-tuning before int8 conversion (default false). */
  readonly qat?: boolean;
  /** Calibration batches for int8 (default 4; must be ≥ 1). */
  readonly calibrationBatches?: number;
  /** Activation observer for int8 (default `'minmax'`). */
  readonly observer?: ObserverKind;
  /** Group size of int4 weights (default: per channel). */
  readonly groupSize?: number;
}

/** A configuration error, naming the key. */
export class PipelineConfigError extends InvalidArgumentError {
  /** The offending key (dotted path). */
  readonly key: string;
  /**
   * @param key - offending key
   * @param message - what is wrong
   */
  constructor(key: string, message: string) {
    super(`pipeline config: '${key}' ${message}`);
    this.name = 'PipelineConfigError';
    this.key = key;
  }
}

const KEYS: readonly (keyof PipelineConfig)[] = [
  'model',
  'modelOptions',
  'weights',
  'dataset',
  'batchSize',
  'evalImages',
  'trainSteps',
  'learningRate',
  'prune',
  'pruneCriterion',
  'distill',
  'temperature',
  'fineTuneSteps',
  'quant',
  'qat',
  'calibrationBatches',
  'observer',
  'groupSize',
];
const QUANTS: readonly PipelineQuant[] = ['none', 'int8', 'int4', 'fp16', 'bf16'];

function int(c: Record<string, unknown>, key: string, min: number): void {
  const v = c[key];
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < min)) {
    throw new PipelineConfigError(key, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
}

/**
 * Validates a pipeline configuration (e.g. parsed `pipeline.json`) before any work: unknown keys, wrong
 * types, a sparsity outside [0, 1), an empty calibration set or QAT without int8 are rejected.
 * @param raw - the parsed JSON
 * @returns the typed configuration
 * @throws {PipelineConfigError} naming the first bad key
 * @example
 * ```ts
 * const cfg = parsePipelineConfig(JSON.parse(text));
 * ```
 */
export function parsePipelineConfig(raw: unknown): PipelineConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PipelineConfigError('(root)', 'must be a JSON object');
  }
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!(KEYS as readonly string[]).includes(k)) {
      throw new PipelineConfigError(k, `is not a known key; known keys: ${KEYS.join(', ')}`);
    }
  }
  if (typeof c.model !== 'string' || c.model === '')
    throw new PipelineConfigError('model', 'must be a zoo model name');
  if (c.modelOptions !== undefined) {
    if (typeof c.modelOptions !== 'object' || c.modelOptions === null) {
      throw new PipelineConfigError('modelOptions', 'must be an object');
    }
    for (const [k, v] of Object.entries(c.modelOptions)) {
      if (!['width', 'resolution', 'numClasses', 'inChannels'].includes(k)) {
        throw new PipelineConfigError(
          `modelOptions.${k}`,
          'is not a known key (width, resolution, numClasses, inChannels)',
        );
      }
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new PipelineConfigError(`modelOptions.${k}`, 'must be a number');
    }
  }
  for (const k of ['weights', 'dataset'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') throw new PipelineConfigError(k, 'must be a string');
  }
  if (c.dataset !== undefined && !String(c.dataset).startsWith('fashion-mnist')) {
    throw new PipelineConfigError(
      'dataset',
      `must be 'fashion-mnist[:system|:<dir>]', got ${JSON.stringify(c.dataset)}`,
    );
  }
  int(c, 'batchSize', 1);
  int(c, 'evalImages', 1);
  int(c, 'trainSteps', 0);
  int(c, 'fineTuneSteps', 0);
  int(c, 'groupSize', 1);
  int(c, 'calibrationBatches', 0);
  if (c.calibrationBatches === 0)
    throw new PipelineConfigError('calibrationBatches', 'is 0: the calibration set is empty');
  if (c.prune !== undefined && (typeof c.prune !== 'number' || !(c.prune >= 0 && c.prune < 1))) {
    throw new PipelineConfigError('prune', `sparsity must be in [0, 1), got ${JSON.stringify(c.prune)}`);
  }
  for (const k of ['learningRate', 'temperature'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'number' || !((c[k] as number) > 0))) {
      throw new PipelineConfigError(k, `must be a positive number, got ${JSON.stringify(c[k])}`);
    }
  }
  for (const k of ['distill', 'qat'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'boolean')
      throw new PipelineConfigError(k, 'must be true or false');
  }
  if (c.quant !== undefined && !QUANTS.includes(c.quant as PipelineQuant)) {
    throw new PipelineConfigError(
      'quant',
      `must be one of ${QUANTS.join(', ')}, got ${JSON.stringify(c.quant)}`,
    );
  }
  if (c.pruneCriterion !== undefined && !['l1', 'l2', 'bn'].includes(c.pruneCriterion as string)) {
    throw new PipelineConfigError('pruneCriterion', "must be 'l1', 'l2' or 'bn'");
  }
  if (c.observer !== undefined && !OBSERVER_KINDS.includes(c.observer as ObserverKind)) {
    throw new PipelineConfigError('observer', `must be one of ${OBSERVER_KINDS.join(', ')}`);
  }
  if (c.qat === true && c.quant !== 'int8') throw new PipelineConfigError('qat', "needs quant 'int8'");
  return c as unknown as PipelineConfig;
}
