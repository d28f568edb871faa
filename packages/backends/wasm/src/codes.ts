import type { Activation } from '@tinyvision/tensor';

/**
 * Activation codes of the WebAssembly kernels (`assembly/common.ts`).
 * @internal
 */
export const ACT: Readonly<Record<Activation, number>> = {
  none: 0,
  relu: 1,
  relu6: 2,
  hardSwish: 3,
  hardSigmoid: 4,
  sigmoid: 5,
  silu: 6,
  tanh: 7,
};

/**
 * Unary-only codes of `unary()` in the kernels.
 * @internal
 */
export const UNARY_ONLY = { neg: 10, abs: 11, sqrt: 12, square: 13, exp: 14 } as const;

/**
 * Binary op codes of `binary()` in the kernels.
 * @internal
 */
export const BINARY = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5 } as const;
