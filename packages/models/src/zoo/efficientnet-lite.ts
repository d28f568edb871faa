import { InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { AdaptiveAvgPool2d, Dropout, Linear, Module, Sequential } from '../nn/index.js';
import { checkHead, convBNActivation, makeDivisible } from './common.js';

/** TF BatchNorm settings of EfficientNet (`epsilon=1e-3`, `momentum=0.99`, i.e. torch momentum 0.01). */
const BN = { eps: 0.001, momentum: 0.01 } as const;

/** EfficientNet-Lite variants 0–4. */
export type EfficientNetLiteVariant = 0 | 1 | 2 | 3 | 4;

/** Compound-scaling parameters of one EfficientNet-Lite variant. */
export interface EfficientNetLiteParams {
  /** Width coefficient (channel multiplier of the blocks; stem and head stay 32 / 1280). */
  readonly width: number;
  /** Depth coefficient (repeat multiplier of the middle stages). */
  readonly depth: number;
  /** Published input resolution. */
  readonly resolution: number;
  /** Published dropout before the classifier. */
  readonly dropout: number;
}

/** `efficientnet_lite_params` of tensorflow/tpu `models/official/efficientnet/lite/efficientnet_lite_builder.py`. */
const PARAMS: readonly EfficientNetLiteParams[] = [
  { width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
  { width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
  { width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
  { width: 1.2, depth: 1.4, resolution: 280, dropout: 0.3 },
  { width: 1.4, depth: 1.8, resolution: 300, dropout: 0.3 },
];

// EfficientNet-B0 stages (`_DEFAULT_BLOCKS_ARGS`): [expand, kernel, stride, in, out, repeats].
type Stage = readonly [number, number, number, number, number, number];
const STAGES: readonly Stage[] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/**
 * The compound-scaling parameters of an EfficientNet-Lite variant (tensorflow/tpu
 * `efficientnet_lite_builder.efficientnet_lite_params`).
 * @param variant - 0 to 4
 * @returns width and depth coefficients, resolution and dropout
 * @throws {InvalidArgumentError} on another variant
 * @example
 * ```ts
 * efficientNetLiteParams(4); // { width: 1.4, depth: 1.8, resolution: 300, dropout: 0.3 }
 * ```
 */
export function efficientNetLiteParams(variant: EfficientNetLiteVariant): EfficientNetLiteParams {
  const p = PARAMS[variant];
  if (!Number.isInteger(variant) || p === undefined) {
    throw new InvalidArgumentError(
      `efficientnet_lite: 'variant' must be one of 0, 1, 2, 3, 4, got ${String(variant)}`,
    );
  }
  return p;
}

/** One MBConv block of EfficientNet-Lite, channels already scaled. */
export interface MBConvLiteConfig {
  /** Input channels. */
  readonly inputChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Expansion ratio (hidden = `inputChannels · expandRatio`); 1 skips the expansion conv. */
  readonly expandRatio: number;
  /** Depthwise kernel size (3 or 5). */
  readonly kernel: number;
  /** Depthwise stride, 1 or 2. */
  readonly stride: number;
}

/**
 * The per-stage block configs of an EfficientNet-Lite variant, as tensorflow/tpu `efficientnet_model.Model`
 * builds them with `fix_head_stem=True`: channels `makeDivisible(c · width, 8)` (TF `round_filters`), repeats
 * `ceil(depth · r)` (TF `round_repeats`) except in the first and last stages, which keep 1 repeat; the first
 * block of a stage has the stage's stride, the others stride 1; the first stage reads the fixed 32-channel stem.
 * @param variant - 0 to 4
 * @returns one array of block configs per stage (7 stages)
 * @throws {InvalidArgumentError} on an unknown variant
 * @example
 * ```ts
 * efficientNetLiteConfig(0).map((s) => s.length); // [1, 2, 2, 3, 3, 4, 1]
 * ```
 */
export function efficientNetLiteConfig(variant: EfficientNetLiteVariant): MBConvLiteConfig[][] {
  const { width, depth } = efficientNetLiteParams(variant);
  let input = 32;
  return STAGES.map(([e, k, s, , out, r], i) => {
    const fixed = i === 0 || i === STAGES.length - 1;
    const repeats = fixed ? r : Math.ceil(depth * r);
    const outChannels = makeDivisible(out * width, 8);
    const blocks: MBConvLiteConfig[] = [];
    for (let j = 0; j < repeats; j++) {
      blocks.push({ inputChannels: input, outChannels, expandRatio: e, kernel: k, stride: j === 0 ? s : 1 });
      input = outChannels;
    }
    return blocks;
  });
}

/**
 * MBConv block of EfficientNet-Lite (no squeeze-excitation, ReLU6): optional 1×1 expansion → k×k depthwise →
 * 1×1 linear projection, each followed by BatchNorm, plus the input when the stride is 1 and the channels match.
 * Child `block` holds the layers (torchvision `efficientnet.MBConv` key layout without the SE entry). Padding is
 * symmetric `(k - 1) / 2`, which gives TF's `'same'` output sizes; stochastic depth is not applied.
 * @example
 * ```ts
 * const b = new MBConvLite({ inputChannels: 16, outChannels: 24, expandRatio: 6, kernel: 3, stride: 2 });
 * ```
 */
export class MBConvLite extends Module {
  /** The layers. */
  readonly block: Sequential;
  /** Whether the input is added to the output. */
  readonly useResConnect: boolean;

  /**
   * @param cnf - block configuration
   * @throws {InvalidArgumentError} when the stride is not 1 or 2
   */
  constructor(cnf: MBConvLiteConfig) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) {
      throw new InvalidArgumentError(`MBConvLite: 'stride' must be 1 or 2, got ${cnf.stride}`);
    }
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const hidden = cnf.inputChannels * cnf.expandRatio;
    const layers: Module[] = [];
    if (cnf.expandRatio !== 1) {
      layers.push(convBNActivation(cnf.inputChannels, hidden, { kernel: 1, activation: 'relu6', ...BN }));
    }
    layers.push(
      convBNActivation(hidden, hidden, {
        kernel: cnf.kernel,
        stride: cnf.stride,
        groups: hidden,
        activation: 'relu6',
        ...BN,
      }),
      convBNActivation(hidden, cnf.outChannels, { kernel: 1, activation: null, ...BN }),
    );
    this.block = this.registerModule('block', new Sequential(...layers));
  }

  /**
   * @param x - NCHW input
   * @returns the block output
   */
  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? y.add(x) : y;
  }
}

/** Options of {@link EfficientNetLite}. */
export interface EfficientNetLiteOptions {
  /**
   * The variant's width coefficient (see {@link efficientNetLiteParams}); any other value is rejected, since
   * the width is fixed by the variant. Accepted so that generic callers may pass it.
   */
  readonly width?: number;
  /** Input resolution, an integer >= 32 (default: the variant's, 224–300). Recorded for `inputShape`. */
  readonly resolution?: number;
  /** Input image channels (default 3, RGB; 1 for grayscale such as Fashion-MNIST). */
  readonly inChannels?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the classifier (default: the variant's, 0.2 or 0.3). */
  readonly dropout?: number;
}

/**
 * EfficientNet-Lite0–4 (tensorflow/tpu `models/official/efficientnet/lite`): EfficientNet-B0's stages scaled by
 * the variant's width / depth coefficients, without squeeze-excitation, with ReLU6 instead of swish, and with
 * the stem (32 channels) and head (1280 channels, first and last stage repeats) not scaled. Structure and keys
 * follow torchvision's `efficientnet_b0` (`features.0` stem, `features.1`–`features.7` stages of
 * {@link MBConvLite}, `features.8` head conv, `avgpool`, `classifier.1` Linear).
 * @example
 * ```ts
 * const model = new EfficientNetLite(0, { resolution: 96, numClasses: 10 });
 * const logits = model.eval().call(randn([1, 3, 96, 96])); // [1, 10]
 * ```
 */
export class EfficientNetLite extends Module {
  /** Stem, the 7 stages and the head conv. */
  readonly features: Sequential;
  /** Global average pool. */
  readonly avgpool: AdaptiveAvgPool2d;
  /** `Dropout` → `Linear(1280, numClasses)`. */
  readonly classifier: Sequential;
  /** Variant 0–4. */
  readonly variant: EfficientNetLiteVariant;
  /** Width coefficient of the variant. */
  readonly width: number;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;

  /**
   * @param variant - 0 to 4
   * @param opts - resolution, classes, dropout (and the variant's width)
   * @throws {InvalidArgumentError} on an unknown variant, a width other than the variant's, or a bad
   *   resolution, class count or dropout
   */
  constructor(variant: EfficientNetLiteVariant, opts: EfficientNetLiteOptions = {}) {
    super();
    const p = efficientNetLiteParams(variant);
    const name = `efficientnet_lite${variant}`;
    if (opts.width !== undefined && opts.width !== p.width) {
      throw new InvalidArgumentError(
        `${name}: 'width' is fixed by the variant to ${p.width} (lite0–lite4: ${PARAMS.map((q) => q.width).join(', ')}), got ${String(opts.width)}; pick another variant instead`,
      );
    }
    const resolution = opts.resolution ?? p.resolution;
    const numClasses = opts.numClasses ?? 1000;
    const dropout = opts.dropout ?? p.dropout;
    if (!Number.isInteger(resolution) || resolution < 32) {
      throw new InvalidArgumentError(
        `${name}: 'resolution' must be an integer >= 32 (published: ${p.resolution}), got ${String(resolution)}`,
      );
    }
    checkHead(name, numClasses, dropout);
    this.variant = variant;
    this.width = p.width;
    this.resolution = resolution;
    this.numClasses = numClasses;
    const stages = efficientNetLiteConfig(variant);
    const lastIn = stages[stages.length - 1]!.at(-1)!.outChannels;
    this.features = this.registerModule(
      'features',
      new Sequential(
        convBNActivation(opts.inChannels ?? 3, 32, { stride: 2, activation: 'relu6', ...BN }),
        ...stages.map((blocks) => new Sequential(...blocks.map((cnf) => new MBConvLite(cnf)))),
        convBNActivation(lastIn, 1280, { kernel: 1, activation: 'relu6', ...BN }),
      ),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Dropout(dropout), new Linear(1280, numClasses)),
    );
  }

  /**
   * @param x - images `[N, 3, H, W]`
   * @returns logits `[N, numClasses]`
   */
  forward(x: Tensor): Tensor {
    return this.classifier.call(this.avgpool.call(this.features.call(x)).flatten(1));
  }
}
