import type { AvgPool2DGradAttrs, Pool2DAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { defineGradient } from '../gradients.js';

/** @internal */
export function registerPoolGradients(): void {
  defineGradient(K.MaxPool2D, ([dy], { inputs: [x], attrs }) => [
    runKernel(K.MaxPool2DGrad, [x!, dy!], attrs)[0]!,
  ]);
  defineGradient(K.AvgPool2D, ([dy], { inputs: [x], attrs }) => {
    const a: AvgPool2DGradAttrs = { ...(attrs as unknown as Pool2DAttrs), inputShape: x!.shape };
    return [runKernel(K.AvgPool2DGrad, [dy!], { ...a })[0]!];
  });
  // AvgPool2DGrad is linear in dy; its adjoint is the forward pool.
  defineGradient(K.AvgPool2DGrad, ([g], { attrs }) => {
    const { inputShape: _, ...a } = attrs as unknown as AvgPool2DGradAttrs;
    return [runKernel(K.AvgPool2D, [g!], a)[0]!];
  });
}
