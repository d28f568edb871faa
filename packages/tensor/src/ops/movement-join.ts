import * as K from '../backend/kernel-names.js';
import { runComposite, runKernel } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape, normalizeAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { expand, narrow, reshape, squeeze, unsqueeze } from './movement.js';
import { assertTensor } from './util.js';

function checkList(tensors: readonly Tensor[], op: string): void {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new InvalidArgumentError(`${op}: 'tensors' must be a non-empty array of tensors`);
  }
  tensors.forEach((t, i) => assertTensor(t, `tensors[${i}]`, op));
  const t0 = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.dtype !== t0.dtype) {
      throw new DTypeError(
        `${op}: 'tensors[${i}]' is ${t.dtype} but 'tensors[0]' is ${t0.dtype}; cast first`,
      );
    }
  });
}

/**
 * Joins tensors along an existing dim (torch.cat). All dims but `axis` must match.
 * @param tensors - one or more tensors of one dtype and rank
 * @param axis - the dim to join on (negative counts from the end; default 0)
 * @returns a new contiguous tensor
 * @throws {ShapeError} when ranks or the non-joined dims differ, or the axis is out of range
 * @throws {DTypeError} when dtypes differ
 * @throws {InvalidArgumentError} when `tensors` is empty
 * @example
 * ```ts
 * concat([zeros([2, 3]), ones([2, 1])], -1).shape; // [2, 4]
 * ```
 */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  checkList(tensors, 'concat');
  const t0 = tensors[0]!;
  const a = normalizeAxis(axis, t0.rank, 'concat');
  tensors.forEach((t, i) => {
    if (t.rank !== t0.rank || t.shape.some((d, k) => k !== a && d !== t0.shape[k])) {
      throw new ShapeError(
        `concat: 'tensors[${i}]' shape ${fmtShape(t.shape)} does not match 'tensors[0]' ${fmtShape(t0.shape)} outside axis ${a}`,
      );
    }
  });
  return runKernel(K.Concat, tensors, { axis: a })[0]!;
}

/**
 * Joins equal-shaped tensors along a new dim (torch.stack).
 * @param tensors - one or more tensors of one shape and dtype
 * @param axis - position of the new dim in the output, in `[-(rank+1), rank]` (default 0)
 * @returns a new contiguous tensor
 * @throws {ShapeError} when shapes differ or the axis is out of range
 * @throws {DTypeError} when dtypes differ
 * @example
 * ```ts
 * stack([zeros([2]), ones([2])], 1).shape; // [2, 2]
 * ```
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  checkList(tensors, 'stack');
  const t0 = tensors[0]!;
  const a = normalizeAxis(axis, t0.rank + 1, 'stack');
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, t0.shape)) {
      throw new ShapeError(
        `stack: 'tensors[${i}]' shape ${fmtShape(t.shape)} differs from 'tensors[0]' ${fmtShape(t0.shape)}`,
      );
    }
  });
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/**
 * Splits into views along `axis`. A number is the count of equal parts (it must divide the dim, as in
 * ONNX/TF); an array gives each part's size (they must sum to the dim). Note: torch.split's integer
 * argument is a part *size*; use {@link chunk} for torch.chunk.
 * @param x - input
 * @param sizesOrCount - number of equal parts, or the size of each part
 * @param axis - the dim to split (default 0)
 * @returns views of `x`, in order
 * @throws {ShapeError} when the parts do not tile the dim or the axis is out of range
 * @example
 * ```ts
 * split(zeros([6, 2]), [1, 2, 3]).map((t) => t.shape[0]); // [1, 2, 3]
 * ```
 */
