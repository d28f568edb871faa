import { backward } from './autograd/backward.js';
import type { DType, TypedArray } from './dtype.js';
import { isFloat, toFloat32 } from './dtype.js';
import {
  assignTensor,
  type GradNode,
  nextTensorId,
  readAsync,
  readSync,
  type Storage,
  trackTensor,
} from './engine.js';
import { DTypeError } from './errors/index.js';
import { relu } from './ops/activation.js';
import { contiguous } from './ops/copy.js';
import {
  abs,
  add,
  type ClipOptions,
  cast,
  clip,
  div,
  exp,
  log,
  mul,
  neg,
  pow,
  sigmoid,
  sqrt,
  sub,
  tanh,
} from './ops/elementwise.js';
import { type MatMulOptions, matmul } from './ops/linalg.js';
import { expand, flatten, reshape, squeeze, transpose, unsqueeze } from './ops/movement.js';
import {
  type ArgReduceOptions,
  argMax,
  logSoftmax,
  max,
  mean,
  min,
  type ReduceOptions,
  softmax,
  sum,
} from './ops/reduce.js';
import type { TensorOrScalar } from './ops/util.js';
import type { QuantParams } from './quant.js';
import { fmtShape, sizeOf } from './shape.js';

/** Nested number arrays as returned by {@link Tensor.toArray}. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend. Create tensors with `tensor()`, `zeros()`, `randn()`…; compute with
 * the op functions (`add`, `conv2d`, …). Views (reshape, transpose, slice) share storage.
 *
 * @example
 * ```ts
 * const x = tensor([1, 2, 3, 4], [2, 2]);
 * x.shape; // [2, 2]
 * x.toArray(); // [[1, 2], [3, 4]]
 * ```
 */
export class Tensor {
  /** Unique id (creation order). */
  readonly id: number;
  /** Whether autograd tracks this tensor. Set on leaves with {@link Tensor.requiresGrad_}. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** Optional name (parameters carry their state-dict name). */
  name?: string;
  /** @internal */
  gradNode: GradNode | null = null;
  /** @internal */
  kept = false;
  private disposed = false;

  /** @internal */
  constructor(
    /** @internal */ public storage: Storage,
    /** Dims, outermost first. */ readonly shape: readonly number[],
    /** Element strides of this view into its storage. */ readonly strides: readonly number[],
    /** Element offset of this view into its storage. */ readonly offset: number,
    /** Element type. */ readonly dtype: DType,
    /** Quantization parameters (quantized tensors only). */ readonly quant?: QuantParams,
  ) {
    this.id = nextTensorId();
    storage.refs++;
    trackTensor(this);
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of dims. */
  get rank(): number {
    return this.shape.length;
  }

  /** Name of the backend holding the data. */
  get backend(): string {
    return this.storage.backend.name;
  }

  /** Whether {@link Tensor.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Values as a contiguous typed array in the storage dtype (float16/bfloat16 as raw bits). Works on every backend.
   * @returns a copy of the data
   */
  data(): Promise<TypedArray> {
    return readAsync(this);
  }

  /**
   * Synchronous {@link Tensor.data}, for backends that can read synchronously (CPU, WASM).
   * @returns a copy of the data
   */
  dataSync(): TypedArray {
    return readSync(this);
  }

  /**
   * Values decoded to float32 (16-bit floats decoded, integers converted), synchronously.
   * @returns a new Float32Array
   */
  toFloat32(): Float32Array {
    const v = this.dataSync();
    return this.dtype === 'float32' ? (v as Float32Array) : toFloat32(v, this.dtype);
  }

  /**
   * Values as nested arrays (16-bit floats decoded).
   * @returns nested arrays matching the shape, or a number for a scalar
   */
  toArray(): NestedArray {
    const flat = isFloat(this.dtype) ? this.toFloat32() : this.dataSync();
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.rank) return flat[off]!;
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }

  /**
   * The single value of a one-element tensor.
   * @returns the value
   * @throws {DTypeError} when the tensor has more than one element
   */
  item(): number {
    if (this.size !== 1)
      throw new DTypeError(
        `item: tensor has ${this.size} elements, expected 1 (shape ${fmtShape(this.shape)})`,
      );
    return isFloat(this.dtype) ? this.toFloat32()[0]! : this.dataSync()[0]!;
  }

  /**
   * Marks this (leaf) tensor as requiring gradients.
   * @param flag - on or off
   * @returns this tensor
   * @throws {DTypeError} for non-float tensors
   */
  requiresGrad_(flag = true): this {
    if (flag && !isFloat(this.dtype))
      throw new DTypeError(`requiresGrad_: dtype ${this.dtype} cannot require grad`);
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Reverse-mode autodiff from this tensor: accumulates `.grad` on every leaf that requires grad.
   * @param grad - upstream gradient (default: ones; required unless this is a scalar)
   * @param opts - `retainGraph` keeps the graph for another backward
   */
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    backward(this, grad, opts);
  }

  /**
   * Replaces this tensor's values with `src`'s, in place and outside autograd (optimizer steps, running
   * statistics). Views taken of this tensor before the call keep the old values.
   * @param src - same shape and dtype
   * @returns this tensor
   * @throws {ShapeError} on a shape mismatch
   * @throws {DTypeError} on a dtype mismatch
   */
  assign_(src: Tensor): this {
    assignTensor(this, src);
    return this;
  }

