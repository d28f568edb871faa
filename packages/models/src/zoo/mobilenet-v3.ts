import { InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { AdaptiveAvgPool2d, Dropout, Linear, Module, Sequential } from '../nn/index.js';
import {
  activationModule,
  checkHead,
  checkWidthResolution,
  convBNActivation,
  makeDivisible,
  SqueezeExcitation,
} from './common.js';

/** MobileNetV3 BatchNorm settings (torchvision: `BatchNorm2d(eps=0.001, momentum=0.01)`). */
const BN = { eps: 0.001, momentum: 0.01 } as const;

/** One inverted residual block of MobileNetV3 (Tables 1 and 2 of the paper), channels already width-scaled. */
export interface InvertedResidualV3Config {
  /** Input channels. */
  readonly inputChannels: number;
  /** Depthwise kernel size. */
  readonly kernel: number;
  /** Expanded (hidden) channels. */
  readonly expandedChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Whether a squeeze-excitation follows the depthwise conv. */
  readonly useSE: boolean;
  /** Hard-swish (true) or ReLU (false). */
  readonly useHS: boolean;
  /** Stride, 1 or 2 (ignored, i.e. 1, when `dilation > 1`). */
  readonly stride: number;
  /** Depthwise dilation. */
  readonly dilation: number;
}

/**
 * MobileNetV3 inverted residual (torchvision `mobilenetv3.InvertedResidual`): optional 1×1 expansion →
 * k×k depthwise → optional squeeze-excitation → 1×1 linear projection, plus the input when the stride is 1 and
 * the channels match. Child `block` holds the layers.
 * @example
 * ```ts
 * const b = new InvertedResidualV3({ inputChannels: 16, kernel: 3, expandedChannels: 64, outChannels: 24,
 *   useSE: false, useHS: false, stride: 2, dilation: 1 });
 * ```
 */
export class InvertedResidualV3 extends Module {
  /** The layers. */
  readonly block: Sequential;
  /** Whether the input is added to the output. */
  readonly useResConnect: boolean;

  /**
   * @param cnf - block configuration
   * @throws {InvalidArgumentError} when the stride is not 1 or 2
   */
  constructor(cnf: InvertedResidualV3Config) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) {
      throw new InvalidArgumentError(`InvertedResidualV3: 'stride' must be 1 or 2, got ${cnf.stride}`);
    }
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    const activation = cnf.useHS ? 'hardswish' : 'relu';
    const exp = cnf.expandedChannels;
    const layers: Module[] = [];
    if (exp !== cnf.inputChannels) {
      layers.push(convBNActivation(cnf.inputChannels, exp, { kernel: 1, activation, ...BN }));
    }
    layers.push(
      convBNActivation(exp, exp, {
        kernel: cnf.kernel,
        stride: cnf.dilation > 1 ? 1 : cnf.stride,
        dilation: cnf.dilation,
        groups: exp,
        activation,
        ...BN,
      }),
    );
    if (cnf.useSE) layers.push(new SqueezeExcitation(exp, makeDivisible(Math.floor(exp / 4), 8)));
    layers.push(convBNActivation(exp, cnf.outChannels, { kernel: 1, activation: null, ...BN }));
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

/** MobileNetV3 variants. */
export type MobileNetV3Arch = 'small' | 'large';

/** Options of {@link MobileNetV3}. */
export interface MobileNetV3Options {
  /** Width multiplier (default 1.0). */
  readonly width?: number;
  /** Input resolution: a multiple of 32, at least 32 (default 224). Recorded for `inputShape`. */
  readonly resolution?: number;
  /** Input image channels (default 3, RGB; 1 for grayscale such as Fashion-MNIST). */
  readonly inChannels?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the last Linear (default 0.2). */
  readonly dropout?: number;
  /** Halve the channels of the last stage (torchvision `reduced_tail`, for detection/segmentation backbones). */
  readonly reducedTail?: boolean;
  /** Dilation 2 instead of stride 2 in the last stage (torchvision `dilated`). */
  readonly dilated?: boolean;
  /** The "minimalistic" variant: kernel 3, no squeeze-excitation, ReLU everywhere (see {@link MobileNetV3}). */
  readonly minimalistic?: boolean;
}

/** What {@link mobileNetV3Config} returns. */
export interface MobileNetV3Setting {
  /** The width-scaled block configs, in order. */
  readonly setting: InvertedResidualV3Config[];
  /** Hidden width of the classifier (`makeDivisible(1280 or 1024 · width, 8)`, halved with reducedTail). */
  readonly lastChannel: number;
}

// [input, kernel, expanded, out, SE, HS, stride, lastStage] before width scaling (torchvision `_mobilenet_v3_conf`).
type Row = readonly [number, number, number, number, boolean, boolean, number, boolean];
const LARGE: readonly Row[] = [
  [16, 3, 16, 16, false, false, 1, false],
  [16, 3, 64, 24, false, false, 2, false],
  [24, 3, 72, 24, false, false, 1, false],
  [24, 5, 72, 40, true, false, 2, false],
  [40, 5, 120, 40, true, false, 1, false],
  [40, 5, 120, 40, true, false, 1, false],
  [40, 3, 240, 80, false, true, 2, false],
  [80, 3, 200, 80, false, true, 1, false],
  [80, 3, 184, 80, false, true, 1, false],
  [80, 3, 184, 80, false, true, 1, false],
  [80, 3, 480, 112, true, true, 1, false],
  [112, 3, 672, 112, true, true, 1, false],
  [112, 5, 672, 160, true, true, 2, true],
  [160, 5, 960, 160, true, true, 1, true],
  [160, 5, 960, 160, true, true, 1, true],
];
const SMALL: readonly Row[] = [
  [16, 3, 16, 16, true, false, 2, false],
  [16, 3, 72, 24, false, false, 2, false],
  [24, 3, 88, 24, false, false, 1, false],
  [24, 5, 96, 40, true, true, 2, false],
  [40, 5, 240, 40, true, true, 1, false],
  [40, 5, 240, 40, true, true, 1, false],
  [40, 5, 120, 48, true, true, 1, false],
  [48, 5, 144, 48, true, true, 1, false],
  [48, 5, 288, 96, true, true, 2, true],
  [96, 5, 576, 96, true, true, 1, true],
  [96, 5, 576, 96, true, true, 1, true],
];

/**
 * The block table and classifier hidden width of a MobileNetV3 variant (torchvision `_mobilenet_v3_conf`, plus
 * `minimalistic`).
 * @param arch - `'small'` or `'large'`
 * @param opts - width, reducedTail, dilated, minimalistic
 * @returns the scaled block configs and `lastChannel` (classifier hidden width)
 * @example
 * ```ts
 * mobileNetV3Config('large', { width: 1 }).lastChannel; // 1280
 * ```
 */
export function mobileNetV3Config(
  arch: MobileNetV3Arch,
  opts: Pick<MobileNetV3Options, 'width' | 'reducedTail' | 'dilated' | 'minimalistic'> = {},
): MobileNetV3Setting {
  const width = opts.width ?? 1.0;
  const div = opts.reducedTail ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * width, 8);
  const rows = arch === 'large' ? LARGE : SMALL;
  // The first row of the last stage keeps its input and expanded channels; all other last-stage counts are divided.
  const setting = rows.map(([inp, k, exp, out, se, hs, stride, last], i): InvertedResidualV3Config => {
    const firstOfLast = last && !rows[i - 1]![7];
    const d = (c: number) => (last ? Math.trunc(c / div) : c);
    return {
      inputChannels: adjust(firstOfLast ? inp : d(inp)),
      expandedChannels: adjust(firstOfLast ? exp : d(exp)),
      outChannels: adjust(d(out)),
      kernel: opts.minimalistic ? 3 : k,
      useSE: opts.minimalistic ? false : se,
      useHS: opts.minimalistic ? false : hs,
      stride,
      dilation: last && opts.dilated ? 2 : 1,
    };
  });
  const lastChannel = adjust(Math.trunc((arch === 'large' ? 1280 : 1024) / div));
  return { setting, lastChannel };
}

