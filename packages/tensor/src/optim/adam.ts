import { zeros } from '../creation.js';
import { InvalidArgumentError } from '../errors/index.js';
import { add, div, maximum, mul, neg, sqrt, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import {
  type BaseHyperparams,
  Optimizer,
  type OptimizerParams,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';

/** Hyperparameters of {@link Adam} and {@link AdamW}. */
export interface AdamHyperparams extends BaseHyperparams {
  /** Decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Use the maximum of past second moments (AMSGrad). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** Options of {@link Adam} and {@link AdamW}; every field has torch's default. */
export type AdamOptions = Partial<AdamHyperparams>;

/**
 * Shared Adam update; `decoupled` selects AdamW's weight decay.
 * @internal
 */
export abstract class AdamBase extends Optimizer<AdamHyperparams> {
  /**
   * @param name - optimizer name for messages
   * @param params - parameters or groups
   * @param defaults - complete defaults
   * @param decoupled - AdamW-style decay (`p ← p·(1 − lr·wd)`) instead of L2 added to the gradient
   */
  protected constructor(
    name: string,
    params: OptimizerParams<AdamHyperparams>,
    defaults: AdamHyperparams,
    private readonly decoupled: boolean,
  ) {
    super(name, params, defaults);
  }

  protected override validate(g: ParamGroup<AdamHyperparams>, i: number): void {
    super.validate(g, i);
    const b = g.betas;
    if (!Array.isArray(b) || b.length !== 2 || b.some((v) => !(v >= 0 && v < 1))) {
      throw new InvalidArgumentError(
        `${this.name}: 'betas' of group ${i} must be two numbers in [0, 1), got ${JSON.stringify(b)}`,
      );
    }
    if (!(g.eps >= 0))
      throw new InvalidArgumentError(`${this.name}: 'eps' of group ${i} must be >= 0, got ${g.eps}`);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<AdamHyperparams>, state: ParamState): void {
    const [beta1, beta2] = g.betas;
    if (state.step === undefined) {
      state.step = 0;
      this.setState(state, 'expAvg', zeros(p.shape, p.dtype));
      this.setState(state, 'expAvgSq', zeros(p.shape, p.dtype));
      if (g.amsgrad) this.setState(state, 'maxExpAvgSq', zeros(p.shape, p.dtype));
    }
    const step = (state.step as number) + 1;
    state.step = step;
    let gr = g.maximize ? neg(grad) : grad;
    let param = p;
    if (this.decoupled) {
      const f = 1 - g.lr * g.weightDecay;
      if (f !== 1) param = mul(p, f);
    } else if (g.weightDecay !== 0) gr = add(gr, mul(p, g.weightDecay));
    // Same operation order as torch's single-tensor path (addcmul: (value·t1)·t2; addcdiv: (value·t1)/t2).
    const m = this.setState(state, 'expAvg', add(mul(state.expAvg as Tensor, beta1), mul(gr, 1 - beta1)));
    const v = this.setState(
      state,
      'expAvgSq',
      add(mul(state.expAvgSq as Tensor, beta2), mul(mul(gr, 1 - beta2), gr)),
    );
    const bc1 = 1 - beta1 ** step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
    const stepSize = g.lr / bc1;
    let second = v;
    if (g.amsgrad) {
      const prev = (state.maxExpAvgSq as Tensor | undefined) ?? zeros(p.shape, p.dtype);
      second = this.setState(state, 'maxExpAvgSq', maximum(prev, v));
    }
    const denom = add(div(sqrt(second), bc2Sqrt), g.eps);
    p.assign_(sub(param, div(mul(m, stepSize), denom)));
  }
}

/**
 * Adam with L2 weight decay added to the gradient, exactly as `torch.optim.Adam` (1.13, single-tensor path):
 * `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`, `p −= lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps)`.
 *
 * @example
 * ```ts
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * ```
 */
export class Adam extends AdamBase {
  /**
   * @param params - parameters, or parameter groups with per-group hyperparameters
   * @param opts - lr (1e-3), betas ([0.9, 0.999]), eps (1e-8), weightDecay (0), amsgrad (false), maximize (false)
   * @throws {InvalidArgumentError} for invalid hyperparameters
   * @throws {DTypeError} for a non-float parameter
   */
  constructor(params: OptimizerParams<AdamHyperparams>, opts: AdamOptions = {}) {
    super('Adam', params, adamDefaults(opts, 0), false);
  }
}

/**
 * Complete Adam hyperparameters from options.
 * @internal
 */
export function adamDefaults(opts: AdamOptions, weightDecay: number): AdamHyperparams {
  return {
    lr: opts.lr ?? 1e-3,
    betas: opts.betas ? [opts.betas[0], opts.betas[1]] : [0.9, 0.999],
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay ?? weightDecay,
    amsgrad: opts.amsgrad ?? false,
    maximize: opts.maximize ?? false,
  };
}
