import { linear, matmul } from '../../ops/linalg.js';
import { transpose } from '../../ops/movement.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/** Swaps the last two dims (a non-contiguous view). */
function swapLast(x: Parameters<typeof transpose>[0]) {
  const r = x.rank;
  return transpose(
    x,
    x.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i)),
  );
}

/** Adapters of the `linalg` fixture family. */
export const linalgAdapters: Record<string, Adapter> = {
  matmul: ([a, b], at: A) =>
    matmul(at.viewA ? swapLast(a!) : a!, b!, {
      transposeA: at.transposeA as boolean,
      transposeB: at.transposeB as boolean,
    }),
  linear: ([x, w, b]) => linear(x!, w!, b),
};
