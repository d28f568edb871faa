import * as K from '../backend/kernel-names.js';
import { noGrad, runComposite, runKernel } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast, div, mul, sqrt, sub } from './elementwise.js';
import { reciprocal, square } from './elementwise-unary.js';
import { reshape } from './movement.js';
import { mean } from './reduce.js';
import { assertFloat, assertSameDType, assertTensor } from './util.js';

/** Options of {@link batchNorm} (PyTorch `F.batch_norm` semantics). */
export interface BatchNormOptions {
  /** Running mean `[C]`; required in eval mode, updated in place in training mode. */
  readonly runningMean?: Tensor | null;
  /** Running variance `[C]`; required in eval mode, updated in place (unbiased batch variance) in training mode. */
  readonly runningVar?: Tensor | null;
  /** Scale `[C]` (default 1). */
  readonly weight?: Tensor | null;
  /** Shift `[C]` (default 0). */
  readonly bias?: Tensor | null;
  /** Normalise with batch statistics and update the running ones (default false: use the running ones). */
  readonly training?: boolean;
  /** Running-statistics update factor: `running = (1 - momentum)·running + momentum·batch`; default 0.1. */
  readonly momentum?: number;
  /** Added to the variance; default 1e-5. */
  readonly eps?: number;
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Scale shaped like the normalised dims (default 1). */
  readonly weight?: Tensor | null;
  /** Shift shaped like the normalised dims (default 0). */
  readonly bias?: Tensor | null;
  /** Added to the variance; default 1e-5. */
  readonly eps?: number;
}

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Scale `[C]` (default 1). */
  readonly weight?: Tensor | null;
  /** Shift `[C]` (default 0). */
  readonly bias?: Tensor | null;
  /** Added to the variance; default 1e-5. */
  readonly eps?: number;
}

