import type { ClipAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { isFloat } from '../../dtype.js';
import {
  cast,
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  mul,
  neg,
  pow,
  sign,
  sub,
  where,
} from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';
import { unbroadcast, zerosLike } from '../util.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** `dy` where `keep` is true, else 0 (NaN comparisons count as false). */
function mask(keep: Tensor, dy: Tensor): Tensor {
  return where(keep, dy, 0);
}

/** Gradients of maximum/minimum: ties split the gradient in half (PyTorch convention). */
function extremumGrads(dy: Tensor, a: Tensor, b: Tensor, isMax: boolean): [Tensor, Tensor] {
  const half = where(equal(a, b), mul(dy, 0.5), dy);
  const aLoses = isMax ? less(a, b) : greater(a, b);
  const bLoses = isMax ? greater(a, b) : less(a, b);
  return [unbroadcast(where(aLoses, 0, half), a.shape), unbroadcast(where(bLoses, 0, half), b.shape)];
}

/** @internal */
export function registerElementwiseGradients(): void {
  defineGradient(K.Add, ([dy], { inputs: [a, b] }) => [
    unbroadcast(dy!, a!.shape),
    unbroadcast(dy!, b!.shape),
  ]);
  defineGradient(K.Sub, ([dy], { inputs: [a, b] }) => [
    unbroadcast(dy!, a!.shape),
    unbroadcast(neg(dy!), b!.shape),
  ]);
  defineGradient(K.Mul, ([dy], { inputs: [a, b] }) => [
    unbroadcast(mul(dy!, b!), a!.shape),
    unbroadcast(mul(dy!, a!), b!.shape),
  ]);
  defineGradient(K.Div, ([dy], { inputs: [a, b] }) => [
    unbroadcast(div(dy!, b!), a!.shape),
    unbroadcast(neg(div(mul(dy!, a!), mul(b!, b!))), b!.shape),
  ]);
  // d/da a^b = b·a^(b-1) (0 where b == 0); d/db a^b = a^b·ln a (0 where a == 0 and b >= 0), as PyTorch.
  defineGradient(K.Pow, ([dy], { inputs: [a, b], outputs: [y] }) => [
    a!.requiresGrad
      ? unbroadcast(where(equal(b!, 0), 0, mul(dy!, mul(b!, pow(a!, sub(b!, 1))))), a!.shape)
      : null,
    b!.requiresGrad
      ? unbroadcast(
          where(
            equal(a!, 0),
            where(greaterEqual(b!, 0), 0, mul(dy!, mul(y!, log(a!)))),
            mul(dy!, mul(y!, log(a!))),
          ),
          b!.shape,
        )
      : null,
  ]);
  defineGradient(K.Maximum, ([dy], { inputs: [a, b] }) => extremumGrads(dy!, a!, b!, true));
  defineGradient(K.Minimum, ([dy], { inputs: [a, b] }) => extremumGrads(dy!, a!, b!, false));
  defineGradient(K.Where, ([dy], { inputs: [cond, a, b] }) => [
    null,
    unbroadcast(where(cond!, dy!, 0), a!.shape),
    unbroadcast(where(cond!, 0, dy!), b!.shape),
  ]);
  defineGradient(K.Neg, ([dy]) => [neg(dy!)]);
  defineGradient(K.Exp, ([dy], { outputs: [y] }) => [mul(dy!, y!)]);
  defineGradient(K.Log, ([dy], { inputs: [x] }) => [div(dy!, x!)]);
  defineGradient(K.Sqrt, ([dy], { outputs: [y] }) => [div(dy!, mul(y!, 2))]);
  defineGradient(K.Abs, ([dy], { inputs: [x] }) => [mul(dy!, sign(x!))]);
  defineGradient(K.Rsqrt, ([dy], { outputs: [y] }) => [mul(dy!, mul(mul(y!, mul(y!, y!)), -0.5))]);
  defineGradient(K.Square, ([dy], { inputs: [x] }) => [mul(dy!, mul(x!, 2))]);
  defineGradient(K.Reciprocal, ([dy], { outputs: [y] }) => [neg(mul(dy!, mul(y!, y!)))]);
  for (const k of [K.Floor, K.Round, K.Sign]) defineGradient(k, (_, { inputs: [x] }) => [zerosLike(x!)]);
  defineGradient(K.Erf, ([dy], { inputs: [x] }) => [mul(dy!, mul(exp(neg(mul(x!, x!))), TWO_OVER_SQRT_PI))]);
  defineGradient(K.Tanh, ([dy], { outputs: [y] }) => [mul(dy!, sub(1, mul(y!, y!)))]);
  defineGradient(K.Sigmoid, ([dy], { outputs: [y] }) => [mul(dy!, mul(y!, sub(1, y!)))]);
  // PyTorch clamp: the gradient passes where min <= x <= max (bounds included, NaN blocked).
  defineGradient(K.Clip, ([dy], { inputs: [x], attrs }) => {
    const { min, max } = attrs as unknown as ClipAttrs;
    let g = dy!;
    if (max !== undefined) g = mask(lessEqual(x!, max), g);
    if (min !== undefined) g = mask(greaterEqual(x!, min), g);
    return [g];
  });
  defineGradient(K.Cast, ([dy], { inputs: [x] }) => [isFloat(x!.dtype) ? cast(dy!, x!.dtype) : null]);
}
