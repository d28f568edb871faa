import { InvalidArgumentError, trace, zeros } from '@tinyvision/tensor';
import type { Module } from '../nn/index.js';
import { chainMacs } from './chain-macs.js';
import { EfficientNetLite, type EfficientNetLiteVariant } from './efficientnet-lite.js';
import { countMacs } from './macs.js';
import { MobileNetV1 } from './mobilenet-v1.js';
import { MobileNetV2 } from './mobilenet-v2.js';
import { MobileNetV3 } from './mobilenet-v3.js';
import { MobileViT, type MobileViTArch } from './mobilevit.js';
import { yoloNanoFromZoo } from './yolo-nano.js';

/** Options of {@link createModel} and {@link modelInfo}; each family documents its defaults and ranges. */
export interface CreateModelOptions {
  /**
   * Width multiplier, a finite number in (0, 4] (default 1.0; published widths: MobileNetV1 0.25–1.0,
   * MobileNetV2/V3 0.35–1.4). EfficientNet-Lite accepts only its variant's width coefficient.
   */
  readonly width?: number;
  /**
   * Input resolution (default 224; EfficientNet-Lite: its variant's, 224–300). The MobileNets need a multiple
   * of 32 that is at least 32, EfficientNet-Lite any integer >= 32.
   */
  readonly resolution?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /**
   * Input image channels, a positive integer (default 3, RGB; 1 for grayscale data such as Fashion-MNIST).
   * Threaded to the stem convolution of the MobileNet, EfficientNet-Lite and MobileViT families.
   */
  readonly inChannels?: number;
  /** Dropout before the last Linear (default 0.2; MobileNetV1 0.001; EfficientNet-Lite2–4 0.3). */
  readonly dropout?: number;
  /** MobileNetV3 only: halve the last stage's channels (torchvision `reduced_tail`). */
  readonly reducedTail?: boolean;
  /** MobileNetV3 only: dilation 2 instead of stride 2 in the last stage (torchvision `dilated`). */
  readonly dilated?: boolean;
  /** yolo_nano only: backbone (default 'cspdarknet'). */
  readonly backbone?: 'cspdarknet' | 'mobilenet_v2' | 'mobilenet_v3_small';
}

/** What every zoo model exposes besides the {@link Module} API. */
export type ZooModelBase = Module & {
  /** Width multiplier (or width coefficient). */
  readonly width: number;
  /** Input resolution the model was built for. */
  readonly resolution: number;
};

/** One row of the zoo table. */
export interface ZooEntry {
  /** Family name, e.g. `'mobilenet_v3'`. */
  readonly family: string;
  /** One-line description (paper and reference implementation). */
  readonly description: string;
  /** Builds the model; throws InvalidArgumentError on options the family does not accept. */
  readonly build: (opts: CreateModelOptions) => ZooModelBase;
  /**
   * How {@link modelInfo} counts MACs: `'chain'` from the layer configs with {@link chainMacs} (instant; only
   * for plain conv chains), `'trace'` with `countMacs` over a traced forward pass.
   */
  readonly macs: 'chain' | 'trace';
}

function noV3Options(name: string, opts: CreateModelOptions): CreateModelOptions {
  if (opts.reducedTail || opts.dilated) {
    throw new InvalidArgumentError(
      `createModel: 'reducedTail' and 'dilated' apply to mobilenet_v3_* only, not to '${name}'`,
    );
  }
  return opts;
}

function v3(arch: 'small' | 'large', minimalistic: boolean) {
  return {
    family: 'mobilenet_v3',
    description: `MobileNetV3-${arch === 'small' ? 'Small' : 'Large'}${minimalistic ? ' minimalistic (TF-slim: 3x3, no SE, ReLU)' : ' (Howard et al. 2019), torchvision layout'}`,
    build: (o: CreateModelOptions) => new MobileNetV3(arch, { ...o, minimalistic }),
    macs: 'trace' as const,
  } satisfies ZooEntry;
}

