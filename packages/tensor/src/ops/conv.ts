// Ops of the 'conv' family: conv2d, convTranspose2d, fusedConv2d (see docs/guides/adding-an-op.md).
import type {
  Activation,
  Conv2DAttrs,
  ConvTranspose2DAttrs,
  FusedConv2DAttrs,
} from '../backend/kernel-names.js';
import * as K from '../backend/kernel-names.js';
import { runComposite, runKernel } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { hardSigmoid, hardSwish, relu, relu6, silu } from './activation.js';
import { sigmoid, tanh } from './elementwise.js';
import { assertTensor, pair } from './util.js';

/**
 * Padding of {@link conv2d}: one number for all sides, `[padH, padW]` (symmetric), explicit
 * `[top, left, bottom, right]`, `'valid'` (no padding) or `'same'` (TensorFlow "SAME", see {@link conv2d}).
 */
export type Conv2DPadding =
  | number
  | readonly [number, number]
  | readonly [number, number, number, number]
  | 'valid'
  | 'same';

/** Options of {@link conv2d}. */
export interface Conv2DOptions {
  /** Stride, one number or `[sH, sW]`. Default 1. */
  readonly stride?: number | readonly [number, number];
  /** Padding. Default 0. */
  readonly padding?: Conv2DPadding;
  /** Dilation, one number or `[dH, dW]`. Default 1. */
  readonly dilation?: number | readonly [number, number];
  /** Groups: input and output channels must both be divisible by it (`groups = C` is depthwise). Default 1. */
  readonly groups?: number;
}

/** Options of {@link fusedConv2d}. */
export interface FusedConv2DOptions extends Conv2DOptions {
  /** Activation applied after the bias. Default `'none'`. */
  readonly activation?: Activation;
}

/** Options of {@link convTranspose2d} (`torch.nn.functional.conv_transpose2d` names and semantics). */
export interface ConvTranspose2DOptions {
  /** Stride, one number or `[sH, sW]`. Default 1. */
  readonly stride?: number | readonly [number, number];
  /** Implicit padding removed from the output: number, `[pH, pW]` or `[top, left, bottom, right]`. Default 0. */
  readonly padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Extra rows/columns added at the bottom/right of the output. Must be < max(stride, dilation). Default 0. */
  readonly outputPadding?: number | readonly [number, number];
  /** Dilation, one number or `[dH, dW]`. Default 1. */
  readonly dilation?: number | readonly [number, number];
  /** Groups. Default 1. */
  readonly groups?: number;
}

type Pads = [number, number, number, number];

function positivePair(v: number | readonly number[] | undefined, name: string, op: string): [number, number] {
  const p = pair(v ?? 1, name, op);
  if (p[0] < 1 || p[1] < 1) {
    throw new InvalidArgumentError(`${op}: '${name}' must be positive integers, got [${p.join(',')}]`);
  }
  return p;
}

function explicitPads(v: number | readonly number[], op: string): Pads {
  let p: number[];
  if (typeof v === 'number') p = [v, v, v, v];
  else if (v.length === 2) p = [v[0]!, v[1]!, v[0]!, v[1]!];
  else if (v.length === 4) p = [...v];
  else p = [Number.NaN];
  if (!p.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new InvalidArgumentError(
      `${op}: 'padding' must be a non-negative integer, [padH, padW] or [top, left, bottom, right], got ${JSON.stringify(v)}`,
    );
  }
  return p as Pads;
}

/** TensorFlow "SAME" for one dim: total pad so that out = ceil(in / stride); the odd pixel goes after. */
function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function checkGroups(groups: number | undefined, op: string): number {
  const g = groups ?? 1;
  if (!Number.isInteger(g) || g < 1) {
    throw new InvalidArgumentError(`${op}: 'groups' must be a positive integer, got ${String(groups)}`);
  }
  return g;
}

function checkDTypes(x: Tensor, w: Tensor, bias: Tensor | null, op: string): void {
  const half = (d: string) => d === 'float16' || d === 'bfloat16';
  for (const [t, n] of [
    [x, 'x'],
    [w, 'w'],
    [bias, 'bias'],
  ] as const) {
    if (t && t.dtype !== 'float32' && !half(t.dtype)) {
      throw new DTypeError(`${op}: '${n}' has dtype ${t.dtype}, expected float32, float16 or bfloat16`);
    }
  }
  if (x.dtype !== w.dtype && !(x.dtype === 'float32' && half(w.dtype))) {
    throw new DTypeError(
      `${op}: 'x' is ${x.dtype} but 'w' is ${w.dtype}; expected equal dtypes, or float32 'x' with float16/bfloat16 'w'`,
    );
  }
  if (bias && bias.dtype !== x.dtype && bias.dtype !== w.dtype) {
    throw new DTypeError(`${op}: 'bias' is ${bias.dtype}, expected ${x.dtype} or ${w.dtype}`);
  }
}

