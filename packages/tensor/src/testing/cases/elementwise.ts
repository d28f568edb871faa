import {
  abs,
  clip,
  equal,
  erf,
  floor,
  greater,
  greaterEqual,
  less,
  lessEqual,
  maximum,
  minimum,
  notEqual,
  pow,
  reciprocal,
  round,
  rsqrt,
  sigmoid,
  sign,
  square,
  tanh,
  where,
} from '../../ops/elementwise.js';
import { transpose } from '../../ops/movement.js';
import type { TensorOrScalar } from '../../ops/util.js';
import type { Tensor } from '../../tensor.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/**
 * Inputs as the op should see them: indices listed in `attrs.t` are transposed (non-contiguous views).
 * @internal
 */
export function transposed(inputs: (Tensor | null)[], attrs: A): (Tensor | null)[] {
  const t = (attrs.t as number[] | undefined) ?? [];
  return inputs.map((x, i) => (x && t.includes(i) ? transpose(x) : x));
}

/** Binary operands: `attrs.a`/`attrs.b` replace a tensor operand with a number. */
function operands(inputs: (Tensor | null)[], attrs: A): [TensorOrScalar, TensorOrScalar] {
  const ins = transposed(inputs, attrs).filter((x): x is Tensor => x !== null);
  const a = typeof attrs.a === 'number' ? attrs.a : ins.shift()!;
  const b = typeof attrs.b === 'number' ? attrs.b : ins.shift()!;
  return [a, b];
}

function binary(op: (a: TensorOrScalar, b: TensorOrScalar) => Tensor): Adapter {
  return (inputs, attrs) => op(...operands(inputs, attrs));
}

function unary(op: (x: Tensor) => Tensor): Adapter {
  return (inputs, attrs) => op(transposed(inputs, attrs)[0]!);
}

/** Adapters of the `elementwise` fixture family. */
export const elementwiseAdapters: Record<string, Adapter> = {
  pow: binary(pow),
  maximum: binary(maximum),
  minimum: binary(minimum),
  equal: binary(equal),
  greater: binary(greater),
  less: binary(less),
  greaterEqual: binary(greaterEqual),
  lessEqual: binary(lessEqual),
  notEqual: binary(notEqual),
  where: (inputs, attrs) => {
    const [cond, ...rest] = transposed(inputs, attrs);
    const [a, b] = operands(rest, { a: attrs.a, b: attrs.b });
    return where(cond!, a, b);
  },
  abs: unary(abs),
  rsqrt: unary(rsqrt),
  square: unary(square),
  reciprocal: unary(reciprocal),
  floor: unary(floor),
  round: unary(round),
  sign: unary(sign),
  erf: unary(erf),
  tanh: unary(tanh),
  sigmoid: unary(sigmoid),
  clip: (inputs, attrs) =>
    clip(transposed(inputs, attrs)[0]!, {
      min: attrs.min as number | undefined,
      max: attrs.max as number | undefined,
    }),
};