function lite(variant: EfficientNetLiteVariant) {
  const name = `efficientnet_lite${variant}`;
  return {
    family: 'efficientnet_lite',
    description: `EfficientNet-Lite${variant} (tensorflow/tpu efficientnet/lite: no SE, ReLU6, fixed stem/head)`,
    build: (o: CreateModelOptions) => new EfficientNetLite(variant, noV3Options(name, o)),
    macs: 'chain' as const,
  } satisfies ZooEntry;
}

function mobilevit(arch: MobileViTArch) {
  const name = `mobilevit_${arch}`;
  return {
    family: 'mobilevit',
    description: `MobileViT-${arch.toUpperCase()} (Mehta & Rastegari 2022), ml-cvnets layout; resolution: multiple of 64, default 256`,
    build: (o: CreateModelOptions) => {
      if (o.width !== undefined && o.width !== 1) {
        throw new InvalidArgumentError(
          `createModel: '${name}' has no width multiplier, got width ${o.width}`,
        );
      }
      return new MobileViT(arch, noV3Options(name, o));
    },
    macs: 'trace' as const,
  } satisfies ZooEntry;
}

/**
 * The zoo: model name → family, description, builder and MAC-counting method. {@link MODEL_NAMES},
 * {@link createModel} and {@link modelInfo} are derived from it; a new model is one new row.
 */
export const ZOO = {
  mobilenet_v1: {
    family: 'mobilenet_v1',
    description: 'MobileNetV1 (Howard et al. 2017), TF-slim layout with ReLU6',
    build: (o: CreateModelOptions) => new MobileNetV1(noV3Options('mobilenet_v1', o)),
    macs: 'chain',
  },
  mobilenet_v2: {
    family: 'mobilenet_v2',
    description: 'MobileNetV2 (Sandler et al. 2018), torchvision layout',
    build: (o: CreateModelOptions) => new MobileNetV2(noV3Options('mobilenet_v2', o)),
    macs: 'trace',
  },
  mobilenet_v3_small: v3('small', false),
  mobilenet_v3_large: v3('large', false),
  mobilenet_v3_small_minimalistic: v3('small', true),
  mobilenet_v3_large_minimalistic: v3('large', true),
  efficientnet_lite0: lite(0),
  efficientnet_lite1: lite(1),
  efficientnet_lite2: lite(2),
  efficientnet_lite3: lite(3),
  efficientnet_lite4: lite(4),
  mobilevit_xxs: mobilevit('xxs'),
  mobilevit_xs: mobilevit('xs'),
  mobilevit_s: mobilevit('s'),
  yolo_nano: {
    family: 'yolo',
    description:
      "YOLO-nano: YOLOv5n detector (Ultralytics v6.0, depth 0.33, width 0.25); raw [N, rows, 5 + nc] output; resolution: multiple of 32, default 640; options.backbone: 'cspdarknet' | 'mobilenet_v2' | 'mobilenet_v3_small'",
    build: (o: CreateModelOptions) => yoloNanoFromZoo(o),
    macs: 'trace',
  },
} as const satisfies Record<string, ZooEntry>;

/** A model name of the zoo. */
export type ModelName = keyof typeof ZOO;

/** Names accepted by {@link createModel}, in {@link ZOO} order. */
export const MODEL_NAMES: readonly ModelName[] = Object.keys(ZOO) as ModelName[];

/** A model built by {@link createModel}. */
export type ZooModel = ReturnType<(typeof ZOO)[ModelName]['build']>;

/** What {@link modelInfo} reports. */
export interface ModelInfo {
  /** The model name. */
  readonly name: ModelName;
  /** Its family. */
  readonly family: string;
  /** Number of parameter elements (buffers excluded, as torchvision's `num_params`). */
  readonly params: number;
  /** Multiply-accumulates of one image at `inputShape` (convolutions and matrix products). */
  readonly macs: number;
  /** The input shape `[1, inChannels, resolution, resolution]`. */
  readonly inputShape: [number, number, number, number];
  /** Width multiplier (or EfficientNet-Lite width coefficient). */
  readonly width: number;
  /** Input resolution. */
  readonly resolution: number;
}

