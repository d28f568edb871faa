import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { DTypeError, ShapeError } from '../errors/index.js';
import { fmtShape, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from './util.js';

function checkIndices(indices: Tensor, op: string): void {
  assertTensor(indices, 'indices', op);
  if (indices.dtype !== 'int32') {
    throw new DTypeError(`${op}: 'indices' has dtype ${indices.dtype}, expected int32`);
  }
}

/**
 * Selects entries of `x` along `axis` by index (torch.index_select for 1-D indices; ONNX Gather for any
 * rank). Repeated indices are allowed; their gradients accumulate.
 * @param x - input (any dtype, rank ≥ 1)
 * @param indices - int32 indices in `[0, x.shape[axis])`, any shape
 * @param axis - the dim to index (negative counts from the end; default 0)
 * @returns tensor of shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`
 * @throws {DTypeError} when `indices` is not int32
 * @throws {ShapeError} when the axis is out of range
 * @throws {InvalidArgumentError} when an index is out of range (checked by the kernel)
 * @example
 * ```ts
 * gather(tensor([[1, 2], [3, 4]]), tensor([1, 1, 0], [3], 'int32')).toArray(); // [[3, 4], [3, 4], [1, 2]]
 * ```
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  assertTensor(x, 'x', 'gather');
  checkIndices(indices, 'gather');
  if (x.rank === 0) throw new ShapeError(`gather: 'x' must have rank ≥ 1, got shape ${fmtShape(x.shape)}`);
  const a = normalizeAxis(axis, x.rank, 'gather');
  return runKernel(K.Gather, [x, indices], { axis: a })[0]!;
}

/**
 * Picks one entry along `axis` for every index: `out[i][j][k] = x[i][indices[i][j][k]][k]` for axis 1
 * (torch.gather, ONNX GatherElements). Useful for per-sample losses and selecting top-k results.
 * @param x - input (any dtype)
 * @param indices - int32 of `x`'s rank, `indices.shape[d] <= x.shape[d]` for `d != axis`
 * @param axis - the dim to index (negative counts from the end)
 * @returns tensor of the indices' shape
 * @throws {DTypeError} when `indices` is not int32
 * @throws {ShapeError} when ranks differ, an index dim is too large, or the axis is out of range
 * @throws {InvalidArgumentError} when an index is out of range (checked by the kernel)
 * @example
 * ```ts
 * const logp = tensor([[0.1, 0.9], [0.8, 0.2]]);
 * takeAlongAxis(logp, tensor([[1], [0]], [2, 1], 'int32'), 1).toArray(); // [[0.9], [0.8]]
 * ```
 */
export function takeAlongAxis(x: Tensor, indices: Tensor, axis: number): Tensor {
  assertTensor(x, 'x', 'takeAlongAxis');
  checkIndices(indices, 'takeAlongAxis');
  const a = normalizeAxis(axis, x.rank, 'takeAlongAxis');
  if (indices.rank !== x.rank || indices.shape.some((d, k) => k !== a && d > x.shape[k]!)) {
    throw new ShapeError(
      `takeAlongAxis: 'indices' shape ${fmtShape(indices.shape)} must have the rank of 'x' ${fmtShape(x.shape)} and no larger dims outside axis ${a}`,
    );
  }
  return runKernel(K.GatherElements, [x, indices], { axis: a })[0]!;
}

/**
 * Scatter-add of `dy` along `axis` into a dim of length `size` (the gradient of {@link gather}).
 * @internal
 */
export function gatherGrad(dy: Tensor, indices: Tensor, axis: number, size: number): Tensor {
  return runKernel(K.GatherGrad, [dy, indices], { axis, size })[0]!;
}

/**
 * Scatter-add of `dy` into zeros of `shape` (the gradient of {@link takeAlongAxis}).
 * @internal
 */
export function takeAlongAxisGrad(
  dy: Tensor,
  indices: Tensor,
  axis: number,
  shape: readonly number[],
): Tensor {
  return runKernel(K.GatherElementsGrad, [dy, indices], { axis, shape: [...shape] })[0]!;
}
