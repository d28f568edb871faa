import { InvalidArgumentError } from '../errors/index.js';
import type { BaseHyperparams, Optimizer } from './optimizer.js';
import {
  type CosineAnnealingLROptions,
  cosineAnnealingLr,
  type LinearWarmupOptions,
  type LrSchedule,
  linearWarmup,
  type MultiStepLROptions,
  multiStepLr,
  type OneCycleLROptions,
  oneCycleAnneal,
  oneCycleLr,
  oneCyclePhases,
  oneCyclePosition,
  type StepLROptions,
  stepLr,
} from './schedules.js';

/** Serialisable state of an {@link LRScheduler}. */
export interface LRSchedulerState {
  /** Index of the last applied step (0 after construction). */
  lastEpoch: number;
  /** Base learning rate of each group. */
  baseLrs: number[];
}

/**
 * Sets each parameter group's `lr` from a pure {@link LrSchedule}, like torch's schedulers: construction
 * applies step 0, each {@link LRScheduler.step} (call it after `optimizer.step()`) advances by one. Base
 * learning rates are the groups' `initialLr` (set from `lr` by the first scheduler attached to the optimizer).
 *
 * @example
 * ```ts
 * const sched = new LRScheduler(opt, (step, lr) => lr * 0.95 ** step);
 * for (const batch of data) { train(batch); opt.step(); sched.step(); }
 * ```
 */
export class LRScheduler {
  /** Index of the last applied step. */
  lastEpoch = -1;
  /** Base learning rate of each group. */
  baseLrs: number[];
  private lastLr: number[] = [];

  /**
   * @param optimizer - the optimizer whose groups to drive
   * @param schedule - learning rate as a function of (step, base lr)
   * @param baseLrs - per-group base values (default: each group's `initialLr`)
   * @throws {InvalidArgumentError} when `baseLrs` has the wrong length
   */
  constructor(
    readonly optimizer: Optimizer<BaseHyperparams>,
    readonly schedule: LrSchedule,
    baseLrs?: readonly number[],
  ) {
    const groups = optimizer.paramGroups;
    for (const g of groups) g.initialLr ??= g.lr;
    if (baseLrs && baseLrs.length !== groups.length) {
      throw new InvalidArgumentError(
        `LRScheduler: ${baseLrs.length} base learning rates for ${groups.length} param groups`,
      );
    }
    this.baseLrs = baseLrs ? [...baseLrs] : groups.map((g) => g.initialLr!);
    this.step();
  }

  /**
   * Advances one step and sets every group's learning rate.
   * @throws {InvalidArgumentError} when the schedule ends (one-cycle past its total steps)
   * @example
   * ```ts
   * opt.step();
   * sched.step();
   * ```
   */
  step(): void {
    this.apply(this.lastEpoch + 1);
  }

  /**
   * Sets the groups' hyperparameters for `step` and records it as the last step.
   * @param step - the step to apply
   */
  protected apply(step: number): void {
    const lrs = this.optimizer.paramGroups.map((_, i) => this.schedule(step, this.baseLrs[i]!));
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastEpoch = step;
    this.lastLr = lrs;
  }

  /**
   * The learning rates set by the last step.
   * @returns one per group
   * @example
   * ```ts
   * sched.getLastLr(); // [0.1]
   * ```
   */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * The scheduler's position as plain JSON.
   * @returns lastEpoch and baseLrs
   * @example
   * ```ts
   * const saved = sched.stateDict();
   * ```
   */
  stateDict(): LRSchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /**
   * Restores a position saved by {@link LRScheduler.stateDict} and re-applies that step's learning rates.
   * @param s - the saved state
   * @throws {InvalidArgumentError} when the number of groups differs
   * @example
   * ```ts
   * sched.loadStateDict(saved);
   * ```
   */
  loadStateDict(s: LRSchedulerState): void {
    if (!s || s.baseLrs?.length !== this.optimizer.paramGroups.length || !Number.isInteger(s.lastEpoch)) {
      throw new InvalidArgumentError(
        `LRScheduler.loadStateDict: expected ${this.optimizer.paramGroups.length} base lrs and an integer lastEpoch`,
      );
    }
    this.baseLrs = [...s.baseLrs];
    this.apply(s.lastEpoch);
  }
}

/**
 * `torch.optim.lr_scheduler.StepLR`: multiplies the learning rate by `gamma` every `stepSize` steps.
 * @example
 * ```ts
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * ```
 */
export class StepLR extends LRScheduler {
  /**
   * @param optimizer - the optimizer
   * @param opts - stepSize and gamma (default 0.1)
   * @throws {InvalidArgumentError} for an invalid stepSize
   */
  constructor(optimizer: Optimizer<BaseHyperparams>, opts: StepLROptions) {
    super(optimizer, stepLr(opts));
  }
}

/**
 * `torch.optim.lr_scheduler.MultiStepLR`: multiplies the learning rate by `gamma` at each milestone.
 * @example
 * ```ts
 * const sched = new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /**
   * @param optimizer - the optimizer
   * @param opts - milestones and gamma (default 0.1)
   * @throws {InvalidArgumentError} for an invalid milestone
   */
  constructor(optimizer: Optimizer<BaseHyperparams>, opts: MultiStepLROptions) {
    super(optimizer, multiStepLr(opts));
  }
}

/**
 * `torch.optim.lr_scheduler.CosineAnnealingLR` (closed form): cosine from the base learning rate down to
 * `etaMin` over `tMax` steps.
 * @example
 * ```ts
 * const sched = new CosineAnnealingLR(opt, { tMax: 100, etaMin: 1e-5 });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /**
   * @param optimizer - the optimizer
   * @param opts - tMax and etaMin (default 0)
   * @throws {InvalidArgumentError} for an invalid tMax
   */
  constructor(optimizer: Optimizer<BaseHyperparams>, opts: CosineAnnealingLROptions) {
    super(optimizer, cosineAnnealingLr(opts));
  }
}