/**
 * The model names {@link createModel} accepts.
 * @returns the names
 * @example
 * ```ts
 * listModels(); // ['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_small', ...]
 * ```
 */
export function listModels(): ModelName[] {
  return [...MODEL_NAMES];
}

/**
 * Whether a string names a zoo model.
 * @param name - any value
 * @returns true for the names of {@link listModels}
 * @example
 * ```ts
 * isModelName('mobilenet_v2'); // true
 * ```
 */
export function isModelName(name: unknown): name is ModelName {
  return typeof name === 'string' && Object.hasOwn(ZOO, name);
}

function entry(name: ModelName, op: string, opts: CreateModelOptions = {}): ZooEntry {
  const c = opts?.inChannels;
  if (c !== undefined && (!Number.isInteger(c) || c < 1)) {
    throw new InvalidArgumentError(`${op}: 'inChannels' must be a positive integer, got ${String(c)}`);
  }
  if (!isModelName(name)) {
    throw new InvalidArgumentError(
      `${op}: unknown model '${String(name)}'; valid names: ${MODEL_NAMES.join(', ')}`,
    );
  }
  return ZOO[name];
}

/**
 * Builds a zoo model by name (torchvision-compatible parameter names where torchvision has the model, so its
 * weights load with `loadStateDict`). The model is in training mode with random weights (call `eval()` for
 * inference).
 * @param name - one of {@link listModels}
 * @param opts - width, resolution, classes, dropout, and for MobileNetV3 reducedTail / dilated
 * @returns the model
 * @throws {InvalidArgumentError} on an unknown name (the message lists the valid names), a bad width /
 *   resolution / class count / dropout / inChannels, or a MobileNetV3-only option given for another family
 * @example
 * ```ts
 * const model = createModel('mobilenet_v3_small', { width: 0.5, resolution: 96, numClasses: 10 });
 * const logits = model.eval().call(randn([1, 3, 96, 96])); // [1, 10]
 * ```
 */
export function createModel<N extends ModelName>(
  name: N,
  opts: CreateModelOptions = {},
): ReturnType<(typeof ZOO)[N]['build']> {
  return entry(name, 'createModel', opts).build(opts) as ReturnType<(typeof ZOO)[N]['build']>;
}

/**
 * Parameter count, MACs and input shape of a zoo model. MACs come from the layer configs for plain conv chains
 * (MobileNetV1, EfficientNet-Lite: instant) and otherwise from a trace at batch 1 (one forward pass on zeros,
 * a few seconds for full-size models at 224 on the CPU backend).
 * @param name - one of {@link listModels}
 * @param opts - as for {@link createModel}
 * @returns name, family, params, macs, inputShape, width and resolution
 * @throws {InvalidArgumentError} as {@link createModel}
 * @example
 * ```ts
 * modelInfo('mobilenet_v2').params; // 3504872
 * ```
 */
export function modelInfo(name: ModelName, opts: CreateModelOptions = {}): ModelInfo {
  const e = entry(name, 'modelInfo', opts);
  const model = e.build(opts).eval();
  const { width, resolution } = model;
  const inputShape: [number, number, number, number] = [1, opts.inChannels ?? 3, resolution, resolution];
  const base = { name, family: e.family, params: model.numParameters(), inputShape, width, resolution };
  if (e.macs === 'chain') {
    const macs = chainMacs(model, resolution);
    for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
    return { ...base, macs };
  }
  const x = zeros(inputShape);
  try {
    model.nameParameters();
    const graph = trace((input) => model.call(input), [x]);
    return { ...base, macs: countMacs(graph).total };
  } finally {
    x.dispose();
    for (const t of [...model.parameters(), ...model.buffers()]) t.dispose();
  }
}
