import { InvalidArgumentError, linear, type Tensor } from '@tinyvision/tensor';
import { type InitOptions, uniformFanIn } from '../init.js';
import { Module } from '../module.js';

/** Options of {@link Linear}. */
export interface LinearOptions extends InitOptions {
  /** Learnable bias (default true). */
  readonly bias?: boolean;
}

/**
 * Fully connected layer `x·Wᵀ + b` (`torch.nn.Linear`): `weight [out, in]`, `bias [out]`, initialised uniform in
 * `±1/√in` (torch's kaiming_uniform(a=√5)).
 * @example
 * ```ts
 * new Linear(16, 10).call(randn([4, 16])).shape; // [4, 10]
 * ```
 */
export class Linear extends Module {
  /** Weights `[out, in]`. */
  readonly weight: Tensor;
  /** Bias `[out]` or null. */
  readonly bias: Tensor | null;

  /**
   * @param inFeatures - input size
   * @param outFeatures - output size
   * @param opts - bias, rng, dtype
   * @throws {InvalidArgumentError} on non-positive sizes
   */
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [n, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new InvalidArgumentError(`Linear: '${n}' must be a positive integer, got ${v}`);
      }
    }
    this.weight = this.registerParameter('weight', uniformFanIn([outFeatures, inFeatures], inFeatures, opts));
    this.bias = this.registerParameter(
      'bias',
      (opts.bias ?? true) ? uniformFanIn([outFeatures], inFeatures, opts) : null,
    );
  }

  /**
   * @param x - `[..., in]`
   * @returns `[..., out]`
   */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
