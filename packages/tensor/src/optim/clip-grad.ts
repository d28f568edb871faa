import { full } from '../creation.js';
import { noGrad, tidy } from '../engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import { abs, add, div, maximum, minimum, mul, pow, sqrt } from '../ops/elementwise.js';
import { max, sum } from '../ops/reduce.js';
import { isContiguous } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Order of the norm: a positive number or `Infinity` (default 2). */
  readonly normType?: number;
  /** Throw when the total norm is NaN or ±Inf (reads the norm back to the host). Default false. */
  readonly errorIfNonfinite?: boolean;
}

function gradNorm(g: Tensor, p: number): Tensor {
  if (p === Number.POSITIVE_INFINITY) return max(abs(g));
  if (p === 2) return sqrt(sum(mul(g, g)));
  if (p === 1) return sum(abs(g));
  return pow(sum(pow(abs(g), p)), 1 / p);
}

/**
 * Rescales the gradients of `params` so that their total norm (as if concatenated into one vector) is at most
 * `maxNorm`, as `torch.nn.utils.clip_grad_norm_`: `coef = min(maxNorm / (total + 1e-6), 1)` multiplies every
 * gradient. Parameters without a gradient are ignored. Gradients that own their storage are updated in place
 * (`assign_`); gradient views are replaced.
 * @param params - parameters (or a single parameter) whose `.grad` to clip
 * @param maxNorm - the largest allowed total norm
 * @param opts - `normType` (default 2, `Infinity` for the max-abs norm), `errorIfNonfinite`
 * @returns the total norm before clipping, as a float32 scalar tensor (0 when no parameter has a gradient)
 * @throws {InvalidArgumentError} for a negative/NaN `maxNorm` or a non-positive `normType`, or a non-finite
 *   total norm with `errorIfNonfinite`
 * @example
 * ```ts
 * loss.backward();
 * clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 * ```
 */
export function clipGradNorm(
  params: Tensor | readonly Tensor[],
  maxNorm: number,
  opts: ClipGradNormOptions = {},
): Tensor {
  const normType = opts.normType ?? 2;
  if (!(maxNorm >= 0)) throw new InvalidArgumentError(`clipGradNorm: 'maxNorm' must be >= 0, got ${maxNorm}`);
  if (!(normType > 0)) {
    throw new InvalidArgumentError(`clipGradNorm: 'normType' must be > 0 or Infinity, got ${normType}`);
  }
  const ps = params instanceof Tensor ? [params] : [...params];
  const withGrad = ps.filter((p) => p.grad !== null);
  if (withGrad.length === 0) return full([], 0);
  const grads = withGrad.map((p) => p.grad!);
  const unique = [...new Set(grads)];
  const result = noGrad(() =>
    tidy(() => {
      const norms = grads.map((g) => gradNorm(g, normType));
      let total: Tensor;
      if (normType === Number.POSITIVE_INFINITY) total = norms.reduce((a, b) => maximum(a, b));
      else if (norms.length === 1) total = norms[0]!;
      else if (normType === 2) total = sqrt(norms.map((n) => mul(n, n)).reduce((a, b) => add(a, b)));
      else
        total = pow(
          norms.map((n) => pow(n, normType)).reduce((a, b) => add(a, b)),
          1 / normType,
        );
      const coef = minimum(div(maxNorm, add(total, 1e-6)), 1);
      const out: Record<string, Tensor> = { total };
      unique.forEach((g, i) => {
        const scaled = mul(g, coef);
        if (g.offset === 0 && g.storage.size === g.size && isContiguous(g.shape, g.strides))
          g.assign_(scaled);
        else out[`g${i}`] = scaled;
      });
      return out;
    }),
  );
  unique.forEach((g, i) => {
    const replacement = result[`g${i}`];
    if (!replacement) return;
    for (const p of withGrad) if (p.grad === g) p.grad = replacement;
  });
  const total = result.total!;
  if (opts.errorIfNonfinite && !Number.isFinite(total.item())) {
    throw new InvalidArgumentError(
      `clipGradNorm: the total norm of order ${normType} of the gradients is ${total.item()}; it cannot be clipped`,
    );
  }
  return total;
}
