import { defaultRng, InvalidArgumentError, mul, type Rng, type Tensor, tensor } from '@tinyvision/tensor';
import { Module } from '../module.js';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Generator for the masks (default: the global one, seeded by `manualSeed`). */
  readonly rng?: Rng;
}

/**
 * Inverted dropout (`torch.nn.Dropout`): in training mode each element is zeroed with probability `p` and the
 * rest scaled by `1/(1−p)`; in eval mode the input passes through unchanged.
 * @example
 * ```ts
 * const drop = new Dropout(0.2);
 * drop.eval().call(x); // x
 * ```
 */
export class Dropout extends Module {
  /** Drop probability. */
  readonly p: number;
  private readonly rng: Rng | undefined;

  /**
   * @param p - drop probability in [0, 1] (default 0.5)
   * @param opts - rng
   * @throws {InvalidArgumentError} when `p` is outside [0, 1]
   */
  constructor(p = 0.5, opts: DropoutOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`Dropout: 'p' must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = opts.rng;
  }

  /**
   * @param x - float input
   * @returns `x·mask/(1−p)` in training mode, `x` otherwise
   */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const rng = this.rng ?? defaultRng();
    const keep = 1 - this.p;
    const scale = keep > 0 ? 1 / keep : 0;
    const m = new Float32Array(x.size);
    for (let i = 0; i < m.length; i++) m[i] = rng.next() < keep ? scale : 0;
    return mul(x, tensor(m, x.shape, x.dtype));
  }
}
