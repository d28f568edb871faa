// Ops of the 'linalg' family: matmul and linear (see docs/guides/adding-an-op.md).
import * as K from '../backend/kernel-names.js';
import { runComposite, runKernel } from '../engine.js';
import { DTypeError, ShapeError } from '../errors/index.js';
import { broadcastShapes, fmtShape, isContiguous } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, cast } from './elementwise.js';
import { reshape, transpose } from './movement.js';
import { assertTensor } from './util.js';

/** Options of {@link matmul}. */
export interface MatMulOptions {
  /** Use `a`'s last two dims transposed (ignored for a 1-D `a`). Default false. */
  readonly transposeA?: boolean;
  /** Use `b`'s last two dims transposed (ignored for a 1-D `b`). Default false. */
  readonly transposeB?: boolean;
}

const HALF = new Set(['float16', 'bfloat16']);

/**
 * The dtype rule of matmul and linear: both float and equal, or `first` float32 with a float16/bfloat16
 * `second` ("16-bit weights, f32 compute": the result is float32).
 */
function checkMixedFloat(first: Tensor, second: Tensor, op: string, names: readonly [string, string]): void {
  for (const [t, n] of [
    [first, names[0]],
    [second, names[1]],
  ] as const) {
    if (t.dtype !== 'float32' && !HALF.has(t.dtype)) {
      throw new DTypeError(`${op}: '${n}' has dtype ${t.dtype}, expected float32, float16 or bfloat16`);
    }
  }
  if (first.dtype === second.dtype || (first.dtype === 'float32' && HALF.has(second.dtype))) return;
  throw new DTypeError(
    `${op}: '${names[0]}' is ${first.dtype} but '${names[1]}' is ${second.dtype}; expected equal dtypes, or ` +
      `'${names[0]}' float32 with a float16/bfloat16 '${names[1]}'`,
  );
}

/**
 * When `t` is a transposed view of a dense matrix stack (last two dims swapped), returns the dense view and a
 * flipped transpose flag so the kernel reads it without a copy.
 */
function denseOperand(t: Tensor, trans: boolean): [Tensor, boolean] {
  const r = t.rank;
  if (r < 2 || t.offset !== 0 || t.storage.size !== t.size || isContiguous(t.shape, t.strides)) {
    return [t, trans];
  }
  const perm = t.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
  const shape = perm.map((p) => t.shape[p]!);
  const strides = perm.map((p) => t.strides[p]!);
  if (!isContiguous(shape, strides)) return [t, trans];
  return [transpose(t, perm), !trans];
}

/**
 * Matrix product with `torch.matmul` semantics: batched over leading dims with broadcasting; a 1-D `a` is a row
 * vector and a 1-D `b` a column vector (the added dim is removed from the result; 1-D · 1-D is a scalar).
 * `a` float32 with `b` float16/bfloat16 computes and returns float32. Transposed views are read without a copy.
 * @param a - `[..., M, K]` (or `[..., K, M]` with `transposeA`), or `[K]`
 * @param b - `[..., K, N]` (or `[..., N, K]` with `transposeB`), or `[K]`
 * @param opts - transposes of the last two dims
 * @returns `[...broadcast batch, M, N]`
 * @throws {ShapeError} when the inner dims differ, batch dims do not broadcast, or an operand is a scalar
 * @throws {DTypeError} on non-float or unsupported mixed dtypes
 * @example
 * ```ts
 * matmul(ones([2, 3]), ones([3, 4])).shape; // [2, 4]
 * matmul(ones([5, 2, 3]), ones([4, 3]), { transposeB: true }).shape; // [5, 2, 4]
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatMulOptions = {}): Tensor {
  assertTensor(a, 'a', 'matmul');
  assertTensor(b, 'b', 'matmul');
  checkMixedFloat(a, b, 'matmul', ['a', 'b']);
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      `matmul: operands must have rank >= 1, got 'a' ${fmtShape(a.shape)} and 'b' ${fmtShape(b.shape)}`,
    );
  }
  const vecA = a.rank === 1;
  const vecB = b.rank === 1;
  let tA = !vecA && opts.transposeA === true;
  let tB = !vecB && opts.transposeB === true;
  let a2 = vecA ? reshape(a, [1, a.shape[0]!]) : a;
  let b2 = vecB ? reshape(b, [b.shape[0]!, 1]) : b;
  const ka = a2.shape[a2.rank - (tA ? 2 : 1)]!;
  const kb = b2.shape[b2.rank - (tB ? 1 : 2)]!;
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dims differ: 'a' ${fmtShape(a.shape)}${tA ? 'ᵀ' : ''} has K=${ka} but 'b' ` +
        `${fmtShape(b.shape)}${tB ? 'ᵀ' : ''} has K=${kb}`,
    );
  }
  broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  [a2, tA] = denseOperand(a2, tA);
  [b2, tB] = denseOperand(b2, tB);
  const y = runKernel(K.MatMul, [a2, b2], { transposeA: tA, transposeB: tB })[0]!;
  if (vecA && vecB) return reshape(y, []);
  if (vecA) return reshape(y, [...y.shape.slice(0, -2), y.shape[y.rank - 1]!]);
  if (vecB) return reshape(y, y.shape.slice(0, -1));
  return y;
}

/**
 * Fully connected layer `x · wᵀ + bias` (`torch.nn.functional.linear`). Weights (and bias) may be float16 or
 * bfloat16 while `x` is float32: compute and output are then float32. A backend may run it as one fused kernel.
 * @param x - `[..., in]`
 * @param w - `[out, in]`
 * @param bias - `[out]` (optional)
 * @returns `[..., out]`
 * @throws {ShapeError} when `w` is not 2-D, `x`'s last dim differs from `in`, or `bias` is not `[out]`
 * @throws {DTypeError} on non-float or unsupported mixed dtypes
 * @example
 * ```ts
 * linear(ones([8, 16]), randn([4, 16]), zeros([4])).shape; // [8, 4]
 * ```
 */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null): Tensor {
  assertTensor(x, 'x', 'linear');
  assertTensor(w, 'w', 'linear');
  checkMixedFloat(x, w, 'linear', ['x', 'w']);
  if (w.rank !== 2) throw new ShapeError(`linear: 'w' shape ${fmtShape(w.shape)} must have rank 2 [out, in]`);
  if (x.rank === 0 || x.shape[x.rank - 1] !== w.shape[1]) {
    throw new ShapeError(
      `linear: 'x' shape ${fmtShape(x.shape)} must end with in=${w.shape[1]} to match 'w' ${fmtShape(w.shape)}`,
    );
  }
  const b = bias ?? null;
  if (b) {
    assertTensor(b, 'bias', 'linear');
    checkMixedFloat(x, b, 'linear', ['x', 'bias']);
    if (b.rank !== 1 || b.shape[0] !== w.shape[0]) {
      throw new ShapeError(`linear: 'bias' shape ${fmtShape(b.shape)} must be [${w.shape[0]}]`);
    }
  }
  return runComposite(K.Linear, [x, w, b], {}, ([xi, wi, bi]) => {
    const y = matmul(xi!, wi!, { transposeB: true });
    return [bi ? add(y, cast(bi, y.dtype)) : y];
  })[0]!;
}
