import type { GeluAttrs, LeakyReluAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import {
  add,
  erf,
  exp,
  greater,
  less,
  lessEqual,
  mul,
  sigmoid,
  sub,
  tanh,
  where,
} from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_BETA = Math.sqrt(2 / Math.PI);
const GELU_KAPPA = 0.044715;

/** d gelu(x)/dx, exact (erf) form: Φ(x) + x·φ(x). */
function geluExactGrad(x: Tensor): Tensor {
  const cdf = mul(add(erf(mul(x, SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(mul(x, x), -0.5)), INV_SQRT_2PI);
  return add(cdf, mul(x, pdf));
}

/** d gelu(x)/dx for the tanh approximation (PyTorch's `GeluBackward` formula). */
function geluTanhGrad(x: Tensor): Tensor {
  const x2 = mul(x, x);
  const inner = mul(add(x, mul(mul(x2, x), GELU_KAPPA)), GELU_BETA);
  const t = tanh(inner);
  const left = mul(add(t, 1), 0.5);
  const right = mul(mul(mul(x, 0.5), sub(1, mul(t, t))), mul(add(mul(x2, 3 * GELU_KAPPA), 1), GELU_BETA));
  return add(left, right);
}

/** @internal */
export function registerActivationGradients(): void {
  // Kinks follow PyTorch: relu'(0) = 0; relu6' is 0 at 0 and 6; leakyRelu'(0) = alpha;
  // hardSwish' is -0.5 at -3 and 1.5 at 3; hardSigmoid' is 0 at ±3.
  defineGradient(K.Relu, ([dy], { inputs: [x] }) => [where(greater(x!, 0), dy!, 0)]);
  defineGradient(K.Relu6, ([dy], { inputs: [x] }) => [where(greater(x!, 0), where(less(x!, 6), dy!, 0), 0)]);
  defineGradient(K.LeakyRelu, ([dy], { inputs: [x], attrs }) => [
    where(greater(x!, 0), dy!, mul(dy!, (attrs as unknown as LeakyReluAttrs).alpha)),
  ]);
  defineGradient(K.HardSwish, ([dy], { inputs: [x] }) => [
    where(less(x!, -3), 0, where(lessEqual(x!, 3), mul(dy!, add(mul(x!, 1 / 3), 0.5)), dy!)),
  ]);
  defineGradient(K.HardSigmoid, ([dy], { inputs: [x] }) => [
    where(greater(x!, -3), where(less(x!, 3), mul(dy!, 1 / 6), 0), 0),
  ]);
  defineGradient(K.Silu, ([dy], { inputs: [x] }) => {
    const s = sigmoid(x!);
    return [mul(dy!, mul(s, add(mul(x!, sub(1, s)), 1)))];
  });
  defineGradient(K.Gelu, ([dy], { inputs: [x], attrs }) => [
    mul(dy!, (attrs as unknown as GeluAttrs).approximate === 'tanh' ? geluTanhGrad(x!) : geluExactGrad(x!)),
  ]);
}