  /**
   * A tensor sharing this data but cut off from autograd.
   * @returns the detached view
   */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype, this.quant);
  }

  /** Releases this tensor's reference to its data (the data is freed when no view uses it). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.gradNode = null;
    this.storage.release();
  }

  /** `using` support: disposes the tensor. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ── Op delegates: one line each; the op functions are the documented API. ──────────────────────────────
  /** `add(this, b)` — see {@link add}. @param b - tensor or number @returns the sum */
  add(b: TensorOrScalar): Tensor {
    return add(this, b);
  }
  /** `sub(this, b)` — see {@link sub}. @param b - tensor or number @returns the difference */
  sub(b: TensorOrScalar): Tensor {
    return sub(this, b);
  }
  /** `mul(this, b)` — see {@link mul}. @param b - tensor or number @returns the product */
  mul(b: TensorOrScalar): Tensor {
    return mul(this, b);
  }
  /** `div(this, b)` — see {@link div}. @param b - tensor or number @returns the quotient */
  div(b: TensorOrScalar): Tensor {
    return div(this, b);
  }
  /** `pow(this, b)` — see {@link pow}. @param b - exponent @returns the power */
  pow(b: TensorOrScalar): Tensor {
    return pow(this, b);
  }
  /** `neg(this)`. @returns the negation */
  neg(): Tensor {
    return neg(this);
  }
  /** `abs(this)`. @returns the absolute value */
  abs(): Tensor {
    return abs(this);
  }
  /** `exp(this)`. @returns the exponential */
  exp(): Tensor {
    return exp(this);
  }
  /** `log(this)`. @returns the natural logarithm */
  log(): Tensor {
    return log(this);
  }
  /** `sqrt(this)`. @returns the square root */
  sqrt(): Tensor {
    return sqrt(this);
  }
  /** `tanh(this)`. @returns the hyperbolic tangent */
  tanh(): Tensor {
    return tanh(this);
  }
  /** `sigmoid(this)`. @returns the logistic function */
  sigmoid(): Tensor {
    return sigmoid(this);
  }
  /** `relu(this)`. @returns max(x, 0) */
  relu(): Tensor {
    return relu(this);
  }
  /** `clip(this, opts)`. @param opts - bounds @returns the clamped tensor */
  clip(opts: ClipOptions): Tensor {
    return clip(this, opts);
  }
  /** `cast(this, dtype)`. @param dtype - target dtype @returns the converted tensor */
  cast(dtype: DType): Tensor {
    return cast(this, dtype);
  }
  /** `sum(this, opts)`. @param opts - axes, keepDims @returns the sum */
  sum(opts?: ReduceOptions): Tensor {
    return sum(this, opts);
  }
  /** `mean(this, opts)`. @param opts - axes, keepDims @returns the mean */
  mean(opts?: ReduceOptions): Tensor {
    return mean(this, opts);
  }
  /** `max(this, opts)`. @param opts - axes, keepDims @returns the maximum */
  max(opts?: ReduceOptions): Tensor {
    return max(this, opts);
  }
  /** `min(this, opts)`. @param opts - axes, keepDims @returns the minimum */
  min(opts?: ReduceOptions): Tensor {
    return min(this, opts);
  }
  /** `argMax(this, opts)`. @param opts - axis, keepDims @returns int32 indices */
  argMax(opts?: ArgReduceOptions): Tensor {
    return argMax(this, opts);
  }
  /** `softmax(this, axis)`. @param axis - axis (default -1) @returns probabilities */
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
  /** `logSoftmax(this, axis)`. @param axis - axis (default -1) @returns log-probabilities */
  logSoftmax(axis = -1): Tensor {
    return logSoftmax(this, axis);
  }
  /** `matmul(this, b, opts)`. @param b - right operand @param opts - transposes @returns the product */
  matmul(b: Tensor, opts?: MatMulOptions): Tensor {
    return matmul(this, b, opts);
  }
  /** `reshape(this, shape)`. @param shape - new shape (one -1 allowed) @returns the reshaped tensor */
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }
  /** `transpose(this, perm)`. @param perm - permutation (default reversed) @returns the view */
  transpose(perm?: readonly number[]): Tensor {
    return transpose(this, perm);
  }
  /** `expand(this, shape)`. @param shape - broadcast target @returns the view */
  expand(shape: readonly number[]): Tensor {
    return expand(this, shape);
  }
  /** `flatten(this, startDim, endDim)`. @param startDim - first dim @param endDim - last dim @returns the flattened tensor */
  flatten(startDim = 0, endDim = -1): Tensor {
    return flatten(this, startDim, endDim);
  }
  /** `squeeze(this, axes)`. @param axes - size-1 axes (default all) @returns the view */
  squeeze(axes?: number | readonly number[]): Tensor {
    return squeeze(this, axes);
  }
  /** `unsqueeze(this, axis)`. @param axis - where to insert a size-1 dim @returns the view */
  unsqueeze(axis: number): Tensor {
    return unsqueeze(this, axis);
  }
  /** `contiguous(this)`. @returns a row-major tensor with the same values */
  contiguous(): Tensor {
    return contiguous(this);
  }

  /** Short description: `Tensor(float32, [2,3], cpu)`. */
  toString(): string {
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)}, ${this.backend})`;
  }
}