/**
 * MobileNetV3 Small / Large (Howard et al. 2019, "Searching for MobileNetV3"), built exactly as torchvision 0.14
 * `mobilenet_v3_small` / `mobilenet_v3_large(width_mult, reduced_tail, dilated)`, so module names equal
 * torchvision's state-dict keys (`features.1.block.0.0.weight`, `features.1.block.1.fc1.bias`,
 * `classifier.3.weight`, …) and torchvision weights load with `loadStateDict`.
 *
 * `minimalistic` is the paper's / TF-slim's `V3_SMALL_MINIMALISTIC` / `V3_LARGE_MINIMALISTIC` (reference:
 * tensorflow/models `research/slim/nets/mobilenet/mobilenet_v3.py`; torchvision has no such variant): the same
 * channel table with every depthwise kernel 3×3, no squeeze-excitation and ReLU instead of hard-swish everywhere
 * (stem, blocks, last conv and classifier). Channel rounding and the classifier follow torchvision's conventions
 * (TF-slim published 3.9M / 2.0M parameters for large / small at width 1.0; this build has 3,924,288 / 2,044,736).
 * @example
 * ```ts
 * const model = new MobileNetV3('small', { width: 0.5, resolution: 96, numClasses: 10 });
 * model.eval();
 * const logits = model.call(randn([1, 3, 96, 96])); // [1, 10]
 * ```
 */
