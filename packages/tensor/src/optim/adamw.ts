import { AdamBase, type AdamHyperparams, type AdamOptions, adamDefaults } from './adam.js';
import type { OptimizerParams } from './optimizer.js';

/**
 * Adam with decoupled weight decay, exactly as `torch.optim.AdamW` (1.13, single-tensor path): first
 * `p ← p·(1 − lr·wd)`, then the {@link Adam} update with bias correction.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export class AdamW extends AdamBase {
  /**
   * @param params - parameters, or parameter groups with per-group hyperparameters
   * @param opts - lr (1e-3), betas ([0.9, 0.999]), eps (1e-8), weightDecay (1e-2), amsgrad (false), maximize (false)
   * @throws {InvalidArgumentError} for invalid hyperparameters
   * @throws {DTypeError} for a non-float parameter
   */
  constructor(params: OptimizerParams<AdamHyperparams>, opts: AdamOptions = {}) {
    super('AdamW', params, adamDefaults(opts, 1e-2), true);
  }
}
