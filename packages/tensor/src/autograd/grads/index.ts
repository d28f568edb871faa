import { registerActivationGradients } from './activation.js';
import { registerConvGradients } from './conv.js';
import { registerElementwiseGradients } from './elementwise.js';
import { registerLinalgGradients } from './linalg.js';
import { registerMovementGradients } from './movement.js';
import { registerNormGradients } from './norm.js';
import { registerPoolGradients } from './pool.js';
import { registerQuantGradients } from './quant.js';
import { registerReduceGradients } from './reduce.js';
import { registerResizeGradients } from './resize.js';

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
  registerActivationGradients();
  registerLinalgGradients();
  registerConvGradients();
  registerPoolGradients();
  registerNormGradients();
  registerResizeGradients();
  registerQuantGradients();
}
