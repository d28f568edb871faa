import type { Attrs } from '../backend/backend-spec-v1.js';
import type { Tensor } from '../tensor.js';

/** What a gradient function receives besides the upstream gradients. */
export interface GradContext {
  /** The op's inputs (null for omitted optional inputs). */
  readonly inputs: readonly (Tensor | null)[];
  /** The op's outputs. */
  readonly outputs: readonly Tensor[];
  /** The op's attributes. */
  readonly attrs: Attrs;
}

/**
 * A gradient function: upstream gradients (one per output; never null — zeros are substituted) in,
 * one gradient per input out (null where the input needs none or is not differentiable).
 */
export type GradFunc = (dys: readonly Tensor[], ctx: GradContext) => (Tensor | null)[];

const table = new Map<string, GradFunc>();

/**
 * Registers the gradient of a kernel. Each family file under `autograd/grads/` calls this from its
 * `registerXxxGradients()` function, and `ensureGradients()` calls those once.
 * @param kernel - kernel name
 * @param fn - gradient function
 * @internal
 */
export function defineGradient(kernel: string, fn: GradFunc): void {
  table.set(kernel, fn);
}

/**
 * The gradient function of a kernel, if defined.
 * @param kernel - kernel name
 * @returns the gradient function or undefined
 * @internal
 */
export function lookupGradient(kernel: string): GradFunc | undefined {
  return table.get(kernel);
}