export function split(x: Tensor, sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
  assertTensor(x, 'x', 'split');
  const a = normalizeAxis(axis, x.rank, 'split');
  const n = x.shape[a]!;
  let sizes: number[];
  if (typeof sizesOrCount === 'number') {
    const c = sizesOrCount;
    if (!Number.isInteger(c) || c < 1 || n % c !== 0) {
      throw new ShapeError(
        `split: count ${c} does not divide axis ${a} of size ${n} (shape ${fmtShape(x.shape)})`,
      );
    }
    sizes = new Array<number>(c).fill(n / c);
  } else {
    sizes = [...sizesOrCount];
    const total = sizes.reduce((s, v) => s + v, 0);
    if (sizes.some((v) => !Number.isInteger(v) || v < 0) || total !== n) {
      throw new ShapeError(
        `split: sizes [${sizes.join(',')}] must be non-negative integers summing to axis ${a} of size ${n} (shape ${fmtShape(x.shape)})`,
      );
    }
  }
  let start = 0;
  return sizes.map((len) => {
    const part = narrow(x, a, start, len);
    start += len;
    return part;
  });
}

/**
 * Splits into `chunks` views of size `ceil(n / chunks)` along `axis`, the last possibly smaller
 * (torch.chunk: may return fewer than `chunks` parts).
 * @param x - input
 * @param chunks - the wanted number of parts (≥ 1)
 * @param axis - the dim to split (default 0)
 * @returns views of `x`, in order
 * @throws {InvalidArgumentError} when `chunks` is not a positive integer
 * @throws {ShapeError} when the axis is out of range
 * @example
 * ```ts
 * chunk(zeros([5]), 2).map((t) => t.shape[0]); // [3, 2]
 * ```
 */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  assertTensor(x, 'x', 'chunk');
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new InvalidArgumentError(`chunk: 'chunks' must be a positive integer, got ${chunks}`);
  }
  const a = normalizeAxis(axis, x.rank, 'chunk');
  const n = x.shape[a]!;
  if (n === 0) return new Array(chunks).fill(0).map(() => narrow(x, a, 0, 0));
  const size = Math.ceil(n / chunks);
  const out: Tensor[] = [];
  for (let s = 0; s < n; s += size) out.push(narrow(x, a, s, Math.min(size, n - s)));
  return out;
}

/**
 * Splits along `axis` into its entries, removing that dim (torch.unbind), as views.
 * @param x - input
 * @param axis - the dim to remove (default 0)
 * @returns `x.shape[axis]` views
 * @throws {ShapeError} when the axis is out of range
 * @example
 * ```ts
 * unstack(zeros([3, 2])).length; // 3
 * ```
 */
export function unstack(x: Tensor, axis = 0): Tensor[] {
  assertTensor(x, 'x', 'unstack');
  const a = normalizeAxis(axis, x.rank, 'unstack');
  return Array.from({ length: x.shape[a]! }, (_, i) => squeeze(narrow(x, a, i, 1), a));
}

/**
 * Repeats the whole tensor `reps[d]` times along each dim (torch `Tensor.repeat`, numpy/ONNX tile).
 * With more reps than dims, leading size-1 dims are added (torch); with fewer, leading reps are 1 (numpy).
 * @param x - input
 * @param reps - non-negative repetitions per dim
 * @returns a new tensor of shape `reps[d]·shape[d]`
 * @throws {InvalidArgumentError} when a repetition is not a non-negative integer
 * @example
 * ```ts
 * tile(tensor([1, 2]), [2, 2]).toArray(); // [[1, 2, 1, 2], [1, 2, 1, 2]]
 * ```
 */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  assertTensor(x, 'x', 'tile');
  if (!Array.isArray(reps) || reps.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new InvalidArgumentError(`tile: 'reps' must be non-negative integers, got ${JSON.stringify(reps)}`);
  }
  const r = Math.max(x.rank, reps.length);
  const dims = [...new Array<number>(r - x.rank).fill(1), ...x.shape];
  const rs = [...new Array<number>(r - reps.length).fill(1), ...reps];
  return runComposite(K.Tile, [x], { reps: rs }, ([t]) => {
    const inter = reshape(
      t!,
      dims.flatMap((d) => [1, d]),
    );
    const big = expand(
      inter,
      dims.flatMap((d, i) => [rs[i]!, d]),
    );
    return [
      reshape(
        big,
        dims.map((d, i) => d * rs[i]!),
      ),
    ];
  })[0]!;
}
