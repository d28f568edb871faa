import { allocStorage, type DType, fromFloat32, isFloat, type TypedArray } from './dtype.js';
import { makeTensor } from './engine.js';
import { DTypeError, ShapeError } from './errors/index.js';
import type { QuantParams } from './quant.js';
import { defaultRng, type Rng } from './random.js';
import { checkShape, fmtShape, sizeOf } from './shape.js';
import type { Tensor } from './tensor.js';

/** Nested number arrays accepted by {@link tensor}. */
export type TensorLike = number | boolean | readonly TensorLike[] | TypedArray;

function inferShape(v: TensorLike): number[] {
  const shape: number[] = [];
  let cur: TensorLike = v;
  while (typeof cur !== 'number' && typeof cur !== 'boolean') {
    shape.push(cur.length);
    if (cur.length === 0 || ArrayBuffer.isView(cur)) break;
    cur = (cur as readonly TensorLike[])[0]!;
  }
  return shape;
}

function flatten(v: TensorLike, out: number[]): void {
  if (typeof v === 'number') out.push(v);
  else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  else if (ArrayBuffer.isView(v))
    for (let i = 0; i < (v as ArrayLike<number>).length; i++) out.push((v as ArrayLike<number>)[i]!);
  else for (const x of v) flatten(x, out);
}

/**
 * Creates a tensor from numbers, nested arrays or a typed array.
 * A Uint16Array given with dtype float16/bfloat16 is taken as raw bits; numbers are converted (RNE).
 * @param values - data
 * @param shape - shape (inferred from nesting when omitted)
 * @param dtype - element type (default float32; bool for boolean input)
 * @param quant - quantization parameters for quantized dtypes
 * @returns the new tensor on the active backend
 * @throws {ShapeError} when the data length does not match the shape
 * @example
 * ```ts
 * const x = tensor([[1, 2], [3, 4]]);
 * const h = tensor([1, 2], [2], 'float16');
 * ```
 */
export function tensor(
  values: TensorLike,
  shape?: readonly number[],
  dtype?: DType,
  quant?: QuantParams,
): Tensor {
  const dt: DType = dtype ?? (typeof values === 'boolean' ? 'bool' : 'float32');
  const sh = shape ? checkShape(shape, 'tensor') : inferShape(values);
  let data: TypedArray;
  if (ArrayBuffer.isView(values) && values.constructor === allocStorage(dt, 0).constructor) {
    data = (values as TypedArray).slice();
  } else {
    const flat: number[] = [];
    flatten(values, flat);
    data = isFloat(dt) || dt === 'bool' ? fromFloat32(flat, dt) : allocStorage(dt, flat.length);
    if (!isFloat(dt) && dt !== 'bool') (data as Int32Array).set(flat.map(Math.trunc));
  }
  if (data.length !== sizeOf(sh)) {
    throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmtShape(sh)}`);
  }
  return makeTensor(data, sh, dt, quant);
}

/**
 * A tensor filled with `value`.
 * @param shape - shape
 * @param value - fill value
 * @param dtype - element type (default float32)
 * @returns the new tensor
 * @example
 * ```ts
 * full([2, 2], 7);
 * ```
 */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  const sh = checkShape(shape, 'full');
  const data = fromFloat32([value], dtype);
  const out = allocStorage(dtype, sizeOf(sh));
  out.fill(data[0]!);
  return makeTensor(out, sh, dtype);
}

/**
 * A tensor of zeros.
 * @param shape - shape
 * @param dtype - element type (default float32)
 * @returns the new tensor
 * @example
 * ```ts
 * zeros([3]);
 * ```
 */
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

/**
 * A tensor of ones.
 * @param shape - shape
 * @param dtype - element type (default float32)
 * @returns the new tensor
 * @example
 * ```ts
 * ones([2, 3]);
 * ```
 */
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

/**
 * `[start, start+step, …)` up to `end` (exclusive), like `torch.arange`.
 * @param start - first value
 * @param end - exclusive bound
 * @param step - increment (non-zero)
 * @param dtype - element type (default int32 when all arguments are integers, else float32)
 * @returns a 1-D tensor
 * @throws {DTypeError} when step is 0
 * @example
 * ```ts
 * arange(0, 5); // [0,1,2,3,4] int32
 * ```
 */
export function arange(start: number, end: number, step = 1, dtype?: DType): Tensor {
  if (step === 0 || !Number.isFinite(step))
    throw new DTypeError('arange: step must be a non-zero finite number');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dt = dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const vals = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(vals, [n], dt);
}

/**
 * Uniform samples in `[low, high)`.
 * @param shape - shape
 * @param opts - `low`, `high`, `dtype`, and an `rng` (default: the global generator)
 * @returns a float tensor
 * @example
 * ```ts
 * rand([2, 2], { low: -1, high: 1 });
 * ```
 */
export function rand(
  shape: readonly number[],
  opts: { low?: number; high?: number; dtype?: DType; rng?: Rng } = {},
): Tensor {
  const { low = 0, high = 1, dtype = 'float32', rng = defaultRng() } = opts;
  const n = sizeOf(checkShape(shape, 'rand'));
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = low + (high - low) * rng.next();
  return makeTensor(fromFloat32(v, dtype), shape, dtype);
}

/**
 * Normal samples with mean `mean` and standard deviation `std`.
 * @param shape - shape
 * @param opts - `mean`, `std`, `dtype`, and an `rng` (default: the global generator)
 * @returns a float tensor
 * @example
 * ```ts
 * randn([3, 3], { std: 0.02 });
 * ```
 */
export function randn(
  shape: readonly number[],
  opts: { mean?: number; std?: number; dtype?: DType; rng?: Rng } = {},
): Tensor {
  const { mean = 0, std = 1, dtype = 'float32', rng = defaultRng() } = opts;
  const n = sizeOf(checkShape(shape, 'randn'));
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = mean + std * rng.normal();
  return makeTensor(fromFloat32(v, dtype), shape, dtype);
}

/**
 * Wraps host storage as a tensor without conversion (the array is copied by the backend).
 * @param values - storage matching `dtype` (raw bits for 16-bit floats)
 * @param shape - shape
 * @param dtype - element type
 * @param quant - quantization parameters
 * @returns the new tensor
 * @throws {ShapeError} when sizes differ
 * @example
 * ```ts
 * fromStorage(new Int8Array([1, -1]), [2], 'int8', quantParams(0.1));
 * ```
 */
export function fromStorage(
  values: TypedArray,
  shape: readonly number[],
  dtype: DType,
  quant?: QuantParams,
): Tensor {
  if (values.length !== sizeOf(shape)) {
    throw new ShapeError(`fromStorage: ${values.length} values do not fill shape ${fmtShape(shape)}`);
  }
  const expected = allocStorage(dtype, 0).constructor;
  if (values.constructor !== expected) {
    throw new DTypeError(
      `fromStorage: ${values.constructor.name} cannot hold ${dtype}, expected ${expected.name}`,
    );
  }
  return makeTensor(values, checkShape(shape, 'fromStorage'), dtype, quant);
}
