import * as K from '../../backend/kernel-names.js';
import { div, mul, neg } from '../../ops/elementwise.js';
import { defineGradient } from '../gradients.js';
import { unbroadcast } from '../util.js';

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
  defineGradient(K.Neg, ([dy]) => [neg(dy!)]);
  defineGradient(K.Exp, ([dy], { outputs: [y] }) => [mul(dy!, y!)]);
  defineGradient(K.Log, ([dy], { inputs: [x] }) => [div(dy!, x!)]);
  defineGradient(K.Sqrt, ([dy], { outputs: [y] }) => [div(dy!, mul(y!, 2))]);
}
