import type { Activation } from '../../backend/kernel-names.js';
import { type Conv2DPadding, conv2d, convTranspose2d, fusedConv2d } from '../../ops/conv.js';
import { transpose } from '../../ops/movement.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;
type Pair = [number, number];

function convOpts(a: A) {
  return {
    stride: a.stride as Pair,
    padding: a.padding as Conv2DPadding,
    dilation: a.dilation as Pair,
    groups: a.groups as number,
  };
}

/** Adapters of the `conv` fixture family (`xView`: x is stored NHWC and passed as a non-contiguous NCHW view). */
export const convAdapters: Record<string, Adapter> = {
  conv2d: ([x, w, b], a: A) => conv2d(a.xView ? transpose(x!, [0, 3, 1, 2]) : x!, w!, b, convOpts(a)),
  fusedConv2d: ([x, w, b], a: A) =>
    fusedConv2d(a.xView ? transpose(x!, [0, 3, 1, 2]) : x!, w!, b, {
      ...convOpts(a),
      activation: a.activation as Activation,
    }),
  convTranspose2d: ([x, w, b], a: A) =>
    convTranspose2d(x!, w!, b, {
      stride: a.stride as Pair,
      padding: a.padding as number | Pair | [number, number, number, number],
      outputPadding: a.outputPadding as Pair,
      dilation: a.dilation as Pair,
      groups: a.groups as number,
    }),
};
