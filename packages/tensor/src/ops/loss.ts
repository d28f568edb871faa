// Ops of the 'loss' family (see docs/guides/adding-an-op.md). Losses are compositions of ops, so autograd flows
// through them on every backend; box-regression losses live in loss-box.ts.
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import {
  abs,
  add,
  cast,
  clip,
  div,
  equal,
  exp,
  less,
  log,
  mul,
  neg,
  notEqual,
  sub,
  where,
} from './elementwise.js';
import { reshape, squeeze, unsqueeze } from './movement.js';
import { gather, takeAlongAxis } from './movement-gather.js';
import { logSoftmax, mean, sum } from './reduce.js';
import { assertFloat, assertTensor } from './util.js';

export * from './loss-box.js';

/** How a loss reduces its per-element values: PyTorch's `reduction`. */
export type LossReduction = 'mean' | 'sum' | 'none';

/**
 * Checks a reduction name.
 * @internal
 */
export function checkReduction(reduction: unknown, op: string, extra: readonly string[] = []): void {
  const ok = ['mean', 'sum', 'none', ...extra];
  if (!ok.includes(reduction as string)) {
    throw new InvalidArgumentError(
      `${op}: 'reduction' must be ${ok.map((r) => `'${r}'`).join(', ')}, got ${String(reduction)}`,
    );
  }
}

/**
 * Applies a reduction to per-element losses.
 * @internal
 */
export function reduceLoss(loss: Tensor, reduction: LossReduction, op: string): Tensor {
  checkReduction(reduction, op);
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? sum(loss) : mean(loss);
}

function sameShape(a: Tensor, b: Tensor, op: string, names: [string, string]): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new ShapeError(
      `${op}: '${names[1]}' shape ${fmtShape(b.shape)} must equal '${names[0]}' shape ${fmtShape(a.shape)}`,
    );
  }
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`${op}: '${names[1]}' is ${b.dtype} but '${names[0]}' is ${a.dtype}`);
  }
}

