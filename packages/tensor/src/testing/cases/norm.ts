import { batchNorm, groupNorm, layerNorm } from '../../ops/norm.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/** Adapters of the `norm` fixture family. */
export const normAdapters: Record<string, Adapter> = {
  // Inputs: x, runningMean?, runningVar?, weight?, bias?. Training mode also returns the updated running stats.
  batchNorm: ([x, rm, rv, w, b], a: A) => {
    const y = batchNorm(x!, {
      runningMean: rm,
      runningVar: rv,
      weight: w,
      bias: b,
      training: a.training as boolean,
      momentum: a.momentum as number | undefined,
      eps: a.eps as number | undefined,
    });
    return a.training && rm && rv ? [y, rm, rv] : y;
  },
  layerNorm: ([x, w, b], a: A) =>
    layerNorm(x!, a.normalizedShape as number[], { weight: w, bias: b, eps: a.eps as number | undefined }),
  groupNorm: ([x, w, b], a: A) =>
    groupNorm(x!, a.numGroups as number, { weight: w, bias: b, eps: a.eps as number | undefined }),
};