function checkParam(
  t: Tensor | null | undefined,
  x: Tensor,
  shape: readonly number[],
  arg: string,
  op: string,
) {
  if (t === null || t === undefined) return null;
  assertTensor(t, arg, op);
  assertSameDType(x, t, op, ['x', arg]);
  if (!shapesEqual(t.shape, shape)) {
    throw new ShapeError(`${op}: '${arg}' has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  }
  return t;
}

function checkEps(eps: number, op: string): number {
  if (!(eps >= 0)) throw new InvalidArgumentError(`${op}: 'eps' must be >= 0, got ${eps}`);
  return eps;
}

/** `(x - mu) / sqrt(var + eps) · gamma + beta`, the params already broadcastable to x. */
function affineNormalize(
  d: Tensor,
  v: Tensor,
  eps: number,
  gamma: Tensor | null,
  beta: Tensor | null,
): Tensor {
  return affine(div(d, sqrt(add(v, eps))), gamma, beta);
}

function affine(y: Tensor, gamma: Tensor | null, beta: Tensor | null): Tensor {
  if (gamma) y = mul(y, gamma);
  if (beta) y = add(y, beta);
  return y;
}

/** Mean and biased variance over `axes` (kept), plus the centred input. */
function moments(x: Tensor, axes: number[]): { mu: Tensor; d: Tensor; v: Tensor } {
  const mu = mean(x, { axes, keepDims: true });
  const d = sub(x, mu);
  return { mu, d, v: mean(mul(d, d), { axes, keepDims: true }) };
}

/**
 * Batch normalisation over the channel axis 1 of an `[N, C, ...]` tensor (PyTorch `F.batch_norm`).
 * In eval mode it normalises with the running statistics (the `BatchNorm` inference node, which backends may
 * fuse). In training mode it runs the `BatchNormTrain` kernel (batch mean and biased variance; its gradient
 * is the `BatchNormTrainGrad` kernel) and updates `runningMean`/`runningVar` in place with the unbiased batch
 * variance, exactly like torch.
 * @param x - input `[N, C, ...]` (float, rank ≥ 2)
 * @param opts - running statistics, affine params, mode, momentum, eps
 * @returns the normalised tensor, shaped like `x`
 * @throws {InvalidArgumentError} on rank < 2, missing running statistics in eval mode, or a single value
 *   per channel in training mode
 * @throws {ShapeError} when a parameter is not `[C]`
 * @throws {DTypeError} when dtypes differ or are not float
 * @example
 * ```ts
 * const y = batchNorm(x, { runningMean: zeros([8]), runningVar: ones([8]), weight: g, bias: b });
 * ```
 */
export function batchNorm(x: Tensor, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  assertTensor(x, 'x', op);
  assertFloat(x, 'x', op);
  if (x.rank < 2) throw new InvalidArgumentError(`${op}: 'x' must have rank >= 2, got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  const rm = checkParam(opts.runningMean, x, [c], 'runningMean', op);
  const rv = checkParam(opts.runningVar, x, [c], 'runningVar', op);
  const gamma = checkParam(opts.weight, x, [c], 'weight', op);
  const beta = checkParam(opts.bias, x, [c], 'bias', op);
  const eps = checkEps(opts.eps ?? 1e-5, op);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const bc = (t: Tensor | null) => (t ? reshape(t, bshape) : null);
  if (!opts.training) {
    if (!rm || !rv) {
      throw new InvalidArgumentError(
        `${op}: 'runningMean' and 'runningVar' are required when training is false`,
      );
    }
    return runComposite(K.BatchNorm, [x, rm, rv, gamma, beta], { epsilon: eps }, ([t, m, v, g, b]) => [
      affineNormalize(sub(t!, bc(m!)!), bc(v!)!, eps, bc(g!), bc(b!)),
    ])[0]!;
  }
  const momentum = opts.momentum ?? 0.1;
  const n = x.size / Math.max(c, 1);
  if (n <= 1) {
    throw new InvalidArgumentError(
      `${op}: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`,
    );
  }
  const [y, mu, invStd] = runKernel(K.BatchNormTrain, [x, gamma, beta], { epsilon: eps });
  noGrad(() => {
    if (rm) rm.assign_(cast(add(mul(rm, 1 - momentum), mul(mu!, momentum)), rm.dtype));
    if (rv) {
      // biased var = 1/invStd² - eps (in f32: a 16-bit invStd² can overflow), then Bessel's correction
      const v = sub(reciprocal(square(cast(invStd!, 'float32'))), eps);
      const unbiased = mul(v, n / (n - 1));
      rv.assign_(cast(add(mul(cast(rv, 'float32'), 1 - momentum), mul(unbiased, momentum)), rv.dtype));
    }
  });
  return y!;
}

/**
 * Layer normalisation over the trailing dims (PyTorch `F.layer_norm`): each row is centred and scaled by
 * its biased variance, then the optional affine params (shaped like the normalised dims) are applied.
 * @param x - input (float)
 * @param normalizedShape - the trailing dims to normalise over (a number means `[number]`, as in torch)
 * @param opts - weight, bias, eps
 * @returns the normalised tensor, shaped like `x`
 * @throws {ShapeError} when `normalizedShape` is not a suffix of `x.shape` or a param has the wrong shape
 * @throws {DTypeError} when dtypes differ or are not float
 * @example
 * ```ts
 * const y = layerNorm(randn([2, 5, 16]), [16], { weight: ones([16]), bias: zeros([16]) });
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  opts: LayerNormOptions = {},
): Tensor {
  const op = 'layerNorm';
  assertTensor(x, 'x', op);
  assertFloat(x, 'x', op);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || k > x.rank || !shapesEqual(x.shape.slice(x.rank - k), ns)) {
    throw new ShapeError(
      `${op}: 'normalizedShape' ${fmtShape(ns)} must be a non-empty suffix of x shape ${fmtShape(x.shape)}`,
    );
  }
  const gamma = checkParam(opts.weight, x, ns, 'weight', op);
  const beta = checkParam(opts.bias, x, ns, 'bias', op);
  const eps = checkEps(opts.eps ?? 1e-5, op);
  const axes = ns.map((_, i) => x.rank - k + i);
  return runComposite(K.LayerNorm, [x, gamma, beta], { epsilon: eps, normalizedDims: k }, ([t, g, b]) => {
    const { d, v } = moments(t!, axes);
    return [affineNormalize(d, v, eps, g!, b!)];
  })[0]!;
}

/**
 * Group normalisation (PyTorch `F.group_norm`): the channels of each sample are split into `numGroups`
 * groups, each normalised over its channels and spatial dims; optional per-channel affine params.
 * @param x - input `[N, C, ...]` (float, rank ≥ 2)
 * @param numGroups - number of groups (divides C)
 * @param opts - weight, bias, eps
 * @returns the normalised tensor, shaped like `x`
 * @throws {InvalidArgumentError} when `numGroups` does not divide C or x has rank < 2
 * @throws {ShapeError} when a parameter is not `[C]`
 * @example
 * ```ts
 * const y = groupNorm(randn([2, 8, 4, 4]), 4);
 * ```
 */
export function groupNorm(x: Tensor, numGroups: number, opts: GroupNormOptions = {}): Tensor {
  const op = 'groupNorm';
  assertTensor(x, 'x', op);
  assertFloat(x, 'x', op);
  if (x.rank < 2) throw new InvalidArgumentError(`${op}: 'x' must have rank >= 2, got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new InvalidArgumentError(`${op}: 'numGroups' ${numGroups} must be a positive divisor of C=${c}`);
  }
  const gamma = checkParam(opts.weight, x, [c], 'weight', op);
  const beta = checkParam(opts.bias, x, [c], 'bias', op);
  const eps = checkEps(opts.eps ?? 1e-5, op);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const attrs = { epsilon: eps, numGroups };
  const groupSize = (c / numGroups) * x.shape.slice(2).reduce((a, b) => a * b, 1);
  return runComposite(K.GroupNorm, [x, gamma, beta], attrs, ([t, g, b]) => {
    const { d, v } = moments(reshape(t!, [t!.shape[0]!, numGroups, groupSize]), [2]);
    const y = reshape(div(d, sqrt(add(v, eps))), t!.shape);
    return [affine(y, g ? reshape(g, bshape) : null, b ? reshape(b, bshape) : null)];
  })[0]!;
}
