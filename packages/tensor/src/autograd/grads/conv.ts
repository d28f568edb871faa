import type { Conv2DAttrs, ConvTranspose2DAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { cast } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';

type Pads = readonly [number, number, number, number];

/** dbias = Σ dy over N, H, W, in the bias dtype. */
function biasGrad(dy: Tensor, bias: Tensor | null): Tensor | null {
  return bias ? cast(sum(dy, { axes: [0, 2, 3] }), bias.dtype) : null;
}

/** Gradient of the filter of a convolution of `x` producing `dy` (shape and dtype of `w`). */
function filterGrad(x: Tensor, dy: Tensor, w: Tensor, conv: Conv2DAttrs): Tensor {
  const xs = cast(x, dy.dtype);
  const attrs = { ...conv, filterShape: w.shape };
  return cast(runKernel(K.Conv2DBackpropFilter, [xs, dy], attrs)[0]!, w.dtype);
}

/** @internal */
export function registerConvGradients(): void {
  // y = conv(x, w) + b. dx is the transposed convolution of dy (outputPadding restores rows the forward
  // stride skipped; asymmetric pads carry over as they are); dw correlates x with dy.
  defineGradient(K.Conv2D, ([dy], { inputs: [x, w, bias], attrs }) => {
    const a = attrs as unknown as Conv2DAttrs;
    const g = dy!;
    const [kh, kw] = [w!.shape[2]!, w!.shape[3]!];
    const outputPadding = [0, 1].map((i) => {
      const size = x!.shape[2 + i]!;
      const covered =
        (g.shape[2 + i]! - 1) * a.strides[i]! -
        a.pads[i]! -
        a.pads[2 + i]! +
        a.dilations[i]! * ([kh, kw][i]! - 1) +
        1;
      return size - covered;
    });
    const dx = runKernel(K.ConvTranspose2D, [g, w!, null], { ...a, outputPadding })[0]!;
    return [cast(dx, x!.dtype), filterGrad(x!, g, w!, a), biasGrad(g, bias ?? null)];
  });
  // y = convT(x, w) + b is the adjoint of conv(·, w): dx = conv(dy, w) with the bottom/right pads reduced by
  // outputPadding (so the output is exactly x's size), and dw correlates dy (as input) with x (as output).
  defineGradient(K.ConvTranspose2D, ([dy], { inputs: [x, w, bias], attrs }) => {
    const { outputPadding, ...a } = attrs as unknown as ConvTranspose2DAttrs;
    const g = dy!;
    const pads: Pads = [a.pads[0], a.pads[1], a.pads[2] - outputPadding[0], a.pads[3] - outputPadding[1]];
    const conv: Conv2DAttrs = { ...a, pads };
    const dx = runKernel(K.Conv2D, [g, w!, null], { ...conv })[0]!;
    return [cast(dx, x!.dtype), filterGrad(g, cast(x!, g.dtype), w!, conv), biasGrad(g, bias ?? null)];
  });
}
