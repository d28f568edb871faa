import type { ReduceAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { div } from '../../ops/elementwise.js';
import { expand, reshape } from '../../ops/movement.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';

/**
 * Reshapes a reduced gradient so it broadcasts back over the reduced axes.
 * @internal
 */
export function keepDimsShape(inShape: readonly number[], axes: readonly number[]): number[] {
  return inShape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function spread(dy: Tensor, x: Tensor, attrs: ReduceAttrs): Tensor {
  return expand(reshape(dy, keepDimsShape(x.shape, attrs.axes)), x.shape);
}

/** @internal */
export function registerReduceGradients(): void {
  defineGradient(K.Sum, ([dy], { inputs: [x], attrs }) => [spread(dy!, x!, attrs as unknown as ReduceAttrs)]);
  defineGradient(K.Mean, ([dy], { inputs: [x], attrs }) => {
    const a = attrs as unknown as ReduceAttrs;
    const n = a.axes.reduce((acc, ax) => acc * x!.shape[ax]!, 1);
    return [div(spread(dy!, x!, a), n)];
  });
}
