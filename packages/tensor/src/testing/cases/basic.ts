import { add, div, exp, log, mul, neg, sqrt, sub } from '../../ops/elementwise.js';
import { expand, reshape, transpose } from '../../ops/movement.js';
import { mean, sum } from '../../ops/reduce.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/** Adapters of the `basic` fixture family. */
export const basicAdapters: Record<string, Adapter> = {
  add: ([a, b]) => add(a!, b!),
  sub: ([a, b]) => sub(a!, b!),
  mul: ([a, b]) => mul(a!, b!),
  div: ([a, b]) => div(a!, b!),
  exp: ([x]) => exp(x!),
  log: ([x]) => log(x!),
  sqrt: ([x]) => sqrt(x!),
  neg: ([x]) => neg(x!),
  sum: ([x], a: A) =>
    sum(x!, { axes: (a.axes as number[] | null) ?? undefined, keepDims: a.keepDims as boolean }),
  mean: ([x], a: A) =>
    mean(x!, { axes: (a.axes as number[] | null) ?? undefined, keepDims: a.keepDims as boolean }),
  reshape: ([x], a: A) => reshape(x!, a.shape as number[]),
  transpose: ([x], a: A) => transpose(x!, a.perm as number[]),
  expand: ([x], a: A) => expand(x!, a.shape as number[]),
};
