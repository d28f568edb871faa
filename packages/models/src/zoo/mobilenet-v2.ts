import { globalAvgPool, InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { BatchNorm2d, Conv2d, Dropout, Linear, Module, Sequential } from '../nn/index.js';
import { checkHead, checkWidthResolution, convBNActivation, makeDivisible } from './common.js';

/**
 * MobileNetV2 inverted residual: optional 1×1 expansion (ReLU6) → 3×3 depthwise (ReLU6) → 1×1 linear projection
 * → BatchNorm, with a skip connection when the stride is 1 and the channels match (torchvision
 * `mobilenetv2.InvertedResidual`; child `conv` holds the layers).
 * @example
 * ```ts
 * const block = new InvertedResidualV2(16, 24, 2, 6);
 * ```
 */
export class InvertedResidualV2 extends Module {
  /** The layers: `[expand,] depthwise, project conv, project BN`. */
  readonly conv: Sequential;
  /** Whether the input is added to the output. */
  readonly useResConnect: boolean;

  /**
   * @param inp - input channels
   * @param oup - output channels
   * @param stride - depthwise stride, 1 or 2
   * @param expandRatio - hidden channels = `round(inp * expandRatio)`
   * @throws {InvalidArgumentError} when `stride` is not 1 or 2
   */
  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) {
      throw new InvalidArgumentError(`InvertedResidualV2: 'stride' must be 1 or 2, got ${stride}`);
    }
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBNActivation(inp, hidden, { kernel: 1, activation: 'relu6' }));
    layers.push(
      convBNActivation(hidden, hidden, { stride, groups: hidden, activation: 'relu6' }),
      // torchvision adds the projection conv and its BN directly (not as a Conv2dNormActivation).
      new Conv2d(hidden, oup, 1, { bias: false }),
      new BatchNorm2d(oup),
    );
    this.conv = this.registerModule('conv', new Sequential(...layers));
  }

  /**
   * @param x - NCHW input
   * @returns the block output
   */
  forward(x: Tensor): Tensor {
    const y = this.conv.call(x);
    return this.useResConnect ? x.add(y) : y;
  }
}

/** Options of {@link MobileNetV2}. */
export interface MobileNetV2Options {
  /** Width multiplier applied to every layer's channels (default 1.0). */
  readonly width?: number;
  /** Input resolution: a multiple of 32, at least 32 (default 224). Recorded for `inputShape`. */
  readonly resolution?: number;
  /** Input image channels (default 3, RGB; 1 for grayscale such as Fashion-MNIST). */
  readonly inChannels?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the classifier Linear (default 0.2). */
  readonly dropout?: number;
}

/** The block table of MobileNetV2: expansion t, channels c, repeats n, first stride s. */
const SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * MobileNetV2 (Sandler et al. 2018), built exactly as torchvision 0.14 `mobilenet_v2(width_mult=…)`, so module
 * names equal torchvision's state-dict keys (`features.0.0.weight`, `features.1.conv.0.0.weight`,
 * `classifier.1.bias`, …) and torchvision weights load with `loadStateDict`.
 * @example
 * ```ts
 * const model = new MobileNetV2({ width: 0.35, resolution: 96, numClasses: 10 });
 * model.eval();
 * const logits = model.call(randn([1, 3, 96, 96])); // [1, 10]
 * ```
 */
export class MobileNetV2 extends Module {
  /** Stem conv, 17 inverted residual blocks and the last 1×1 conv. */
  readonly features: Sequential;
  /** `Dropout` → `Linear(lastChannel, numClasses)`. */
  readonly classifier: Sequential;
  /** Width multiplier. */
  readonly width: number;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;
  /** Channels before the classifier (`makeDivisible(1280 · max(1, width), 8)`). */
  readonly lastChannel: number;

  /**
   * @param opts - width, resolution, classes, dropout
   * @throws {InvalidArgumentError} on a bad width, resolution, class count or dropout
   */
  constructor(opts: MobileNetV2Options = {}) {
    super();
    const width = opts.width ?? 1.0;
    const resolution = opts.resolution ?? 224;
    const numClasses = opts.numClasses ?? 1000;
    const dropout = opts.dropout ?? 0.2;
    checkWidthResolution('mobilenet_v2', width, resolution);
    checkHead('mobilenet_v2', numClasses, dropout);
    this.width = width;
    this.resolution = resolution;
    this.numClasses = numClasses;
    let input = makeDivisible(32 * width, 8);
    this.lastChannel = makeDivisible(1280 * Math.max(1.0, width), 8);
    const features: Module[] = [
      convBNActivation(opts.inChannels ?? 3, input, { stride: 2, activation: 'relu6' }),
    ];
    for (const [t, c, n, s] of SETTING) {
      const output = makeDivisible(c * width, 8);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidualV2(input, output, i === 0 ? s : 1, t));
        input = output;
      }
    }
    features.push(convBNActivation(input, this.lastChannel, { kernel: 1, activation: 'relu6' }));
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
    const f = globalAvgPool(this.features.call(x)).flatten(1);
    return this.classifier.call(f);
  }
}
