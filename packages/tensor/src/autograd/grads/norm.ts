import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { defineGradient } from '../gradients.js';

/**
 * Registers the gradient of the training batch-norm kernel (`BatchNormTrain` → `BatchNormTrainGrad`, which
 * returns dx, dgamma and dbeta in one pass). The eval-mode BatchNorm, LayerNorm and GroupNorm are composites:
 * their gradients flow through the ops of their implementations.
 * @internal
 */
export function registerNormGradients(): void {
  defineGradient(K.BatchNormTrain, ([dy], { inputs: [x, gamma, beta], outputs: [, mean, invStd], attrs }) => {
    const [dx, dgamma, dbeta] = runKernel(
      K.BatchNormTrainGrad,
      [dy!, x!, gamma ?? null, mean!, invStd!],
      attrs,
    );
    return [dx!, gamma ? dgamma! : null, beta ? dbeta! : null];
  });
}
