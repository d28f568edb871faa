import { registerElementwiseGradients } from './elementwise.js';
import { registerMovementGradients } from './movement.js';
import { registerReduceGradients } from './reduce.js';

let done = false;

/**
 * Defines every gradient once (lazily, on the first backward, so importing the package has no side effects).
 * @internal
 */
export function ensureGradients(): void {
  if (done) return;
  done = true;
  registerElementwiseGradients();
  registerReduceGradients();
  registerMovementGradients();
}