export class MobileNetV3 extends Module {
  /** Stem conv, the inverted residual blocks and the last 1×1 conv. */
  readonly features: Sequential;
  /** Global average pool. */
  readonly avgpool: AdaptiveAvgPool2d;
  /** `Linear` → hard-swish (ReLU when minimalistic) → `Dropout` → `Linear`. */
  readonly classifier: Sequential;
  /** Variant. */
  readonly arch: MobileNetV3Arch;
  /** Width multiplier. */
  readonly width: number;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;
  /** Whether this is the minimalistic variant. */
  readonly minimalistic: boolean;

  /**
   * @param arch - `'small'` or `'large'`
   * @param opts - width, resolution, classes, dropout, reducedTail, dilated, minimalistic
   * @throws {InvalidArgumentError} on an unknown arch or a bad width, resolution, class count or dropout
   */
  constructor(arch: MobileNetV3Arch, opts: MobileNetV3Options = {}) {
    super();
    const name = `mobilenet_v3_${String(arch)}${opts.minimalistic ? '_minimalistic' : ''}`;
    if (arch !== 'small' && arch !== 'large') {
      throw new InvalidArgumentError(`MobileNetV3: 'arch' must be 'small' or 'large', got '${String(arch)}'`);
    }
    const width = opts.width ?? 1.0;
    const resolution = opts.resolution ?? 224;
    const numClasses = opts.numClasses ?? 1000;
    const dropout = opts.dropout ?? 0.2;
    checkWidthResolution(name, width, resolution);
    checkHead(name, numClasses, dropout);
    this.arch = arch;
    this.width = width;
    this.resolution = resolution;
    this.numClasses = numClasses;
    this.minimalistic = opts.minimalistic ?? false;
    const act = this.minimalistic ? 'relu' : 'hardswish';
    const { setting, lastChannel } = mobileNetV3Config(arch, { ...opts, width });
    const first = setting[0]!.inputChannels;
    const lastIn = setting[setting.length - 1]!.outChannels;
    const lastOut = 6 * lastIn;
    this.features = this.registerModule(
      'features',
      new Sequential(
        convBNActivation(opts.inChannels ?? 3, first, { stride: 2, activation: act, ...BN }),
        ...setting.map((cnf) => new InvertedResidualV3(cnf)),
        convBNActivation(lastIn, lastOut, { kernel: 1, activation: act, ...BN }),
      ),
    );
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(lastOut, lastChannel),
        activationModule(act),
        new Dropout(dropout),
        new Linear(lastChannel, numClasses),
      ),
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
