import {
  argMax,
  argMin,
  logSoftmax,
  logSumExp,
  max,
  mean,
  min,
  prod,
  type ReduceOptions,
  softmax,
  std,
  sum,
  topk,
  type VarianceOptions,
  variance,
} from '../../ops/reduce.js';
import type { Tensor } from '../../tensor.js';
import { transposed } from './elementwise.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

function reduceOpts(a: A): VarianceOptions {
  return {
    axes: (a.axes as number[] | null) ?? undefined,
    keepDims: a.keepDims as boolean,
    correction: a.correction as number | undefined,
  };
}

function reduction(op: (x: Tensor, opts: VarianceOptions) => Tensor): Adapter {
  return (inputs, attrs) => op(transposed(inputs, attrs)[0]!, reduceOpts(attrs));
}

function argReduction(op: typeof argMax): Adapter {
  return (inputs, a) =>
    op(transposed(inputs, a)[0]!, {
      axis: (a.axis as number | null) ?? undefined,
      keepDims: a.keepDims as boolean,
    });
}

function axisOp(op: (x: Tensor, axis?: number) => Tensor): Adapter {
  return (inputs, a) => op(transposed(inputs, a)[0]!, a.axis as number | undefined);
}

/** Adapters of the `reduce` fixture family. */
export const reduceAdapters: Record<string, Adapter> = {
  max: reduction((x, o: ReduceOptions) => max(x, o)),
  min: reduction((x, o: ReduceOptions) => min(x, o)),
  prod: reduction((x, o: ReduceOptions) => prod(x, o)),
  reduceSum: reduction((x, o: ReduceOptions) => sum(x, o)),
  reduceMean: reduction((x, o: ReduceOptions) => mean(x, o)),
  logSumExp: reduction((x, o: ReduceOptions) => logSumExp(x, o)),
  variance: reduction(variance),
  std: reduction(std),
  argMax: argReduction(argMax),
  argMin: argReduction(argMin),
  topk: (inputs, a) =>
    topk(transposed(inputs, a)[0]!, {
      k: a.k as number,
      axis: a.axis as number | undefined,
      largest: a.largest as boolean | undefined,
      sorted: a.sorted as boolean | undefined,
    }),
  softmax: axisOp(softmax),
  logSoftmax: axisOp(logSoftmax),
};
