import * as K from '../../backend/kernel-names.js';
import { fromStorage } from '../../creation.js';
import {
  flip,
  gather,
  narrow,
  pad,
  reshape,
  takeAlongAxis,
  transpose,
  unsqueeze,
} from '../../ops/movement.js';
import { gatherGrad, takeAlongAxisGrad } from '../../ops/movement-gather.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';
import { unbroadcast } from '../util.js';

/**
 * Gradient of a slice: `dy` placed back at `begin` with stride `steps` into zeros of `shape`. Strided dims
 * first interleave `step-1` zeros after every entry (a Pad on a new size-1 dim), then one constant Pad puts
 * everything in place (negative trailing pads crop the interleaved zeros past the end).
 */
function sliceGrad(dy: Tensor, shape: readonly number[], begin: readonly number[], steps: readonly number[]) {
  let g = dy;
  steps.forEach((s, d) => {
    const m = g.shape[d]!;
    if (s === 1 || m === 0) return;
    const pads = new Array<number>(2 * (g.rank + 1)).fill(0);
    pads[2 * (d + 1) + 1] = s - 1;
    const spread = pad(unsqueeze(g, d + 1), pads);
    const merged = [...g.shape];
    merged[d] = m * s;
    g = reshape(spread, merged);
  });
  return pad(
    g,
    shape.flatMap((n, d) => [begin[d]!, n - begin[d]! - g.shape[d]!]),
  );
}

/** The source index along one dim of each padded position (as the Pad kernel maps it). */
function padIndices(n: number, before: number, after: number, mode: 'reflect' | 'edge'): Tensor {
  const idx = new Int32Array(n + before + after);
  for (let o = 0; o < idx.length; o++) {
    const i = o - before;
    if (i >= 0 && i < n) idx[o] = i;
    else if (mode === 'edge') idx[o] = i < 0 ? 0 : n - 1;
    else idx[o] = i < 0 ? -i : 2 * (n - 1) - i;
  }
  return fromStorage(idx, [idx.length], 'int32');
}

/** @internal */
export function registerMovementGradients(): void {
  defineGradient(K.Reshape, ([dy], { inputs: [x] }) => [reshape(dy!, x!.shape)]);
  defineGradient(K.Transpose, ([dy], { attrs }) => {
    const perm = attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(dy!, inv)];
  });
  defineGradient(K.Expand, ([dy], { inputs: [x] }) => [unbroadcast(dy!, x!.shape)]);
  defineGradient(K.StridedCopy, ([dy]) => [dy!]);
  defineGradient(K.Slice, ([dy], { inputs: [x], attrs }) => [
    sliceGrad(dy!, x!.shape, attrs.begin as number[], attrs.steps as number[]),
  ]);
  defineGradient(K.Flip, ([dy], { attrs }) => [flip(dy!, attrs.axes as number[])]);
  defineGradient(K.Concat, ([dy], { inputs, attrs }) => {
    const axis = attrs.axis as number;
    let start = 0;
    return inputs.map((t) => {
      const len = t!.shape[axis]!;
      const g = narrow(dy!, axis, start, len);
      start += len;
      return g;
    });
  });
  defineGradient(K.Pad, ([dy], { inputs: [x], attrs }) => {
    const pads = attrs.pads as number[];
    const mode = attrs.mode as 'constant' | 'reflect' | 'edge';
    if (mode === 'constant')
      return [
        pad(
          dy!,
          pads.map((p) => -p),
        ),
      ];
    // reflect/edge: each padded dim is an index_select of the input, so its gradient is a scatter-add.
    let g = dy!;
    x!.shape.forEach((n, d) => {
      const before = pads[2 * d]!;
      const after = pads[2 * d + 1]!;
      if (before === 0 && after === 0) return;
      g = gatherGrad(g, padIndices(n, before, after, mode), d, n);
    });
    return [g];
  });
  defineGradient(K.Gather, ([dy], { inputs: [x, idx], attrs }) => {
    const axis = attrs.axis as number;
    return [gatherGrad(dy!, idx!, axis, x!.shape[axis]!), null];
  });
  defineGradient(K.GatherGrad, ([ddx], { inputs: [, idx], attrs }) => [
    gather(ddx!, idx!, attrs.axis as number),
    null,
  ]);
  defineGradient(K.GatherElements, ([dy], { inputs: [x, idx], attrs }) => [
    takeAlongAxisGrad(dy!, idx!, attrs.axis as number, x!.shape),
    null,
  ]);
  defineGradient(K.GatherElementsGrad, ([ddx], { inputs: [, idx], attrs }) => [
    takeAlongAxis(ddx!, idx!, attrs.axis as number),
    null,
  ]);
}
