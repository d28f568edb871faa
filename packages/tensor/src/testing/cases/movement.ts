import { contiguous } from '../../ops/copy.js';
import {
  chunk,
  concat,
  flatten,
  flip,
  gather,
  narrow,
  type PadMode,
  pad,
  slice,
  split,
  squeeze,
  stack,
  takeAlongAxis,
  tile,
  transpose,
  unsqueeze,
  unstack,
} from '../../ops/movement.js';
import type { Tensor } from '../../tensor.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/** Applies `attrs.inPerms` (one permutation or null per input) so ops see non-contiguous views. */
function pre(inputs: (Tensor | null)[], a: A): Tensor[] {
  const perms = (a.inPerms as (number[] | null)[] | undefined) ?? [];
  return inputs.map((t, i) => (perms[i] ? transpose(t!, perms[i]!) : t!));
}

const opt = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));

/** Adapters of the `movement` fixture family. */
export const movementAdapters: Record<string, Adapter> = {
  slice: (ins, a: A) =>
    slice(pre(ins, a)[0]!, a.begin as number[], opt<number[]>(a.end), opt<number[]>(a.steps)),
  narrow: (ins, a: A) => narrow(pre(ins, a)[0]!, a.axis as number, a.start as number, a.length as number),
  flip: (ins, a: A) => flip(pre(ins, a)[0]!, a.axes as number[]),
  squeeze: (ins, a: A) => squeeze(pre(ins, a)[0]!, opt<number[]>(a.axes)),
  unsqueeze: (ins, a: A) => unsqueeze(pre(ins, a)[0]!, a.axis as number),
  flatten: (ins, a: A) => flatten(pre(ins, a)[0]!, opt<number>(a.startDim), opt<number>(a.endDim)),
  concat: (ins, a: A) => concat(pre(ins, a), a.axis as number),
  stack: (ins, a: A) => stack(pre(ins, a), a.axis as number),
  split: (ins, a: A) =>
    split(pre(ins, a)[0]!, (a.sizes as number[] | undefined) ?? (a.count as number), a.axis as number),
  chunk: (ins, a: A) => chunk(pre(ins, a)[0]!, a.chunks as number, a.axis as number),
  unstack: (ins, a: A) => unstack(pre(ins, a)[0]!, a.axis as number),
  tile: (ins, a: A) => tile(pre(ins, a)[0]!, a.reps as number[]),
  pad: (ins, a: A) =>
    pad(pre(ins, a)[0]!, a.pads as number[], { mode: a.mode as PadMode, value: a.value as number }),
  gather: (ins, a: A) => {
    const [x, idx] = pre(ins, a);
    return gather(x!, idx!, a.axis as number);
  },
  takeAlongAxis: (ins, a: A) => {
    const [x, idx] = pre(ins, a);
    return takeAlongAxis(x!, idx!, a.axis as number);
  },
  contiguous: (ins, a: A) => {
    let x = pre(ins, a)[0]!;
    if (a.flip) x = flip(x, a.flip as number[]);
    const s = a.slice as { begin: number[]; end?: number[]; steps?: number[] } | undefined;
    if (s) x = slice(x, s.begin, s.end, s.steps);
    return contiguous(x);
  },
};
