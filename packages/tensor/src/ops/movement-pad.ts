import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from './util.js';

/** How {@link pad} fills the border: a constant, a mirror without the edge (torch 'reflect'), or the edge ('replicate'). */
export type PadMode = 'constant' | 'reflect' | 'edge';

/** Options of {@link pad}. */
export interface PadOptions {
  /** Fill mode (default 'constant'). */
  readonly mode?: PadMode;
  /** Fill value of 'constant' mode (default 0); stored in `x`'s dtype. */
  readonly value?: number;
}

const MODES: readonly PadMode[] = ['constant', 'reflect', 'edge'];

/**
 * Pads (or, with negative amounts, crops) dims of `x`.
 *
 * `pads` is in **dim order**, `[before, after]` per dim: `[before0, after0, before1, after1, …]`. It may list
 * fewer than `rank` pairs, in which case the pairs apply to the trailing dims. This differs from torch
 * `F.pad`, which lists the *last* dim first: torch `F.pad(x, (l, r, t, b))` on NCHW is
 * `pad(x, [t, b, l, r])` here.
 *
 * @param x - input (any dtype; values are copied bit-exactly)
 * @param pads - `[before, after]` pairs in dim order for the trailing dims; negative values crop
 * @param opts - mode ('constant' | 'reflect' | 'edge') and constant value
 * @returns the padded tensor
 * @throws {ShapeError} when `pads` has an odd length or more pairs than dims, a dim would become negative,
 * or a 'reflect' pad is ≥ the dim size ('edge'/'reflect' also need a non-empty dim)
 * @throws {InvalidArgumentError} for non-integer pads or an unknown mode
 * @example
 * ```ts
 * pad(zeros([1, 3, 4, 4]), [1, 1, 2, 2]).shape; // [1, 3, 6, 8]
 * pad(tensor([1, 2, 3]), [2, 1], { mode: 'reflect' }).toArray(); // [3, 2, 1, 2, 3, 2]
 * ```
 */
export function pad(x: Tensor, pads: readonly number[], opts: PadOptions = {}): Tensor {
  assertTensor(x, 'x', 'pad');
  const mode = opts.mode ?? 'constant';
  const value = opts.value ?? 0;
  if (!MODES.includes(mode)) {
    throw new InvalidArgumentError(`pad: mode '${mode}' is not one of ${MODES.join(', ')}`);
  }
  if (typeof value !== 'number')
    throw new InvalidArgumentError(`pad: 'value' must be a number, got ${value}`);
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length > 2 * x.rank) {
    throw new ShapeError(
      `pad: 'pads' must be [before, after] pairs for at most ${x.rank} dims of ${fmtShape(x.shape)}, got ${JSON.stringify(pads)}`,
    );
  }
  if (pads.some((p) => !Number.isInteger(p))) {
    throw new InvalidArgumentError(`pad: 'pads' must be integers, got [${pads.join(',')}]`);
  }
  const full = [...new Array<number>(2 * x.rank - pads.length).fill(0), ...pads];
  x.shape.forEach((n, d) => {
    const before = full[2 * d]!;
    const after = full[2 * d + 1]!;
    if (n + before + after < 0) {
      throw new ShapeError(
        `pad: pads [${before},${after}] would give dim ${d} of ${fmtShape(x.shape)} a negative size`,
      );
    }
    if (mode === 'constant' || (before <= 0 && after <= 0)) return;
    if (n === 0)
      throw new ShapeError(`pad: '${mode}' mode cannot pad empty dim ${d} of ${fmtShape(x.shape)}`);
    if (mode === 'reflect' && (before >= n || after >= n)) {
      throw new ShapeError(
        `pad: 'reflect' pads [${before},${after}] on dim ${d} must be smaller than its size ${n} (shape ${fmtShape(x.shape)})`,
      );
    }
  });
  return runKernel(K.Pad, [x], { pads: full, mode, value })[0]!;
}
