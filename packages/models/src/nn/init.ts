import { type DType, defaultRng, type Rng, rand, type Tensor } from '@tinyvision/tensor';

/** Initialisation options shared by the layers with weights. */
export interface InitOptions {
  /** Random generator for the initial weights (default: the global one, seeded by `manualSeed`). */
  readonly rng?: Rng;
  /** Parameter dtype (default float32). */
  readonly dtype?: DType;
}

/**
 * Uniform samples in `[-bound, bound]`: torch's `kaiming_uniform_(a=√5)` for conv/linear weights is
 * `bound = 1/√fanIn`, and so is their bias init.
 * @param shape - tensor shape
 * @param fanIn - number of inputs per output unit
 * @param opts - rng and dtype
 * @returns the new tensor
 * @example
 * ```ts
 * const w = uniformFanIn([10, 16], 16); // values in [-0.25, 0.25]
 * ```
 */
export function uniformFanIn(shape: readonly number[], fanIn: number, opts: InitOptions = {}): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return rand(shape, { low: -bound, high: bound, rng: opts.rng ?? defaultRng(), dtype: opts.dtype });
}
