import { InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Hardsigmoid,
  Hardswish,
  Module,
  ReLU,
  ReLU6,
  Sequential,
} from '../nn/index.js';

/**
 * Rounds a channel count to a multiple of `divisor`, never going below `minValue` nor more than 10% below `v`
 * (torchvision `_make_divisible`, from the TF MobileNet repository).
 * @param v - the unrounded channel count (e.g. `32 * width`)
 * @param divisor - the multiple to round to (8 for the MobileNets)
 * @param minValue - lower bound (default `divisor`)
 * @returns the rounded channel count
 * @example
 * ```ts
 * makeDivisible(32 * 0.35, 8); // 16
 * makeDivisible(1280 * 1.4, 8); // 1792
 * ```
 */
export function makeDivisible(v: number, divisor: number, minValue: number = divisor): number {
  let rounded = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/** Activation of a {@link convBNActivation} block (`null`: none, as in the linear projection). */
export type BlockActivation = 'relu' | 'relu6' | 'hardswish' | null;

/** Options of {@link convBNActivation}. */
export interface ConvBNActivationOptions {
  /** Square kernel size (default 3). */
  readonly kernel?: number;
  /** Stride (default 1). */
  readonly stride?: number;
  /** Channel groups (default 1; `groups = in = out` is a depthwise convolution). */
  readonly groups?: number;
  /** Dilation (default 1); the padding is `(kernel - 1) / 2 * dilation`. */
  readonly dilation?: number;
  /** Activation after the batch norm (default `'relu'`). */
  readonly activation?: BlockActivation;
  /** BatchNorm epsilon (default 1e-5). */
  readonly eps?: number;
  /** BatchNorm running-statistics momentum (default 0.1). */
  readonly momentum?: number;
}

/**
 * Creates an activation module by name.
 * @param act - the activation name
 * @returns the module
 * @throws {InvalidArgumentError} on an unknown name
 * @example
 * ```ts
 * activationModule('hardswish'); // a Hardswish module
 * ```
 */
export function activationModule(act: Exclude<BlockActivation, null>): Module {
  switch (act) {
    case 'relu':
      return new ReLU();
    case 'relu6':
      return new ReLU6();
    case 'hardswish':
      return new Hardswish();
    default:
      throw new InvalidArgumentError(
        `activationModule: unknown activation '${String(act)}', expected relu, relu6 or hardswish`,
      );
  }
}

/**
 * Conv2d (no bias) → BatchNorm2d → activation, as a {@link Sequential} with children `'0'`, `'1'`, `'2'`
 * (torchvision `Conv2dNormActivation`, so its state-dict keys are `0.weight`, `1.running_mean`, …).
 * @param inChannels - input channels
 * @param outChannels - output channels
 * @param opts - kernel, stride, groups, dilation, activation, batch-norm eps and momentum
 * @returns the block
 * @example
 * ```ts
 * const stem = convBNActivation(3, 32, { stride: 2, activation: 'relu6' });
 * ```
 */
export function convBNActivation(
  inChannels: number,
  outChannels: number,
  opts: ConvBNActivationOptions = {},
): Sequential {
  const kernel = opts.kernel ?? 3;
  const dilation = opts.dilation ?? 1;
  const layers: Module[] = [
    new Conv2d(inChannels, outChannels, kernel, {
      stride: opts.stride ?? 1,
      padding: ((kernel - 1) / 2) * dilation,
      dilation,
      groups: opts.groups ?? 1,
      bias: false,
    }),
    new BatchNorm2d(outChannels, { eps: opts.eps ?? 1e-5, momentum: opts.momentum ?? 0.1 }),
  ];
  const act = opts.activation === undefined ? 'relu' : opts.activation;
  if (act !== null) layers.push(activationModule(act));
  return new Sequential(...layers);
}

/**
 * Squeeze-and-excitation: `x · hardsigmoid(fc2(relu(fc1(avgpool(x)))))` with 1×1 convolutions (torchvision
 * `SqueezeExcitation` with `scale_activation=Hardsigmoid`, as MobileNetV3 uses it). Children: `avgpool`, `fc1`,
 * `fc2`, `activation`, `scale_activation`.
 * @example
 * ```ts
 * const se = new SqueezeExcitation(72, makeDivisible(72 / 4, 8));
 * ```
 */
export class SqueezeExcitation extends Module {
  /** Global average pool. */
  readonly avgpool: AdaptiveAvgPool2d;
  /** Squeeze 1×1 conv (with bias). */
  readonly fc1: Conv2d;
  /** Excite 1×1 conv (with bias). */
  readonly fc2: Conv2d;
  /** ReLU after `fc1`. */
  readonly activation: Module;
  /** Hard sigmoid producing the channel scales. */
  readonly scaleActivation: Module;

  /**
   * @param inputChannels - channels of the input (and of the scale)
   * @param squeezeChannels - bottleneck channels
   */
  constructor(inputChannels: number, squeezeChannels: number) {
    super();
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc1 = this.registerModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1));
    this.fc2 = this.registerModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1));
    this.activation = this.registerModule('activation', new ReLU());
    this.scaleActivation = this.registerModule('scale_activation', new Hardsigmoid());
  }

  /**
   * @param x - NCHW input
   * @returns `x` scaled per channel
   */
  forward(x: Tensor): Tensor {
    const s = this.avgpool.call(x);
    const scale = this.scaleActivation.call(this.fc2.call(this.activation.call(this.fc1.call(s))));
    return scale.mul(x);
  }
}

/**
 * Checks a width multiplier and an input resolution shared by the MobileNet builders.
 * @param model - model name for messages
 * @param width - width multiplier
 * @param resolution - input size
 * @throws {InvalidArgumentError} when `width` is not a finite number in (0, 4] or `resolution` is not a
 * multiple of 32 that is at least 32
 * @example
 * ```ts
 * checkWidthResolution('mobilenet_v2', 0.35, 96);
 * ```
 */
export function checkWidthResolution(model: string, width: number, resolution: number): void {
  if (typeof width !== 'number' || !Number.isFinite(width) || width <= 0 || width > 4) {
    throw new InvalidArgumentError(
      `${model}: 'width' must be a finite number in (0, 4] (published: 0.35, 0.5, 0.75, 1.0, 1.4), got ${String(width)}`,
    );
  }
  if (!Number.isInteger(resolution) || resolution < 32 || resolution % 32 !== 0) {
    throw new InvalidArgumentError(
      `${model}: 'resolution' must be a multiple of 32 that is >= 32, got ${String(resolution)}`,
    );
  }
}

/**
 * Checks the classifier options shared by the MobileNet builders.
 * @param model - model name for messages
 * @param numClasses - number of output classes
 * @param dropout - dropout probability before the last Linear
 * @throws {InvalidArgumentError} when `numClasses` is not a positive integer or `dropout` is outside [0, 1)
 * @example
 * ```ts
 * checkHead('mobilenet_v2', 1000, 0.2);
 * ```
 */
export function checkHead(model: string, numClasses: number, dropout: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new InvalidArgumentError(
      `${model}: 'numClasses' must be a positive integer, got ${String(numClasses)}`,
    );
  }
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new InvalidArgumentError(`${model}: 'dropout' must be in [0, 1), got ${String(dropout)}`);
  }
}
