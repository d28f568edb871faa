import { type Initializer, InvalidArgumentError, type QuantParams } from '@tinyvision/tensor';
import { roundHalfToEven } from '@tinyvision/tensor/internal';
import { histogramMse, RangeHistogram } from './histogram.js';

/** How weight ranges are chosen: the absolute maximum, or the clipping that minimises the squared error. */
export type WeightRangeMethod = 'minmax' | 'mse';

/** A symmetric quantization of a weight: integers and one scale per channel (or group). */
export interface SymmetricWeights {
  /** Integers in `[-qmax, qmax]`, same layout as the float data. */
  readonly q: Int8Array;
  /** One scale per channel (or per group); all positive. */
  readonly scale: number[];
}

const f = Math.fround;

/** float32 reciprocal-multiply quantization, as the QuantizeLinear kernel rounds (half to even). */
function quantizeValue(v: number, scale: number, qmax: number): number {
  const r = roundHalfToEven(f(v * f(1 / scale)));
  return Math.max(-qmax, Math.min(qmax, r));
}

/** The MSE-optimal symmetric clipping of one channel's absolute values (grid search over 100 fractions). */
function mseAbsMax(vals: Float64Array, qmax: number): number {
  let amax = 0;
  for (const v of vals) amax = Math.max(amax, Math.abs(v));
  if (amax === 0) return 0;
  const h = new RangeHistogram(256);
  h.add(vals);
  let best = amax;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let k = 100; k >= 20; k--) {
    const a = (amax * k) / 100;
    const e = histogramMse(h, -a, a, 2 * qmax);
    if (e < bestErr) {
      bestErr = e;
      best = a;
    }
  }
  return best;
}

/**
 * Symmetric per-channel (or per-tensor) quantization of float weights: `scale[c] = max|w_c| / qmax` (or an
 * MSE-optimal clip), integers `round_half_even(w / scale)` clamped to `[-qmax, qmax]` (zero point 0).
 * A channel of zeros gets scale 1.
 * @param data - float weights, row-major
 * @param shape - their shape
 * @param axis - channel axis, or undefined for one scale
 * @param opts - `qmax` (127 for int8, 7 for int4) and the range method
 * @returns the integers and scales
 * @throws {InvalidArgumentError} when the shape does not match the data or the axis is out of range
 * @example
 * ```ts
 * const { q, scale } = quantizeSymmetric(new Float32Array([0.5, -1, 2, 4]), [2, 2], 0);
 * // scale ≈ [1/127, 4/127]
 * ```
 */
export function quantizeSymmetric(
  data: ArrayLike<number>,
  shape: readonly number[],
  axis: number | undefined,
  opts: { readonly qmax?: number; readonly method?: WeightRangeMethod } = {},
): SymmetricWeights {
  const qmax = opts.qmax ?? 127;
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new InvalidArgumentError(
      `quantizeSymmetric: shape [${shape.join(', ')}] does not hold ${data.length} values`,
    );
  }
  if (axis !== undefined && (axis < 0 || axis >= shape.length)) {
    throw new InvalidArgumentError(
      `quantizeSymmetric: axis ${axis} out of range for shape [${shape.join(', ')}]`,
    );
  }
  const nch = axis === undefined ? 1 : shape[axis]!;
  const inner = axis === undefined ? size : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = size / Math.max(1, nch * inner);
  const scale: number[] = [];
  const q = new Int8Array(size);
  for (let c = 0; c < nch; c++) {
    const vals = new Float64Array(outer * inner);
    let k = 0;
    for (let o = 0; o < outer; o++) {
      const base = (o * nch + c) * inner;
      for (let i = 0; i < inner; i++) vals[k++] = data[base + i]!;
    }
    let amax = 0;
    if (opts.method === 'mse') amax = mseAbsMax(vals, qmax);
    else for (const v of vals) amax = Math.max(amax, Math.abs(v));
    const s = amax > 0 ? Math.max(f(amax / qmax), 2 ** -23) : 1;
    scale.push(s);
    for (let o = 0; o < outer; o++) {
      const base = (o * nch + c) * inner;
      for (let i = 0; i < inner; i++) q[base + i] = quantizeValue(data[base + i]!, s, qmax);
    }
  }
  return { q, scale };
}

/**
 * An int8 weight initializer with symmetric parameters (the form of decision 0003).
 * @param name - the new initializer's name
 * @param w - the float weight initializer
 * @param axis - channel axis (0 for OIHW and `[out, in]`, 1 for MatMul `[K, N]`), or undefined for per-tensor
 * @param method - range method
 * @returns the int8 initializer
 * @internal
 */
export function int8Weight(
  name: string,
  w: Initializer,
  axis: number | undefined,
  method: WeightRangeMethod = 'minmax',
): Initializer {
  const { q, scale } = quantizeSymmetric(w.data as ArrayLike<number>, w.shape, axis, { qmax: 127, method });
  const quant: QuantParams =
    axis === undefined ? { scale, zeroPoint: [0] } : { scale, zeroPoint: scale.map(() => 0), axis };
  return { name, dtype: 'int8', shape: [...w.shape], data: q, quant };
}

/**
 * An int32 bias initializer with `scale[c] = inputScale × weightScale[c]`, zero point 0.
 * @param name - the new initializer's name
 * @param b - the float bias `[C]`
 * @param inputScale - the activation scale of the op's input
 * @param weightScale - per-channel (length C) or per-tensor (length 1) weight scales
 * @returns the int32 initializer (per-channel on axis 0, or per-tensor when the weight is)
 * @internal
 */
export function int32Bias(
  name: string,
  b: Initializer,
  inputScale: number,
  weightScale: readonly number[],
): Initializer {
  const n = b.shape[0] ?? 1;
  const perTensor = weightScale.length === 1 && n !== 1;
  const scales = Array.from({ length: perTensor ? 1 : n }, (_, c) => f(inputScale * weightScale[c]!));
  const data = new Int32Array(n);
  const src = b.data as ArrayLike<number>;
  for (let c = 0; c < n; c++) {
    const s = scales[perTensor ? 0 : c]!;
    const r = roundHalfToEven(src[c]! / s);
    data[c] = Math.max(-2147483648, Math.min(2147483647, r));
  }
  const quant: QuantParams = perTensor
    ? { scale: scales, zeroPoint: [0] }
    : { scale: scales, zeroPoint: scales.map(() => 0), axis: 0 };
  return { name, dtype: 'int32', shape: [n], data, quant };
}
