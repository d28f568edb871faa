import type { FoldAttrs, ResizeAttrs, ResizeGradAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { defineGradient } from '../gradients.js';

/** @internal */
export function registerResizeGradients(): void {
  defineGradient(K.Resize, ([dy], { inputs: [x], attrs }) => {
    const a: ResizeGradAttrs = { ...(attrs as unknown as ResizeAttrs), inputShape: x!.shape };
    return [runKernel(K.ResizeGrad, [dy!], { ...a })[0]!];
  });
  // ResizeGrad is linear in dy; its adjoint is the forward resize.
  defineGradient(K.ResizeGrad, ([g], { attrs }) => {
    const { inputShape: _, ...a } = attrs as unknown as ResizeGradAttrs;
    return [runKernel(K.Resize, [g!], a)[0]!];
  });
  // Unfold and Fold are adjoint linear maps: each is the other's gradient.
  defineGradient(K.Unfold, ([dy], { inputs: [x], attrs }) => {
    const a: FoldAttrs = { ...(attrs as unknown as FoldAttrs), outputSize: [x!.shape[2]!, x!.shape[3]!] };
    return [runKernel(K.Fold, [dy!], { ...a })[0]!];
  });
  defineGradient(K.Fold, ([dy], { attrs }) => {
    const { outputSize: _, ...a } = attrs as unknown as FoldAttrs;
    return [runKernel(K.Unfold, [dy!], a)[0]!];
  });
}
