import { InvalidArgumentError, trace, zeros } from '@tinyvision/tensor';
import { countMacs } from './macs.js';
import { MobileNetV2 } from './mobilenet-v2.js';
import { MobileNetV3 } from './mobilenet-v3.js';

/** Names accepted by {@link createModel} (torchvision's builder names, plus the minimalistic MobileNetV3s). */
export const MODEL_NAMES = [
  'mobilenet_v2',
  'mobilenet_v3_small',
  'mobilenet_v3_large',
  'mobilenet_v3_small_minimalistic',
  'mobilenet_v3_large_minimalistic',
] as const;

/** A model name of the zoo. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Options of {@link createModel} and {@link modelInfo}. */
export interface CreateModelOptions {
  /** Width multiplier, a finite number in (0, 4] (default 1.0; published widths 0.35–1.4). */
  readonly width?: number;
  /** Input resolution, a multiple of 32 that is at least 32 (default 224). */
  readonly resolution?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the last Linear (default 0.2). */
  readonly dropout?: number;
  /** MobileNetV3 only: halve the last stage's channels (torchvision `reduced_tail`). */
  readonly reducedTail?: boolean;
  /** MobileNetV3 only: dilation 2 instead of stride 2 in the last stage (torchvision `dilated`). */
  readonly dilated?: boolean;
}

/** A model built by {@link createModel}. */
export type ZooModel = MobileNetV2 | MobileNetV3;

/** What {@link modelInfo} reports. */
export interface ModelInfo {
  /** Number of parameter elements (buffers excluded, as torchvision's `num_params`). */
  readonly params: number;
  /** Multiply-accumulates of one image at `inputShape` (convolutions and matrix products). */
  readonly macs: number;
  /** The input shape `[1, 3, resolution, resolution]`. */
  readonly inputShape: [number, number, number, number];
}

/**
 * The model names {@link createModel} accepts.
 * @returns the names
 * @example
 * ```ts
 * listModels(); // ['mobilenet_v2', 'mobilenet_v3_small', ...]
 * ```
 */
export function listModels(): ModelName[] {
  return [...MODEL_NAMES];
}

function isModelName(name: unknown): name is ModelName {
  return typeof name === 'string' && (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Builds a zoo model by name, with torchvision-compatible parameter names (load torchvision weights with
 * `loadStateDict`). The model is in training mode with random weights (call `eval()` for inference).
 * @param name - one of {@link listModels}
 * @param opts - width, resolution, classes, dropout, and for MobileNetV3 reducedTail / dilated
 * @returns the model
 * @throws {InvalidArgumentError} on an unknown name (the message lists the valid names), a bad width /
 *   resolution / class count / dropout, or a MobileNetV3-only option given for mobilenet_v2
 * @example
 * ```ts
 * const model = createModel('mobilenet_v3_small', { width: 0.5, resolution: 96, numClasses: 10 });
 * const logits = model.eval().call(randn([1, 3, 96, 96])); // [1, 10]
 * ```
 */
export function createModel(name: ModelName, opts: CreateModelOptions = {}): ZooModel {
  if (!isModelName(name)) {
    throw new InvalidArgumentError(
      `createModel: unknown model '${String(name)}'; valid names: ${MODEL_NAMES.join(', ')}`,
    );
  }
  if (name === 'mobilenet_v2') {
    if (opts.reducedTail || opts.dilated) {
      throw new InvalidArgumentError(
        `createModel: 'reducedTail' and 'dilated' apply to mobilenet_v3_* only, not to '${name}'`,
      );
    }
    return new MobileNetV2(opts);
  }
  const arch = name.startsWith('mobilenet_v3_small') ? 'small' : 'large';
  return new MobileNetV3(arch, { ...opts, minimalistic: name.endsWith('_minimalistic') });
}

/**
 * Parameter count, MACs (from a trace at batch 1) and input shape of a zoo model. Builds the model and runs one
 * forward pass on zeros, so full-size models at 224 take a few seconds on the CPU backend.
 * @param name - one of {@link listModels}
 * @param opts - as for {@link createModel}
 * @returns params, macs and inputShape
 * @throws {InvalidArgumentError} as {@link createModel}
 * @example
 * ```ts
 * modelInfo('mobilenet_v2').params; // 3504872
 * ```
 */
export function modelInfo(name: ModelName, opts: CreateModelOptions = {}): ModelInfo {
  const model = createModel(name, opts).eval();
  const inputShape: [number, number, number, number] = [1, 3, model.resolution, model.resolution];
  const x = zeros(inputShape);
  try {
    model.nameParameters();
    const graph = trace((input) => model.call(input), [x]);
    return { params: model.numParameters(), macs: countMacs(graph).total, inputShape };
  } finally {
    x.dispose();
    for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
  }
}