/** Options of {@link LinearWarmup}. */
export interface LinearWarmupSchedulerOptions extends LinearWarmupOptions {
  /** What follows the warm-up: a schedule function or a scheduler built on the same optimizer (default: constant). */
  readonly after?: LrSchedule | LRScheduler;
}

/**
 * Linear warm-up wrapping another schedule (see {@link linearWarmup}); the same learning rates as torch's
 * `SequentialLR([LinearLR(start_factor, total_iters=warmupSteps), after], milestones=[warmupSteps])`.
 * When `after` is a scheduler object, only its schedule is used: step the `LinearWarmup`, not the wrapped one.
 * @example
 * ```ts
 * const sched = new LinearWarmup(opt, { warmupSteps: 5, startFactor: 0.1, after: cosineAnnealingLr({ tMax: 95 }) });
 * ```
 */
export class LinearWarmup extends LRScheduler {
  /**
   * @param optimizer - the optimizer
   * @param opts - warmupSteps, startFactor (default 1/3) and the schedule that follows
   * @throws {InvalidArgumentError} for invalid options or an `after` scheduler of another optimizer
   */
  constructor(optimizer: Optimizer<BaseHyperparams>, opts: LinearWarmupSchedulerOptions) {
    const after = opts.after;
    if (after instanceof LRScheduler && after.optimizer !== optimizer) {
      throw new InvalidArgumentError("LinearWarmup: the 'after' scheduler drives a different optimizer");
    }
    const inner = after instanceof LRScheduler ? after.schedule : after;
    super(optimizer, linearWarmup(opts, inner), after instanceof LRScheduler ? after.baseLrs : undefined);
  }
}

/** Options of {@link OneCycleLR}. */
export interface OneCycleLRSchedulerOptions extends OneCycleLROptions {
  /** Peak learning rate, one for all groups or one per group. */
  readonly maxLr: number | readonly number[];
  /** Cycle momentum (SGD `momentum` or Adam `betas[0]`) inversely to the learning rate (default true). */
  readonly cycleMomentum?: boolean;
  /** Lowest momentum (default 0.85), one or per group. */
  readonly baseMomentum?: number | readonly number[];
  /** Highest momentum (default 0.95), one or per group. */
  readonly maxMomentum?: number | readonly number[];
}

function perGroup(v: number | readonly number[], n: number, name: string): number[] {
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (v.length !== n)
    throw new InvalidArgumentError(`OneCycleLR: expected ${n} values for '${name}', got ${v.length}`);
  return [...v];
}

/**
 * `torch.optim.lr_scheduler.OneCycleLR`: the 1cycle policy. Sets each group's `initialLr` to
 * `maxLr/divFactor` and, with `cycleMomentum`, drives `momentum` (SGD) or `betas[0]` (Adam, AdamW) between
 * `maxMomentum` and `baseMomentum`. Step it after every batch; it throws past `totalSteps`.
 * @example
 * ```ts
 * const sched = new OneCycleLR(opt, { maxLr: 0.1, epochs: 10, stepsPerEpoch: data.length });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  private momentum?: {
    key: 'momentum' | 'betas';
    max: number[];
    base: number[];
    anneal: 'cos' | 'linear';
    phases: ReturnType<typeof oneCyclePhases>['phases'];
  };

  /**
   * @param optimizer - the optimizer
   * @param opts - maxLr, cycle length and the one-cycle options
   * @throws {InvalidArgumentError} for invalid options, or momentum cycling on an optimizer without momentum
   */
  constructor(optimizer: Optimizer<BaseHyperparams>, opts: OneCycleLRSchedulerOptions) {
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup(opts.maxLr, groups.length, 'maxLr');
    const schedule = oneCycleLr(opts);
    groups.forEach((g, i) => (g.initialLr = maxLrs[i]! / (opts.divFactor ?? 25)));
    super(optimizer, schedule, maxLrs);
    // `super` already applied step 0 for the learning rate; momentum is set up and applied here.
    if (opts.cycleMomentum ?? true) {
      const defaults = optimizer.defaults as unknown as Record<string, unknown>;
      const key = 'betas' in defaults ? 'betas' : 'momentum' in defaults ? 'momentum' : undefined;
      if (!key) {
        throw new InvalidArgumentError(
          'OneCycleLR: cycleMomentum needs an optimizer with momentum or betas; pass cycleMomentum: false',
        );
      }
      this.momentum = {
        key,
        max: perGroup(opts.maxMomentum ?? 0.95, groups.length, 'maxMomentum'),
        base: perGroup(opts.baseMomentum ?? 0.85, groups.length, 'baseMomentum'),
        anneal: opts.anneal ?? 'cos',
        phases: oneCyclePhases(opts).phases,
      };
      this.apply(0);
    }
  }

  protected override apply(step: number): void {
    super.apply(step);
    const m = this.momentum;
    if (!m) return;
    const { phase, pct } = oneCyclePosition(m.phases, step);
    this.optimizer.paramGroups.forEach((g, i) => {
      const ends = [m.max[i]!, m.base[i]!];
      const v = oneCycleAnneal(m.anneal, ends[phase.mom[0]]!, ends[phase.mom[1]]!, pct);
      const group = g as unknown as Record<string, unknown>;
      if (m.key === 'betas') group.betas = [v, (group.betas as number[])[1]];
      else group.momentum = v;
    });
  }
}
