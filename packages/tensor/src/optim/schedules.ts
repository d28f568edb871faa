import { InvalidArgumentError } from '../errors/index.js';

/**
 * A learning-rate schedule as a pure function: the learning rate at `step` (0 = before the first scheduler
 * step) for a group whose base learning rate is `baseLr` (for one-cycle: the group's peak `maxLr`).
 */
export type LrSchedule = (step: number, baseLr: number) => number;

/** Options of {@link stepLr}. */
export interface StepLROptions {
  /** Decay every `stepSize` steps. */
  readonly stepSize: number;
  /** Multiplicative decay (default 0.1). */
  readonly gamma?: number;
}

/** Options of {@link multiStepLr}. */
export interface MultiStepLROptions {
  /** Steps at which to decay (a repeated milestone decays once per repetition). */
  readonly milestones: readonly number[];
  /** Multiplicative decay (default 0.1). */
  readonly gamma?: number;
}

/** Options of {@link cosineAnnealingLr}. */
export interface CosineAnnealingLROptions {
  /** Half period in steps: the learning rate reaches `etaMin` at `tMax`, then rises again. */
  readonly tMax: number;
  /** Minimum learning rate (default 0). */
  readonly etaMin?: number;
}

/** Options of {@link linearWarmup}. */
export interface LinearWarmupOptions {
  /** Number of warm-up steps (the wrapped schedule starts at step `warmupSteps`). */
  readonly warmupSteps: number;
  /** Factor of the base learning rate at step 0 (default 1/3, like torch.optim.lr_scheduler.LinearLR). */
  readonly startFactor?: number;
}

/** Options of {@link oneCycleLr}. */
export interface OneCycleLROptions {
  /** Total number of steps in the cycle (or give `epochs` and `stepsPerEpoch`). */
  readonly totalSteps?: number;
  /** Epochs (with `stepsPerEpoch`) when `totalSteps` is omitted. */
  readonly epochs?: number;
  /** Steps per epoch (with `epochs`). */
  readonly stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the learning rate (default 0.3). */
  readonly pctStart?: number;
  /** Annealing shape (default 'cos'). */
  readonly anneal?: 'cos' | 'linear';
  /** initial lr = maxLr / divFactor (default 25). */
  readonly divFactor?: number;
  /** min lr = initial lr / finalDivFactor (default 1e4). */
  readonly finalDivFactor?: number;
  /** Use torch's three-phase variant (default false). */
  readonly threePhase?: boolean;
}

