import { InvalidArgumentError } from '../errors/index.js';
import { add, mul, neg, sub } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import {
  type BaseHyperparams,
  Optimizer,
  type OptimizerParams,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';

/** Hyperparameters of {@link SGD} (torch.optim.SGD). */
export interface SGDHyperparams extends BaseHyperparams {
  /** Momentum factor (0 = plain SGD). */
  momentum: number;
  /** Dampening of the momentum update. */
  dampening: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** Options of {@link SGD}: `lr` is required, the rest default to torch's values (all 0/false). */
export type SGDOptions = Partial<SGDHyperparams> & { lr: number };

/**
 * Stochastic gradient descent with momentum, exactly as `torch.optim.SGD` (1.13):
 * `d = g + wd·p`; `buf = d` on the first step, else `buf = momentum·buf + (1 − dampening)·d`;
 * `d = nesterov ? d + momentum·buf : buf`; `p = p − lr·d`.
 *
 * @example
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDHyperparams> {
  /**
   * @param params - parameters, or parameter groups with per-group hyperparameters
   * @param opts - learning rate and optional momentum, dampening, weightDecay, nesterov, maximize
   * @throws {InvalidArgumentError} for a negative lr/momentum/weightDecay, or nesterov without momentum or with
   *   dampening
   * @throws {DTypeError} for a non-float parameter
   */
  constructor(params: OptimizerParams<SGDHyperparams>, opts: SGDOptions) {
    super('SGD', params, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override validate(g: ParamGroup<SGDHyperparams>, i: number): void {
    super.validate(g, i);
    if (!Number.isFinite(g.momentum) || g.momentum < 0) {
      throw new InvalidArgumentError(`SGD: 'momentum' of group ${i} must be >= 0, got ${g.momentum}`);
    }
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new InvalidArgumentError(
        `SGD: nesterov in group ${i} needs momentum > 0 and dampening 0, got momentum ${g.momentum}, dampening ${g.dampening}`,
      );
    }
  }

  protected updateParam(p: Tensor, grad: Tensor, g: ParamGroup<SGDHyperparams>, state: ParamState): void {
    let d = g.maximize ? neg(grad) : grad;
    if (g.weightDecay !== 0) d = add(d, mul(p, g.weightDecay));
    if (g.momentum !== 0) {
      const prev = state.momentumBuffer as Tensor | undefined;
      let buf: Tensor;
      if (!prev) buf = d;
      else {
        const damp = 1 - g.dampening;
        buf = add(mul(prev, g.momentum), damp === 1 ? d : mul(d, damp));
      }
      buf = this.setState(state, 'momentumBuffer', buf);
      d = g.nesterov ? add(d, mul(buf, g.momentum)) : buf;
    }
    p.assign_(sub(p, mul(d, g.lr)));
  }
}