function checkRanks(x: Tensor, w: Tensor, bias: Tensor | null, op: string): void {
  assertTensor(x, 'x', op);
  assertTensor(w, 'w', op);
  if (bias) assertTensor(bias, 'bias', op);
  if (x.rank !== 4) throw new ShapeError(`${op}: 'x' shape ${fmtShape(x.shape)} must have rank 4 (NCHW)`);
  if (w.rank !== 4) throw new ShapeError(`${op}: 'w' shape ${fmtShape(w.shape)} must have rank 4`);
  checkDTypes(x, w, bias, op);
}

function checkBias(bias: Tensor | null, channels: number, op: string): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: 'bias' shape ${fmtShape(bias.shape)} must be [${channels}]`);
  }
}

/** Validates conv2d arguments and resolves the options to explicit kernel attrs. */
function conv2dAttrs(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  opts: Conv2DOptions,
  op: string,
): Conv2DAttrs {
  checkRanks(x, w, bias, op);
  const groups = checkGroups(opts.groups, op);
  const strides = positivePair(opts.stride, 'stride', op);
  const dilations = positivePair(opts.dilation, 'dilation', op);
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  if (c !== cg * groups || o % groups !== 0) {
    throw new ShapeError(
      `${op}: 'w' shape ${fmtShape(w.shape)} needs [O, C/groups, kH, kW] with C=${c}, groups=${groups} ` +
        `(expected dim 1 = ${c / groups} and O divisible by ${groups})`,
    );
  }
  checkBias(bias, o, op);
  const padding = opts.padding ?? 0;
  let pads: Pads;
  if (padding === 'valid') pads = [0, 0, 0, 0];
  else if (padding === 'same') {
    const [t, b] = samePads(h, kh, strides[0], dilations[0]);
    const [l, r] = samePads(wd, kw, strides[1], dilations[1]);
    pads = [t, l, b, r];
  } else pads = explicitPads(padding, op);
  const effH = (kh - 1) * dilations[0] + 1;
  const effW = (kw - 1) * dilations[1] + 1;
  if (kh < 1 || kw < 1 || h + pads[0] + pads[2] < effH || wd + pads[1] + pads[3] < effW) {
    throw new ShapeError(
      `${op}: kernel ${kh}x${kw} (dilated ${effH}x${effW}) does not fit the padded input ` +
        `${h + pads[0] + pads[2]}x${wd + pads[1] + pads[3]} of 'x' ${fmtShape(x.shape)}`,
    );
  }
  return { strides, pads, dilations, groups };
}

/**
 * 2-D convolution (cross-correlation, like `torch.nn.functional.conv2d`) of NCHW input with OIHW weights.
 * Covers grouped, depthwise (`groups = C`), strided and dilated convolutions, and asymmetric padding.
 * `padding: 'same'` follows TensorFlow's "SAME" rule: the output is `ceil(in / stride)` and the total padding
 * `max((out − 1)·stride + (k − 1)·dilation + 1 − in, 0)` is split with the extra pixel at the bottom/right.
 * `x` float32 with float16/bfloat16 `w` (and bias) computes and returns float32.
 * @param x - input `[N, C, H, W]`
 * @param w - weights `[O, C/groups, kH, kW]`
 * @param bias - `[O]` (optional; pass null to skip it and give options)
 * @param opts - stride, padding, dilation, groups
 * @returns `[N, O, outH, outW]`
 * @throws {ShapeError} on wrong ranks, channel/group mismatch, a wrong bias shape or a kernel larger than the
 *   padded input
 * @throws {DTypeError} on non-float or unsupported mixed dtypes
 * @throws {InvalidArgumentError} on non-positive stride/dilation/groups or negative padding
 * @example
 * ```ts
 * conv2d(randn([1, 3, 32, 32]), randn([16, 3, 3, 3]), null, { stride: 2, padding: 'same' }).shape; // [1, 16, 16, 16]
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2DOptions = {}): Tensor {
  const b = bias ?? null;
  const attrs = conv2dAttrs(x, w, b, opts, 'conv2d');
  return runKernel(K.Conv2D, [x, w, b], { ...attrs })[0]!;
}

function applyActivation(y: Tensor, activation: Activation): Tensor {
  switch (activation) {
    case 'none':
      return y;
    case 'relu':
      return relu(y);
    case 'relu6':
      return relu6(y);
    case 'hardSwish':
      return hardSwish(y);
    case 'hardSigmoid':
      return hardSigmoid(y);
    case 'sigmoid':
      return sigmoid(y);
    case 'silu':
      return silu(y);
    case 'tanh':
      return tanh(y);
  }
}

const ACTIVATIONS: readonly Activation[] = [
  'none',
  'relu',
  'relu6',
  'hardSwish',
  'hardSigmoid',
  'sigmoid',
  'silu',
  'tanh',
];

