import { transpose } from '../../ops/movement.js';
import {
  type AvgPool2DOptions,
  avgPool2d,
  globalAvgPool,
  globalMaxPool,
  type MaxPool2DOptions,
  maxPool2d,
} from '../../ops/pool.js';
import type { Tensor } from '../../tensor.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/**
 * Fixture inputs flagged `nhwc` are stored channels-last; the op gets a non-contiguous NCHW view.
 * @param x - the fixture input
 * @param a - the case attrs (`nhwc: true` to permute)
 * @returns `x` or its `[0, 3, 1, 2]` transposed view
 * @example
 * ```ts
 * nchwView(x, { nhwc: true }); // NHWC storage seen as NCHW
 * ```
 */
export function nchwView(x: Tensor, a: A): Tensor {
  return a.nhwc ? transpose(x, [0, 3, 1, 2]) : x;
}

/** Adapters of the `pool` fixture family. */
export const poolAdapters: Record<string, Adapter> = {
  maxPool2d: ([x], a: A) => maxPool2d(nchwView(x!, a), a as unknown as MaxPool2DOptions),
  avgPool2d: ([x], a: A) => avgPool2d(nchwView(x!, a), a as unknown as AvgPool2DOptions),
  globalAvgPool: ([x], a: A) => globalAvgPool(nchwView(x!, a)),
  globalMaxPool: ([x], a: A) => globalMaxPool(nchwView(x!, a)),
};
