import {
  type Conv2DPadding,
  conv2d,
  convTranspose2d,
  InvalidArgumentError,
  type Tensor,
} from '@tinyvision/tensor';
import { type InitOptions, uniformFanIn } from '../init.js';
import { Module } from '../module.js';

/** A size given as one number or `[h, w]`. */
export type Size2 = number | readonly [number, number];

function pair2(v: Size2, name: string, op: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new InvalidArgumentError(`${op}: '${name}' must be positive integers, got ${JSON.stringify(v)}`);
  }
  return p;
}

function checkChannels(inC: number, outC: number, groups: number, op: string): void {
  for (const [n, v] of [
    ['inChannels', inC],
    ['outChannels', outC],
    ['groups', groups],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new InvalidArgumentError(`${op}: '${n}' must be a positive integer, got ${v}`);
    }
  }
  if (inC % groups !== 0 || outC % groups !== 0) {
    throw new InvalidArgumentError(
      `${op}: inChannels ${inC} and outChannels ${outC} must be divisible by groups ${groups}`,
    );
  }
}

/** Options of {@link Conv2d} (torch `nn.Conv2d` keywords). */
export interface Conv2dOptions extends InitOptions {
  /** Stride (default 1). */
  readonly stride?: Size2;
  /** Padding: number, `[pH, pW]`, `[top, left, bottom, right]`, `'valid'` or `'same'` (stride 1 only, as torch). Default 0. */
  readonly padding?: Conv2DPadding;
  /** Dilation (default 1). */
  readonly dilation?: Size2;
  /** Groups (default 1; `groups = inChannels` is depthwise). */
  readonly groups?: number;
  /** Learnable bias (default true). */
  readonly bias?: boolean;
}

/**
 * 2-D convolution layer (`torch.nn.Conv2d`): `weight [out, in/groups, kH, kW]` and `bias [out]`, both
 * initialised uniform in `±1/√fanIn` (torch's kaiming_uniform(a=√5)).
 * @example
 * ```ts
 * const conv = new Conv2d(3, 16, 3, { stride: 2, padding: 1 });
 * conv.call(randn([1, 3, 32, 32])).shape; // [1, 16, 16, 16]
 * ```
 */
export class Conv2d extends Module {
  /** Weights `[out, in/groups, kH, kW]`. */
  readonly weight: Tensor;
  /** Bias `[out]`, or null. */
  readonly bias: Tensor | null;
  /** Kernel `[kH, kW]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sH, sW]`. */
  readonly stride: [number, number];
  /** Padding as given. */
  readonly padding: Conv2DPadding;
  /** Dilation `[dH, dW]`. */
  readonly dilation: [number, number];
  /** Groups. */
  readonly groups: number;

  /**
   * @param inChannels - input channels
   * @param outChannels - output channels
   * @param kernelSize - kernel size
   * @param opts - stride, padding, dilation, groups, bias, rng, dtype
   * @throws {InvalidArgumentError} on non-positive sizes, channels not divisible by groups, or `'same'` with stride > 1
   */
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dOptions = {}) {
    super();
    const op = 'Conv2d';
    this.groups = opts.groups ?? 1;
    checkChannels(inChannels, outChannels, this.groups, op);
    this.kernelSize = pair2(kernelSize, 'kernelSize', op);
    this.stride = pair2(opts.stride ?? 1, 'stride', op);
    this.dilation = pair2(opts.dilation ?? 1, 'dilation', op);
    this.padding = opts.padding ?? 0;
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new InvalidArgumentError(`${op}: padding 'same' needs stride 1, got [${this.stride.join(',')}]`);
    }
    const [kh, kw] = this.kernelSize;
    const fanIn = (inChannels / this.groups) * kh * kw;
    this.weight = this.registerParameter(
      'weight',
      uniformFanIn([outChannels, inChannels / this.groups, kh, kw], fanIn, opts),
    );
    this.bias = this.registerParameter(
      'bias',
      (opts.bias ?? true) ? uniformFanIn([outChannels], fanIn, opts) : null,
    );
  }

  /**
   * @param x - `[N, in, H, W]`
   * @returns `[N, out, outH, outW]`
   */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/** Options of {@link ConvTranspose2d} (torch `nn.ConvTranspose2d` keywords). */
export interface ConvTranspose2dOptions extends InitOptions {
  /** Stride (default 1). */
  readonly stride?: Size2;
  /** Padding removed from the output: number or `[pH, pW]` (default 0). */
  readonly padding?: Size2 | 0;
  /** Extra output rows/columns at the bottom/right (default 0). */
  readonly outputPadding?: Size2 | 0;
  /** Dilation (default 1). */
  readonly dilation?: Size2;
  /** Groups (default 1). */
  readonly groups?: number;
  /** Learnable bias (default true). */
  readonly bias?: boolean;
}

/**
 * Transposed 2-D convolution layer (`torch.nn.ConvTranspose2d`): `weight [in, out/groups, kH, kW]`,
 * `bias [out]`, initialised like torch (fan-in taken from `weight.shape[1]·kH·kW`).
 * @example
 * ```ts
 * const up = new ConvTranspose2d(8, 4, 3, { stride: 2, padding: 1, outputPadding: 1 });
 * up.call(randn([1, 8, 7, 7])).shape; // [1, 4, 14, 14]
 * ```
 */
export class ConvTranspose2d extends Module {
  /** Weights `[in, out/groups, kH, kW]`. */
  readonly weight: Tensor;
  /** Bias `[out]`, or null. */
  readonly bias: Tensor | null;
  private readonly opts: ConvTranspose2dOptions;

  /**
   * @param inChannels - input channels
   * @param outChannels - output channels
   * @param kernelSize - kernel size
   * @param opts - stride, padding, outputPadding, dilation, groups, bias, rng, dtype
   * @throws {InvalidArgumentError} on non-positive sizes or channels not divisible by groups
   */
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: ConvTranspose2dOptions = {}) {
    super();
    const op = 'ConvTranspose2d';
    const groups = opts.groups ?? 1;
    checkChannels(inChannels, outChannels, groups, op);
    const [kh, kw] = pair2(kernelSize, 'kernelSize', op);
    this.opts = opts;
    const fanIn = (outChannels / groups) * kh * kw;
    this.weight = this.registerParameter(
      'weight',
      uniformFanIn([inChannels, outChannels / groups, kh, kw], fanIn, opts),
    );
    this.bias = this.registerParameter(
      'bias',
      (opts.bias ?? true) ? uniformFanIn([outChannels], fanIn, opts) : null,
    );
  }

  /**
   * @param x - `[N, in, H, W]`
   * @returns `[N, out, outH, outW]`
   */
  forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding, dilation, groups } = this.opts;
    return convTranspose2d(x, this.weight, this.bias, { stride, padding, outputPadding, dilation, groups });
  }
}
