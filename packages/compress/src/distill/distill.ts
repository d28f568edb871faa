import { Conv2d, Module } from '@tinyvision/models';
import {
  crossEntropy,
  InvalidArgumentError,
  klDiv,
  logSoftmax,
  mse,
  type Rng,
  ShapeError,
  softmax,
  type Tensor,
} from '@tinyvision/tensor';

/** Options of {@link distillationLoss}. */
export interface DistillationLossOptions {
  /** Softmax temperature `T` (default 4). */
  readonly temperature?: number;
  /** Weight of the soft-target term; the hard-label cross-entropy gets `1 − alpha` (default 0.9). */
  readonly alpha?: number;
}

/**
 * Soft-target knowledge distillation (Hinton et al. 2015):
 * `T² · KL(softmax(t/T) ‖ softmax(s/T))` averaged over the batch (`kl_div(..., reduction='batchmean')`).
 * The teacher logits are treated as constants (detach them or compute them under `noGrad`).
 * @param student - student logits `[N, C]`
 * @param teacher - teacher logits `[N, C]`
 * @param temperature - `T` (default 4)
 * @returns the scalar loss
 * @throws {ShapeError} when the shapes differ
 * @throws {InvalidArgumentError} when `T` is not positive
 * @example
 * ```ts
 * const loss = softTargetLoss(student.call(x), noGrad(() => teacher.call(x)), 4);
 * ```
 */
export function softTargetLoss(student: Tensor, teacher: Tensor, temperature = 4): Tensor {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError(`softTargetLoss: 'temperature' must be positive, got ${temperature}`);
  }
  if (student.shape.join() !== teacher.shape.join()) {
    throw new ShapeError(
      `softTargetLoss: student [${student.shape}] and teacher [${teacher.shape}] logits differ`,
    );
  }
  const t = temperature;
  const kd = klDiv(logSoftmax(student.div(t), -1), softmax(teacher.div(t), -1), { reduction: 'batchmean' });
  return kd.mul(t * t);
}

/**
 * The usual distillation objective: `alpha · softTargetLoss(s, t, T) + (1 − alpha) · crossEntropy(s, labels)`.
 * @param student - student logits `[N, C]`
 * @param teacher - teacher logits `[N, C]` (constants)
 * @param labels - int32 class indices `[N]`
 * @param opts - temperature and alpha
 * @returns the scalar loss
 * @throws {InvalidArgumentError} when `alpha` is outside [0, 1] or `T` is not positive
 * @throws {ShapeError} when the logits' shapes differ
 * @example
 * ```ts
 * const loss = distillationLoss(s, t, y, { temperature: 4, alpha: 0.9 });
 * ```
 */
export function distillationLoss(
  student: Tensor,
  teacher: Tensor,
  labels: Tensor,
  opts: DistillationLossOptions = {},
): Tensor {
  const alpha = opts.alpha ?? 0.9;
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new InvalidArgumentError(`distillationLoss: 'alpha' must be in [0, 1], got ${alpha}`);
  }
  const soft = softTargetLoss(student, teacher, opts.temperature ?? 4);
  if (alpha === 1) return soft;
  return soft.mul(alpha).add(crossEntropy(student, labels).mul(1 - alpha));
}

/**
 * A FitNets hint adapter: a 1×1 convolution mapping student features `[N, Cs, H, W]` to the teacher's
 * channel count `Ct`, trained jointly with the student and dropped afterwards.
 * @example
 * ```ts
 * const adapter = new HintAdapter(16, 64);
 * const loss = hintLoss(adapter.call(studentFeat), teacherFeat);
 * ```
 */
export class HintAdapter extends Module {
  /** The 1×1 projection. */
  readonly proj: Conv2d;
  /**
   * @param studentChannels - `Cs`
   * @param teacherChannels - `Ct`
   * @param rng - initialisation randomness
   * @throws {InvalidArgumentError} on non-positive channel counts
   */
  constructor(studentChannels: number, teacherChannels: number, rng?: Rng) {
    super();
    this.proj = this.registerModule('proj', new Conv2d(studentChannels, teacherChannels, 1, { rng }));
  }

  /**
   * @param x - student features `[N, Cs, H, W]`
   * @returns `[N, Ct, H, W]`
   */
  forward(x: Tensor): Tensor {
    return this.proj.call(x);
  }
}

/**
 * Feature (hint) distillation loss: mean squared error between adapted student features and teacher
 * features (`F.mse_loss(adapter(s), t)`, mean over all elements).
 * @param adapted - student features after the {@link HintAdapter}
 * @param teacher - teacher features, same shape (constants)
 * @returns the scalar loss
 * @throws {ShapeError} when the shapes differ (resize or pool the features first)
 * @example
 * ```ts
 * const loss = hintLoss(adapter.call(sFeat), tFeat);
 * ```
 */
export function hintLoss(adapted: Tensor, teacher: Tensor): Tensor {
  if (adapted.shape.join() !== teacher.shape.join()) {
    throw new ShapeError(
      `hintLoss: adapted student [${adapted.shape}] and teacher [${teacher.shape}] features differ`,
    );
  }
  return mse(adapted, teacher);
}