/**
 * Convolution + bias + activation as one node ({@link conv2d} followed by the activation). Backends run it as a
 * single kernel with the bias and activation applied in the convolution's epilogue; with autograd it runs as
 * its parts.
 * @param x - input `[N, C, H, W]`
 * @param w - weights `[O, C/groups, kH, kW]`
 * @param bias - `[O]` (optional)
 * @param opts - {@link conv2d} options plus `activation`
 * @returns `activation(conv2d(x, w, bias))`
 * @throws {ShapeError} as {@link conv2d}
 * @throws {DTypeError} as {@link conv2d}
 * @throws {InvalidArgumentError} on an unknown activation, or as {@link conv2d}
 * @example
 * ```ts
 * fusedConv2d(randn([1, 3, 8, 8]), randn([4, 3, 3, 3]), zeros([4]), { padding: 1, activation: 'relu6' }).shape; // [1, 4, 8, 8]
 * ```
 */
export function fusedConv2d(
  x: Tensor,
  w: Tensor,
  bias?: Tensor | null,
  opts: FusedConv2DOptions = {},
): Tensor {
  const b = bias ?? null;
  const activation = opts.activation ?? 'none';
  if (!ACTIVATIONS.includes(activation)) {
    throw new InvalidArgumentError(
      `fusedConv2d: 'activation' must be one of ${ACTIVATIONS.join(', ')}, got ${String(activation)}`,
    );
  }
  const attrs: FusedConv2DAttrs = { ...conv2dAttrs(x, w, b, opts, 'fusedConv2d'), activation };
  return runComposite(K.FusedConv2D, [x, w, b], { ...attrs }, ([xi, wi, bi]) => {
    const { activation: _, ...convAttrs } = attrs;
    return [applyActivation(runKernel(K.Conv2D, [xi!, wi!, bi ?? null], convAttrs)[0]!, activation)];
  })[0]!;
}

/**
 * Transposed 2-D convolution (the gradient of {@link conv2d} w.r.t. its input), matching
 * `torch.nn.functional.conv_transpose2d`: output size `(in − 1)·stride − padBefore − padAfter +
 * dilation·(k − 1) + outputPadding + 1`.
 * @param x - input `[N, I, H, W]`
 * @param w - weights `[I, O/groups, kH, kW]`
 * @param bias - `[O]` (optional)
 * @param opts - stride, padding, outputPadding, dilation, groups
 * @returns `[N, O, outH, outW]`
 * @throws {ShapeError} on wrong ranks, channel/group mismatch, a wrong bias shape or an empty output
 * @throws {DTypeError} on non-float or unsupported mixed dtypes
 * @throws {InvalidArgumentError} on bad stride/dilation/groups/padding, or outputPadding ≥ max(stride, dilation)
 * @example
 * ```ts
 * convTranspose2d(randn([1, 8, 7, 7]), randn([8, 4, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }).shape; // [1, 4, 14, 14]
 * ```
 */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose2DOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  const b = bias ?? null;
  checkRanks(x, w, b, op);
  const groups = checkGroups(opts.groups, op);
  const strides = positivePair(opts.stride, 'stride', op);
  const dilations = positivePair(opts.dilation, 'dilation', op);
  const pads = explicitPads(opts.padding ?? 0, op);
  const outputPadding = pair(opts.outputPadding ?? 0, 'outputPadding', op);
  for (let i = 0; i < 2; i++) {
    const limit = Math.max(strides[i]!, dilations[i]!);
    if (outputPadding[i]! < 0 || outputPadding[i]! >= limit) {
      throw new InvalidArgumentError(
        `${op}: 'outputPadding' [${outputPadding.join(',')}] must be >= 0 and < max(stride, dilation) = ${limit}`,
      );
    }
  }
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [i, og, kh, kw] = w.shape as [number, number, number, number];
  if (c !== i || i % groups !== 0) {
    throw new ShapeError(
      `${op}: 'w' shape ${fmtShape(w.shape)} needs [I, O/groups, kH, kW] with I = channels of 'x' ` +
        `${fmtShape(x.shape)} = ${c}, divisible by groups=${groups}`,
    );
  }
  checkBias(b, og * groups, op);
  const outH = (h - 1) * strides[0] - pads[0] - pads[2] + dilations[0] * (kh - 1) + outputPadding[0] + 1;
  const outW = (wd - 1) * strides[1] - pads[1] - pads[3] + dilations[1] * (kw - 1) + outputPadding[1] + 1;
  if (outH < 1 || outW < 1 || h < 1 || wd < 1) {
    throw new ShapeError(
      `${op}: output size ${outH}x${outW} for 'x' ${fmtShape(x.shape)} and 'w' ${fmtShape(w.shape)} must be positive`,
    );
  }
  const attrs: ConvTranspose2DAttrs = { strides, pads, dilations, groups, outputPadding };
  return runKernel(K.ConvTranspose2D, [x, w, b], { ...attrs })[0]!;
}