function checkInt(v: unknown, name: string, op: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError(`${op}: '${name}' must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

function checkStep(step: number, op: string): void {
  if (!Number.isInteger(step) || step < 0) {
    throw new InvalidArgumentError(`${op}: step must be an integer >= 0, got ${step}`);
  }
}

/**
 * Step decay (`torch.optim.lr_scheduler.StepLR`): `baseLr · gamma^⌊step / stepSize⌋`.
 * @param opts - stepSize and gamma
 * @returns the schedule
 * @throws {InvalidArgumentError} for a stepSize that is not a positive integer
 * @example
 * ```ts
 * stepLr({ stepSize: 30, gamma: 0.1 })(65, 0.1); // 0.001
 * ```
 */
export function stepLr(opts: StepLROptions): LrSchedule {
  const stepSize = checkInt(opts.stepSize, 'stepSize', 'stepLr', 1);
  const gamma = opts.gamma ?? 0.1;
  return (step, baseLr) => {
    checkStep(step, 'stepLr');
    return baseLr * gamma ** Math.floor(step / stepSize);
  };
}

/**
 * Decay at milestones (`torch.optim.lr_scheduler.MultiStepLR`): `baseLr · gamma^(number of milestones ≤ step)`.
 * @param opts - milestones and gamma
 * @returns the schedule
 * @throws {InvalidArgumentError} for a milestone that is not a non-negative integer
 * @example
 * ```ts
 * multiStepLr({ milestones: [30, 80] })(50, 0.1); // 0.01
 * ```
 */
export function multiStepLr(opts: MultiStepLROptions): LrSchedule {
  const ms = [...opts.milestones]
    .map((m) => checkInt(m, 'milestones', 'multiStepLr', 0))
    .sort((a, b) => a - b);
  const gamma = opts.gamma ?? 0.1;
  return (step, baseLr) => {
    checkStep(step, 'multiStepLr');
    return baseLr * gamma ** ms.filter((m) => m <= step).length;
  };
}

/**
 * Cosine annealing (`torch.optim.lr_scheduler.CosineAnnealingLR`, closed form):
 * `etaMin + (baseLr − etaMin)(1 + cos(π·step/tMax))/2`.
 * @param opts - tMax and etaMin
 * @returns the schedule
 * @throws {InvalidArgumentError} for a tMax that is not a positive integer
 * @example
 * ```ts
 * cosineAnnealingLr({ tMax: 100 })(50, 0.1); // 0.05
 * ```
 */
export function cosineAnnealingLr(opts: CosineAnnealingLROptions): LrSchedule {
  const tMax = checkInt(opts.tMax, 'tMax', 'cosineAnnealingLr', 1);
  const etaMin = opts.etaMin ?? 0;
  return (step, baseLr) => {
    checkStep(step, 'cosineAnnealingLr');
    return etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * step) / tMax))) / 2;
  };
}

/**
 * Linear warm-up followed by another schedule: `baseLr·(s + (1 − s)·step/warmupSteps)` for
 * `step < warmupSteps`, then `after(step − warmupSteps, baseLr)`. Equals torch's
 * `SequentialLR([LinearLR(start_factor=s, total_iters=w), after], milestones=[w])`.
 * @param opts - warmupSteps and startFactor
 * @param after - the schedule after warm-up (default: constant `baseLr`)
 * @returns the schedule
 * @throws {InvalidArgumentError} for a negative warmupSteps or a startFactor outside (0, 1]
 * @example
 * ```ts
 * const s = linearWarmup({ warmupSteps: 5, startFactor: 0.1 }, cosineAnnealingLr({ tMax: 95 }));
 * s(0, 0.1); // 0.01
 * ```
 */
export function linearWarmup(opts: LinearWarmupOptions, after: LrSchedule = (_, lr) => lr): LrSchedule {
  const w = checkInt(opts.warmupSteps, 'warmupSteps', 'linearWarmup', 0);
  const s = opts.startFactor ?? 1 / 3;
  if (!(s > 0 && s <= 1)) {
    throw new InvalidArgumentError(`linearWarmup: 'startFactor' must be in (0, 1], got ${s}`);
  }
  return (step, baseLr) => {
    checkStep(step, 'linearWarmup');
    return step < w ? baseLr * (s + ((1 - s) * step) / w) : after(step - w, baseLr);
  };
}

interface Phase {
  end: number;
  lr: [number, number];
  mom: [number, number];
}

/**
 * The resolved phases of a one-cycle schedule.
 * @internal
 */
export function oneCyclePhases(opts: OneCycleLROptions): { total: number; phases: Phase[] } {
  let total: number;
  if (opts.totalSteps !== undefined) total = checkInt(opts.totalSteps, 'totalSteps', 'oneCycleLr', 1);
  else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
    total =
      checkInt(opts.epochs, 'epochs', 'oneCycleLr', 1) *
      checkInt(opts.stepsPerEpoch, 'stepsPerEpoch', 'oneCycleLr', 1);
  } else throw new InvalidArgumentError("oneCycleLr: give 'totalSteps' or both 'epochs' and 'stepsPerEpoch'");
  const pct = opts.pctStart ?? 0.3;
  if (!(pct >= 0 && pct <= 1))
    throw new InvalidArgumentError(`oneCycleLr: 'pctStart' must be in [0, 1], got ${pct}`);
  // Indices into [initial, max, min] (lr) and [max, base] (momentum), as torch's phase table.
  const up = pct * total - 1;
  const phases: Phase[] = opts.threePhase
    ? [
        { end: up, lr: [0, 1], mom: [0, 1] },
        { end: 2 * pct * total - 2, lr: [1, 0], mom: [1, 0] },
        { end: total - 1, lr: [0, 2], mom: [0, 0] },
      ]
    : [
        { end: up, lr: [0, 1], mom: [0, 1] },
        { end: total - 1, lr: [1, 2], mom: [1, 0] },
      ];
  return { total, phases };
}

/**
 * The one-cycle phase and progress at `step` (torch's OneCycleLR.get_lr loop).
 * @internal
 */
export function oneCyclePosition(phases: readonly Phase[], step: number): { phase: Phase; pct: number } {
  let start = 0;
  for (let i = 0; i < phases.length; i++) {
    const ph = phases[i]!;
    if (step <= ph.end || i === phases.length - 1)
      return { phase: ph, pct: (step - start) / (ph.end - start) };
    start = ph.end;
  }
  throw new InvalidArgumentError('oneCycleLr: no phases');
}

/**
 * The one-cycle annealing function.
 * @internal
 */
export function oneCycleAnneal(kind: 'cos' | 'linear', start: number, end: number, pct: number): number {
  if (kind === 'linear') return (end - start) * pct + start;
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/**
 * One-cycle policy (`torch.optim.lr_scheduler.OneCycleLR`, cos annealing by default): rises from
 * `maxLr/divFactor` to `maxLr` over the first `pctStart` of the cycle, then anneals to
 * `maxLr/(divFactor·finalDivFactor)`. The schedule's `baseLr` argument is the group's `maxLr`.
 * @param opts - cycle length, pctStart, anneal, divFactor, finalDivFactor, threePhase
 * @returns the schedule (throws past `totalSteps`, like torch)
 * @throws {InvalidArgumentError} for a missing cycle length or an out-of-range option
 * @example
 * ```ts
 * oneCycleLr({ totalSteps: 100 })(29, 0.1); // 0.1 (the peak)
 * ```
 */
export function oneCycleLr(opts: OneCycleLROptions): LrSchedule {
  const { total, phases } = oneCyclePhases(opts);
  const div = opts.divFactor ?? 25;
  const finalDiv = opts.finalDivFactor ?? 1e4;
  const anneal = opts.anneal ?? 'cos';
  if (anneal !== 'cos' && anneal !== 'linear') {
    throw new InvalidArgumentError(`oneCycleLr: 'anneal' must be 'cos' or 'linear', got ${String(anneal)}`);
  }
  return (step, maxLr) => {
    checkStep(step, 'oneCycleLr');
    if (step > total) {
      throw new InvalidArgumentError(`oneCycleLr: tried to step ${step + 1} times; totalSteps is ${total}`);
    }
    const initial = maxLr / div;
    const lrs = [initial, maxLr, initial / finalDiv];
    const { phase, pct } = oneCyclePosition(phases, step);
    return oneCycleAnneal(anneal, lrs[phase.lr[0]]!, lrs[phase.lr[1]]!, pct);
  };
}
