import {
  type FoldOptions,
  fold,
  type ResizeOptions,
  resize,
  type UnfoldOptions,
  unfold,
} from '../../ops/resize.js';
import type { Adapter } from './index.js';
import { nchwView } from './pool.js';

type A = Record<string, unknown>;

/** Adapters of the `resize` fixture family (resampling and patches). */
export const resizeAdapters: Record<string, Adapter> = {
  resize: ([x], a: A) => resize(nchwView(x!, a), a as ResizeOptions),
  unfold: ([x], a: A) => unfold(x!.rank === 4 ? nchwView(x!, a) : x!, a as unknown as UnfoldOptions),
  fold: ([x], a: A) => fold(x!, a as unknown as FoldOptions),
};