function checkPair(x: Tensor, t: Tensor, op: string): void {
  assertTensor(x, 'input', op);
  assertTensor(t, 'target', op);
  assertFloat(x, 'input', op);
  sameShape(x, t, op, ['input', 'target']);
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-class rescaling weights, shape `[C]` (float, the logits' dtype). */
  readonly weight?: Tensor;
  /** Class-index target value that contributes neither loss nor weight (default -100). */
  readonly ignoreIndex?: number;
  /** Mixes the target with the uniform distribution: `(1 − ε)·target + ε/C` (default 0). */
  readonly labelSmoothing?: number;
  /** Default 'mean' (weighted mean over non-ignored targets for class indices). */
  readonly reduction?: LossReduction;
}

/**
 * Cross-entropy between logits and a target (`torch.nn.functional.cross_entropy`): the class dim is 1
 * (`[N, C]`, `[N, C, d1, …]` for segmentation) or 0 for an unbatched `[C]`. The target is either int32 class
 * indices of the logits' shape without the class dim, or float probabilities of the logits' shape.
 * With class indices, 'mean' divides by the summed weights of non-ignored targets; with probabilities it
 * divides by the number of samples (`N·d1·…`). Label smoothing follows torch's formula for both.
 * @param logits - unnormalised scores, float
 * @param target - int32 class indices or float probabilities
 * @param opts - weight, ignoreIndex, labelSmoothing, reduction
 * @returns the loss: a scalar, or per-sample values of the target's (index) shape for 'none'
 * @throws {ShapeError} when the target or weight shape does not fit the logits
 * @throws {DTypeError} for non-float logits or a target/weight of the wrong dtype
 * @throws {InvalidArgumentError} for a labelSmoothing outside [0, 1] or an unknown reduction; an index out of
 *   range is reported by the gather kernel
 * @example
 * ```ts
 * const loss = crossEntropy(logits, tensor([2, 0, 1], [3], 'int32'), { labelSmoothing: 0.1 });
 * loss.backward();
 * ```
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  assertTensor(logits, 'logits', op);
  assertTensor(target, 'target', op);
  assertFloat(logits, 'logits', op);
  if (logits.rank === 0) throw new ShapeError(`${op}: 'logits' must have rank >= 1, got shape []`);
  const { weight, ignoreIndex = -100, labelSmoothing: ls = 0, reduction = 'mean' } = opts;
  if (!(ls >= 0 && ls <= 1)) {
    throw new InvalidArgumentError(`${op}: 'labelSmoothing' must be in [0, 1], got ${ls}`);
  }
  checkReduction(reduction, op);
  const cd = logits.rank === 1 ? 0 : 1;
  const C = logits.shape[cd]!;
  let wb: Tensor | undefined;
  if (weight !== undefined) {
    assertTensor(weight, 'weight', op);
    if (weight.rank !== 1 || weight.shape[0] !== C) {
      throw new ShapeError(
        `${op}: 'weight' shape ${fmtShape(weight.shape)} must be [${C}] (the class count)`,
      );
    }
    if (weight.dtype !== logits.dtype) {
      throw new DTypeError(`${op}: 'weight' is ${weight.dtype} but 'logits' is ${logits.dtype}`);
    }
    wb = reshape(
      weight,
      logits.shape.map((d, i) => (i === cd ? d : 1)),
    );
  }
  const logp = logSoftmax(logits, cd);
  if (target.dtype !== 'int32') {
    if (target.dtype !== logits.dtype) {
      throw new DTypeError(
        `${op}: 'target' must be int32 class indices or ${logits.dtype} probabilities, got ${target.dtype}`,
      );
    }
    sameShape(logits, target, op, ['logits', 'target']);
    const t = ls > 0 ? add(mul(target, 1 - ls), ls / C) : target;
    let prod = mul(logp, t);
    if (wb) prod = mul(prod, wb);
    if (reduction === 'none') return neg(sum(prod, { axes: cd }));
    const total = neg(sum(prod));
    return reduction === 'sum' ? total : div(total, logits.size / Math.max(C, 1));
  }
  const want = logits.shape.filter((_, i) => i !== cd);
  if (!shapesEqual(target.shape, want)) {
    throw new ShapeError(
      `${op}: class-index 'target' shape ${fmtShape(target.shape)} must be ${fmtShape(want)} for logits ${fmtShape(logits.shape)}`,
    );
  }
  const valid = notEqual(target, ignoreIndex);
  const safe = where(valid, target, 0);
  const picked = squeeze(takeAlongAxis(logp, unsqueeze(safe, cd), cd), cd);
  // Per-sample weights (0 where ignored): the 'mean' denominator.
  const w = weight
    ? where(valid, reshape(gather(weight, reshape(safe, [-1]), 0), safe.shape), 0)
    : cast(valid, logits.dtype);
  const nll = where(valid, neg(weight ? mul(picked, w) : picked), 0);
  const reduce = (v: Tensor) =>
    reduction === 'none' ? v : reduction === 'sum' ? sum(v) : div(sum(v), sum(w));
  if (ls === 0) return reduce(nll);
  const smooth = where(valid, neg(sum(wb ? mul(logp, wb) : logp, { axes: cd })), 0);
  return add(mul(reduce(nll), 1 - ls), mul(reduce(smooth), ls / C));
}

/** Options of {@link bceWithLogits}. */
export interface BceWithLogitsOptions {
  /** Weight of positive examples, broadcast against the logits (usually `[C]` for the last dim). */
  readonly posWeight?: Tensor;
  /** Per-element rescaling weight, broadcast against the logits. */
  readonly weight?: Tensor;
  /** Default 'mean'. */
  readonly reduction?: LossReduction;
}

/**
 * Binary cross-entropy on logits (`torch.nn.functional.binary_cross_entropy_with_logits`), in torch's stable
 * form: with `m = max(−x, 0)`, `ℓ = (1 − t)·x + lw·(log(e^−m + e^(−x−m)) + m)`, `lw = 1 + (posWeight − 1)·t`.
 * @param logits - float scores
 * @param target - probabilities in [0, 1], same shape and dtype
 * @param opts - posWeight, weight, reduction
 * @returns the loss (scalar, or the logits' shape for 'none')
 * @throws {ShapeError} when the target shape differs or a weight does not broadcast
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @throws {InvalidArgumentError} for an unknown reduction
 * @example
 * ```ts
 * bceWithLogits(tensor([0.3, -1.2]), tensor([1, 0])).item();
 * ```
 */
export function bceWithLogits(logits: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor {
  const op = 'bceWithLogits';
  checkPair(logits, target, op);
  const { posWeight, weight, reduction = 'mean' } = opts;
  checkReduction(reduction, op);
  const m = clip(neg(logits), { min: 0 });
  const lse = log(add(exp(neg(m)), exp(sub(neg(logits), m))));
  const lin = mul(sub(1, target), logits);
  let loss: Tensor;
  if (posWeight) {
    assertTensor(posWeight, 'posWeight', op);
    const lw = add(mul(sub(posWeight, 1), target), 1);
    loss = add(lin, mul(lw, add(lse, m)));
  } else loss = add(add(lin, m), lse);
  if (weight) loss = mul(loss, assertTensor(weight, 'weight', op));
  if (!shapesEqual(loss.shape, logits.shape)) {
    throw new ShapeError(
      `${op}: 'posWeight'/'weight' broadcast the loss to ${fmtShape(loss.shape)}, expected ${fmtShape(logits.shape)}`,
    );
  }
  return reduceLoss(loss, reduction, op);
}

/** Options of element-wise regression losses. */
export interface RegressionLossOptions {
  /** Default 'mean'. */
  readonly reduction?: LossReduction;
}

/**
 * Mean squared error `(input − target)²` (`torch.nn.functional.mse_loss`). Shapes must match (torch's
 * broadcasting here is almost always a bug, so it is an error).
 * @param input - predictions
 * @param target - same shape and dtype
 * @param opts - reduction
 * @returns the loss
 * @throws {ShapeError} when shapes differ
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @example
 * ```ts
 * mse(tensor([1, 2]), tensor([1, 4])).item(); // 2
 * ```
 */
export function mse(input: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  checkPair(input, target, 'mse');
  const d = sub(input, target);
  return reduceLoss(mul(d, d), opts.reduction ?? 'mean', 'mse');
}

/**
 * Mean absolute error `|input − target|` (`torch.nn.functional.l1_loss`).
 * @param input - predictions
 * @param target - same shape and dtype
 * @param opts - reduction
 * @returns the loss
 * @throws {ShapeError} when shapes differ
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @example
 * ```ts
 * l1(tensor([1, 2]), tensor([1, 4])).item(); // 1
 * ```
 */
export function l1(input: Tensor, target: Tensor, opts: RegressionLossOptions = {}): Tensor {
  checkPair(input, target, 'l1');
  return reduceLoss(abs(sub(input, target)), opts.reduction ?? 'mean', 'l1');
}

/** Options of {@link smoothL1}. */
export interface SmoothL1Options extends RegressionLossOptions {
  /** Threshold between the quadratic and linear parts (default 1; 0 gives L1). */
  readonly beta?: number;
}

/**
 * Smooth L1 (`torch.nn.functional.smooth_l1_loss`): with `z = |input − target|`,
 * `z < beta ? 0.5·z²/beta : z − 0.5·beta`.
 * @param input - predictions
 * @param target - same shape and dtype
 * @param opts - beta and reduction
 * @returns the loss
 * @throws {ShapeError} when shapes differ
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @throws {InvalidArgumentError} for a negative beta
 * @example
 * ```ts
 * smoothL1(tensor([0, 0]), tensor([0.5, 3])).item(); // (0.125 + 2.5) / 2
 * ```
 */
export function smoothL1(input: Tensor, target: Tensor, opts: SmoothL1Options = {}): Tensor {
  const op = 'smoothL1';
  checkPair(input, target, op);
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new InvalidArgumentError(`${op}: 'beta' must be >= 0, got ${beta}`);
  const d = sub(input, target);
  const z = abs(d);
  const loss = beta === 0 ? z : where(less(z, beta), div(mul(mul(d, 0.5), d), beta), sub(z, 0.5 * beta));
  return reduceLoss(loss, opts.reduction ?? 'mean', op);
}

/** Options of {@link klDiv}. */
export interface KlDivOptions {
  /** 'batchmean' (sum / batch size) is the true KL divergence; torch's default 'mean' averages elements. */
  readonly reduction?: LossReduction | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  readonly logTarget?: boolean;
}

/**
 * Kullback–Leibler divergence (`torch.nn.functional.kl_div`) of log-probabilities `input` from `target`:
 * `target·(log target − input)` (0 where target is 0), or `e^target·(target − input)` with `logTarget`.
 * Use `reduction: 'batchmean'` for knowledge distillation.
 * @param input - log-probabilities of the student
 * @param target - probabilities (or log-probabilities with `logTarget`) of the teacher, same shape
 * @param opts - reduction (default 'mean') and logTarget
 * @returns the loss
 * @throws {ShapeError} when shapes differ
 * @throws {DTypeError} for non-float or mismatched dtypes
 * @throws {InvalidArgumentError} for an unknown reduction
 * @example
 * ```ts
 * const kd = klDiv(logSoftmax(student), softmax(teacher), { reduction: 'batchmean' });
 * ```
 */
export function klDiv(input: Tensor, target: Tensor, opts: KlDivOptions = {}): Tensor {
  const op = 'klDiv';
  checkPair(input, target, op);
  const reduction = opts.reduction ?? 'mean';
  checkReduction(reduction, op, ['batchmean']);
  let loss: Tensor;
  if (opts.logTarget) loss = mul(exp(target), sub(target, input));
  else {
    // xlogy(t, t) − t·input, with log taken of 1 where t is 0 so that neither value nor gradient is NaN.
    const safe = where(equal(target, 0), 1, target);
    loss = sub(mul(target, log(safe)), mul(target, input));
  }
  if (reduction === 'batchmean') {
    const s = sum(loss);
    return input.rank === 0 ? s : div(s, input.shape[0]!);
  }
  return reduceLoss(loss, reduction, op);
}
