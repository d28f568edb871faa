import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { defineGradient } from '../gradients.js';

/**
 * FakeQuantize's straight-through estimator: `dx = dy` where the unclamped quantized value of `x` lies in
 * `[qmin, qmax]`, else 0 (as PyTorch's fake_quantize gradients). QuantizeLinear, DequantizeLinear, QConv2D and
 * QMatMul are inference ops with integer inputs or outputs, so they have no gradient.
 * @internal
 */
export function registerQuantGradients(): void {
  defineGradient(K.FakeQuantize, ([dy], { inputs: [x], attrs }) => [
    runKernel(K.FakeQuantizeGrad, [x!, dy!], attrs)[0]!,
  ]);
}
