import type { AxisAttrs, ReduceAttrs, TopKAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { cast, div, equal, exp, mul, sub, where } from '../../ops/elementwise.js';
import { expand, reshape } from '../../ops/movement.js';
import { prod, sum } from '../../ops/reduce.js';
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

/** amax/amin gradient: split evenly between the elements equal to the result (PyTorch `amax`). */
function extremumGrad(dy: Tensor, x: Tensor, y: Tensor, attrs: ReduceAttrs): Tensor {
  const keep = keepDimsShape(x.shape, attrs.axes);
  const hit = equal(x, reshape(y, keep));
  const count = sum(cast(hit, dy.dtype), { axes: attrs.axes, keepDims: true });
  return where(hit, div(reshape(dy, keep), count), 0);
}

/** Product gradient, exact with zeros: ∏ of the others (non-zero only where a slice has exactly one zero). */
function prodGrad(dy: Tensor, x: Tensor, y: Tensor, attrs: ReduceAttrs): Tensor {
  const keep = keepDimsShape(x.shape, attrs.axes);
  const isZero = equal(x, 0);
  const others = prod(where(isZero, 1, x), { axes: attrs.axes, keepDims: true });
  const zeros = sum(cast(isZero, x.dtype), { axes: attrs.axes, keepDims: true });
  const g = where(isZero, where(equal(zeros, 1), others, 0), div(reshape(y, keep), x));
  return mul(g, reshape(dy, keep));
}

/** @internal */
export function registerReduceGradients(): void {
  defineGradient(K.Sum, ([dy], { inputs: [x], attrs }) => [spread(dy!, x!, attrs as unknown as ReduceAttrs)]);
  defineGradient(K.Mean, ([dy], { inputs: [x], attrs }) => {
    const a = attrs as unknown as ReduceAttrs;
    const n = a.axes.reduce((acc, ax) => acc * x!.shape[ax]!, 1);
    return [div(spread(dy!, x!, a), n)];
  });
  for (const k of [K.Max, K.Min]) {
    defineGradient(k, ([dy], { inputs: [x], outputs: [y], attrs }) => [
      extremumGrad(dy!, x!, y!, attrs as unknown as ReduceAttrs),
    ]);
  }
  defineGradient(K.Prod, ([dy], { inputs: [x], outputs: [y], attrs }) => [
    prodGrad(dy!, x!, y!, attrs as unknown as ReduceAttrs),
  ]);
  defineGradient(K.TopK, ([dv], { inputs: [x], outputs: [, indices], attrs }) => {
    const { axis } = attrs as unknown as TopKAttrs;
    const size = x!.shape[axis] ?? 1;
    const [g] = runKernel(K.TopKGrad, [dv!, indices!], { axis, size });
    return [reshape(g!, x!.shape)];
  });
  defineGradient(K.Softmax, ([dy], { outputs: [y], attrs }) => {
    const axes = [(attrs as unknown as AxisAttrs).axis].filter((a) => a < y!.rank);
    return [mul(y!, sub(dy!, sum(mul(dy!, y!), { axes, keepDims: true })))];
  });
  defineGradient(K.LogSoftmax, ([dy], { outputs: [y], attrs }) => {
    const axes = [(attrs as unknown as AxisAttrs).axis].filter((a) => a < y!.rank);
    return [sub(dy!, mul(exp(y!), sum(dy!, { axes, keepDims: true })))];
  });
}
