import { globalAvgPool, InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { Dropout, Linear, Module, Sequential } from '../nn/index.js';
import { checkHead, convBNActivation } from './common.js';

/**
 * BatchNorm settings: TF-slim's epsilon 1e-3; momentum 0.01 (TF decay 0.99) rather than slim's 0.9997, which
 * suits long ImageNet runs but leaves the running statistics nearly untouched in short trainings.
 */
const BN = { eps: 0.001, momentum: 0.01 } as const;

/** The 13 depthwise-separable layers of MobileNetV1 (paper Table 1): pointwise channels and depthwise stride. */
const LAYERS: readonly (readonly [number, number])[] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

/** The width multipliers of the paper (Table 6); others in (0, 4] work too. */
export const MOBILENET_V1_WIDTHS: readonly number[] = [0.25, 0.5, 0.75, 1.0];

/**
 * Channels of a MobileNetV1 layer at a width multiplier: `max(floor(c · width), 8)`, TF-slim's
 * `depth = max(int(d * depth_multiplier), min_depth)` with `min_depth = 8` (tensorflow/models
 * `research/slim/nets/mobilenet_v1.py`). For the published widths every product is already a multiple of 8.
 * @param channels - the width-1.0 channel count
 * @param width - width multiplier
 * @returns the scaled channel count
 * @example
 * ```ts
 * mobileNetV1Channels(32, 0.25); // 8
 * ```
 */
export function mobileNetV1Channels(channels: number, width: number): number {
  return Math.max(Math.floor(channels * width), 8);
}

/**
 * One depthwise-separable layer of MobileNetV1: 3×3 depthwise conv → BN → ReLU6, then 1×1 pointwise conv → BN →
 * ReLU6, as a `Sequential` of two conv-BN-activation blocks (keys `0.0.weight` depthwise, `1.0.weight`
 * pointwise, `0.1.running_mean`, …).
 * @param inChannels - input channels (and depthwise channels)
 * @param outChannels - pointwise output channels
 * @param stride - depthwise stride, 1 or 2
 * @returns the layer
 * @throws {InvalidArgumentError} when `stride` is not 1 or 2
 * @example
 * ```ts
 * const layer = depthwiseSeparable(32, 64, 1);
 * ```
 */
export function depthwiseSeparable(inChannels: number, outChannels: number, stride: number): Sequential {
  if (stride !== 1 && stride !== 2) {
    throw new InvalidArgumentError(`depthwiseSeparable: 'stride' must be 1 or 2, got ${stride}`);
  }
  return new Sequential(
    convBNActivation(inChannels, inChannels, { stride, groups: inChannels, activation: 'relu6', ...BN }),
    convBNActivation(inChannels, outChannels, { kernel: 1, activation: 'relu6', ...BN }),
  );
}

/** Options of {@link MobileNetV1}. */
export interface MobileNetV1Options {
  /** Width multiplier α (default 1.0; the paper's are {@link MOBILENET_V1_WIDTHS}). */
  readonly width?: number;
  /** Input resolution: a multiple of 32, at least 32 (default 224; the paper's are 128, 160, 192, 224). */
  readonly resolution?: number;
  /** Input image channels (default 3, RGB; 1 for grayscale such as Fashion-MNIST). */
  readonly inChannels?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the classifier (default 0.001, TF-slim's `dropout_keep_prob = 0.999`). */
  readonly dropout?: number;
}

/**
 * MobileNetV1 (Howard et al. 2017, "MobileNets", Table 1) as TF-slim builds it (tensorflow/models
 * `research/slim/nets/mobilenet_v1.py`): 3×3 stride-2 conv with 32 channels, 13 depthwise-separable layers
 * ({@link depthwiseSeparable}), global average pool, dropout and a fully connected classifier; ReLU6 after every
 * BatchNorm (BN eps 1e-3), channels scaled by {@link mobileNetV1Channels}. Parameter names follow the
 * torchvision conventions of the other zoo models (`features.0.0.weight`, `features.1.0.0.weight`,
 * `classifier.1.bias`). The classifier is a `Linear` over 1000 classes (slim's is a 1×1 conv over 1001).
 * @example
 * ```ts
 * const model = new MobileNetV1({ width: 0.25, resolution: 128, numClasses: 10 });
 * const logits = model.eval().call(randn([1, 3, 128, 128])); // [1, 10]
 * ```
 */
export class MobileNetV1 extends Module {
  /** Stem conv and the 13 depthwise-separable layers. */
  readonly features: Sequential;
  /** `Dropout` → `Linear(lastChannel, numClasses)`. */
  readonly classifier: Sequential;
  /** Width multiplier. */
  readonly width: number;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;
  /** Channels before the classifier (`mobileNetV1Channels(1024, width)`). */
  readonly lastChannel: number;

  /**
   * @param opts - width, resolution, classes, dropout
   * @throws {InvalidArgumentError} on a bad width, resolution, class count or dropout
   */
  constructor(opts: MobileNetV1Options = {}) {
    super();
    const width = opts.width ?? 1.0;
    const resolution = opts.resolution ?? 224;
    const numClasses = opts.numClasses ?? 1000;
    const dropout = opts.dropout ?? 0.001;
    if (typeof width !== 'number' || !Number.isFinite(width) || width <= 0 || width > 4) {
      throw new InvalidArgumentError(
        `mobilenet_v1: 'width' must be a finite number in (0, 4] (published: ${MOBILENET_V1_WIDTHS.join(', ')}), got ${String(width)}`,
      );
    }
    if (!Number.isInteger(resolution) || resolution < 32 || resolution % 32 !== 0) {
      throw new InvalidArgumentError(
        `mobilenet_v1: 'resolution' must be a multiple of 32 that is >= 32 (published: 128, 160, 192, 224), got ${String(resolution)}`,
      );
    }
    checkHead('mobilenet_v1', numClasses, dropout);
    this.width = width;
    this.resolution = resolution;
    this.numClasses = numClasses;
    let input = mobileNetV1Channels(32, width);
    const features: Module[] = [
      convBNActivation(opts.inChannels ?? 3, input, { stride: 2, activation: 'relu6', ...BN }),
    ];
    for (const [c, s] of LAYERS) {
      const output = mobileNetV1Channels(c, width);
      features.push(depthwiseSeparable(input, output, s));
      input = output;
    }
    this.lastChannel = input;
    this.features = this.registerModule('features', new Sequential(...features));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Dropout(dropout), new Linear(this.lastChannel, numClasses)),
    );
  }

  /**
   * @param x - images `[N, 3, H, W]`
   * @returns logits `[N, numClasses]`
   */
  forward(x: Tensor): Tensor {
    return this.classifier.call(globalAvgPool(this.features.call(x)).flatten(1));
  }
}
