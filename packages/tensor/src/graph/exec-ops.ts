import type { Attrs } from '../backend/backend-spec-v1.js';
import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { fusedConv2d } from '../ops/conv.js';
import { greaterEqual, lessEqual, notEqual } from '../ops/elementwise.js';
import { linear } from '../ops/linalg.js';
import { expand, flip, reshape, slice, transpose } from '../ops/movement.js';
import { tile } from '../ops/movement-join.js';
import { batchNorm, groupNorm, layerNorm } from '../ops/norm.js';
import { globalAvgPool, globalMaxPool } from '../ops/pool.js';
import { logSumExp, variance } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

/** Runs one node's op on tensors (inputs null for omitted optional inputs). */
export type NodeExecutor = (inputs: readonly (Tensor | null)[], attrs: Attrs) => Tensor[];

type A = Record<string, unknown>;
const nums = (v: unknown) => v as number[];
const one = (t: Tensor): Tensor[] => [t];

/** Resolves `-1` entries of a graph shape attr against the runtime input (same position, right-aligned). */
function resolveDims(shape: readonly number[], x: Tensor): number[] {
  const off = shape.length - x.rank;
  return shape.map((d, i) => (d === -1 ? x.shape[i - off]! : d));
}

/**
 * Executors of the views and composites (called through their op functions so backends' fused kernels and
 * the composite implementations are used); every other op runs through `runKernel` with the node's attrs.
 */
const EXECUTORS: Readonly<Record<string, NodeExecutor>> = {
  [K.Reshape]: ([x], a) => one(reshape(x!, nums((a as A).shape))),
  [K.Transpose]: ([x], a) => one(transpose(x!, nums((a as A).perm))),
  [K.Expand]: ([x], a) => one(expand(x!, resolveDims(nums((a as A).shape), x!))),
  [K.Slice]: ([x], a) => one(slice(x!, nums(a.begin), nums(a.end), nums(a.steps))),
  [K.Flip]: ([x], a) => one(flip(x!, nums(a.axes))),
  [K.StridedCopy]: ([x], a) =>
    runKernel(K.StridedCopy, [x!], { ...a, shape: resolveDims(nums(a.shape), x!) }),
  [K.Tile]: ([x], a) => one(tile(x!, nums(a.reps))),
  [K.GreaterEqual]: ([x, y]) => one(greaterEqual(x!, y!)),
  [K.LessEqual]: ([x, y]) => one(lessEqual(x!, y!)),
  [K.NotEqual]: ([x, y]) => one(notEqual(x!, y!)),
  [K.LogSumExp]: ([x], a) => one(logSumExp(x!, { axes: nums(a.axes), keepDims: a.keepDims as boolean })),
  [K.Variance]: ([x], a) =>
    one(
      variance(x!, {
        axes: nums(a.axes),
        keepDims: a.keepDims as boolean,
        correction: a.correction as number,
      }),
    ),
  [K.Linear]: ([x, w, b]) => one(linear(x!, w!, b ?? null)),
  [K.FusedConv2D]: ([x, w, b], a) =>
    one(
      fusedConv2d(x!, w!, b ?? null, {
        stride: nums(a.strides) as [number, number],
        padding: nums(a.pads) as [number, number, number, number],
        dilation: nums(a.dilations) as [number, number],
        groups: a.groups as number,
        activation: a.activation as K.Activation,
      }),
    ),
  [K.BatchNorm]: ([x, mean, v, g, b], a) =>
    one(
      batchNorm(x!, {
        runningMean: mean,
        runningVar: v,
        weight: g ?? null,
        bias: b ?? null,
        eps: a.epsilon as number,
      }),
    ),
  [K.LayerNorm]: ([x, g, b], a) =>
    one(
      layerNorm(x!, x!.shape.slice(x!.rank - (a.normalizedDims as number)), {
        weight: g ?? null,
        bias: b ?? null,
        eps: a.epsilon as number,
      }),
    ),
  [K.GroupNorm]: ([x, g, b], a) =>
    one(
      groupNorm(x!, a.numGroups as number, { weight: g ?? null, bias: b ?? null, eps: a.epsilon as number }),
    ),
  [K.GlobalAvgPool]: ([x]) => one(globalAvgPool(x!)),
  [K.GlobalMaxPool]: ([x]) => one(globalMaxPool(x!)),
};

/**
 * Whether the executor runs `op` through an op function (views and composites) rather than `runKernel`.
 * @param op - kernel name
 * @returns true for views and composites
 * @internal
 */
export function hasExecutor(op: string): boolean {
  return Object.hasOwn(EXECUTORS, op);
}

/**
 * Runs one graph node on the active backend.
 * @param op - kernel name
 * @param inputs - input tensors (null for omitted optional inputs)
 * @param attrs - node attributes
 * @returns the output tensors
 * @throws {KernelNotFoundError} when no backend (nor the CPU reference) implements a kernel op
 * @internal
 */
export function execNode(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs): Tensor[] {
  const ex = Object.hasOwn(EXECUTORS, op) ? EXECUTORS[op] : undefined;
  return ex ? ex(inputs, attrs) : runKernel(op, inputs, attrs);
}
