import { tensor } from '../../creation.js';
import {
  bceWithLogits,
  boxIoU,
  ciouLoss,
  crossEntropy,
  diouLoss,
  giouLoss,
  iouLoss,
  type KlDivOptions,
  klDiv,
  type LossReduction,
  l1,
  mse,
  smoothL1,
} from '../../ops/loss.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

const red = (a: A) => a.reduction as LossReduction;
/** Class weights and pos weights come as JSON lists (torch has no gradient for them). */
const vec = (v: unknown, like?: readonly number[]) =>
  v === undefined ? undefined : tensor(v as number[], like ?? [(v as number[]).length]);

/** Adapters of the `loss` fixture family. */
export const lossAdapters: Record<string, Adapter> = {
  crossEntropy: ([x, t], a: A) =>
    crossEntropy(x!, t!, {
      weight: vec(a.weight),
      ignoreIndex: a.ignoreIndex as number,
      labelSmoothing: a.labelSmoothing as number,
      reduction: red(a),
    }),
  bceWithLogits: ([x, t], a: A) =>
    bceWithLogits(x!, t!, {
      posWeight: vec(a.posWeight),
      weight: vec(a.weight, x!.shape),
      reduction: red(a),
    }),
  mse: ([x, t], a: A) => mse(x!, t!, { reduction: red(a) }),
  l1: ([x, t], a: A) => l1(x!, t!, { reduction: red(a) }),
  smoothL1: ([x, t], a: A) => smoothL1(x!, t!, { reduction: red(a), beta: a.beta as number }),
  klDiv: ([x, t], a: A) =>
    klDiv(x!, t!, { reduction: a.reduction as KlDivOptions['reduction'], logTarget: a.logTarget === true }),
  boxIoU: ([a, b]) => boxIoU(a!, b!),
  iouLoss: ([a, b], at: A) => iouLoss(a!, b!, { reduction: red(at) }),
  giouLoss: ([a, b], at: A) => giouLoss(a!, b!, { reduction: red(at) }),
  diouLoss: ([a, b], at: A) => diouLoss(a!, b!, { reduction: red(at) }),
  ciouLoss: ([a, b], at: A) => ciouLoss(a!, b!, { reduction: red(at) }),
};
