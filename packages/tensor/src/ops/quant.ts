import * as K from '../backend/kernel-names.js';
import { runKernel } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { type QuantDType, type QuantParams, qRange } from '../quant.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { assertFloat, assertTensor, pair } from './util.js';

const QDTYPES: readonly string[] = ['int8', 'uint8', 'int32'];

/** Validates quantization parameters against a tensor shape and integer range; resolves a negative axis. */
function resolveQuant(
  p: QuantParams | undefined,
  shape: readonly number[],
  range: readonly [number, number],
  op: string,
  arg: string,
): QuantParams {
  if (!p || !Array.isArray(p.scale) || !Array.isArray(p.zeroPoint)) {
    throw new InvalidArgumentError(`${op}: '${arg}' needs quantization parameters {scale, zeroPoint, axis?}`);
  }
  const { scale, zeroPoint } = p;
  if (scale.length === 0 || scale.length !== zeroPoint.length) {
    throw new InvalidArgumentError(
      `${op}: '${arg}' has ${scale.length} scales and ${zeroPoint.length} zero points, expected equal non-zero counts`,
    );
  }
  for (const s of scale) {
    if (!(s > 0) || !Number.isFinite(s))
      throw new InvalidArgumentError(`${op}: '${arg}' scale must be positive and finite, got ${s}`);
  }
  for (const z of zeroPoint) {
    if (!Number.isInteger(z) || z < range[0] || z > range[1]) {
      throw new InvalidArgumentError(
        `${op}: '${arg}' zero point ${z} must be an integer in [${range[0]}, ${range[1]}]`,
      );
    }
  }
  if (p.axis === undefined) {
    if (scale.length !== 1) {
      throw new InvalidArgumentError(`${op}: '${arg}' has ${scale.length} scales but no channel axis`);
    }
    return { scale: [...scale], zeroPoint: [...zeroPoint] };
  }
  const rank = shape.length;
  if (!Number.isInteger(p.axis) || p.axis < -rank || p.axis >= rank) {
    throw new InvalidArgumentError(
      `${op}: '${arg}' axis ${p.axis} is out of range for shape ${fmtShape(shape)}`,
    );
  }
  const axis = p.axis < 0 ? p.axis + rank : p.axis;
  if (scale.length !== shape[axis]) {
    throw new ShapeError(
      `${op}: '${arg}' has ${scale.length} scales but dim ${axis} of shape ${fmtShape(shape)} is ${shape[axis]}`,
    );
  }
  return { scale: [...scale], zeroPoint: [...zeroPoint], axis };
}

function assertQDType(dtype: unknown, op: string, arg: string): QuantDType {
  if (typeof dtype !== 'string' || !QDTYPES.includes(dtype)) {
    throw new DTypeError(`${op}: '${arg}' dtype ${String(dtype)} must be one of int8, uint8, int32`);
  }
  return dtype as QuantDType;
}

/**
 * The same data viewed with (other) quantization parameters, e.g. to mark raw int8 weights as quantized.
 * @param x - an int8, uint8 or int32 tensor
 * @param params - per-tensor or per-channel parameters (zero points in the dtype's range)
 * @returns a tensor sharing `x`'s data and carrying `params`
 * @throws {DTypeError} when `x` is not an integer tensor
 * @throws {ShapeError} when the scale count differs from the channel dim
 * @example
 * ```ts
 * const w = withQuant(tensor([1, -2, 3], [3], 'int8'), quantParams(0.02));
 * ```
 */
export function withQuant(x: Tensor, params: QuantParams): Tensor {
  assertTensor(x, 'x', 'withQuant');
  const dtype = assertQDType(x.dtype, 'withQuant', 'x');
  const p = resolveQuant(params, x.shape, qRange(dtype), 'withQuant', 'params');
  return new Tensor(x.storage, x.shape, x.strides, x.offset, x.dtype, p);
}

/**
 * Affine quantization `q = clamp(round_half_even(x · (1/scale)) + zeroPoint)`, per-tensor or per-channel, with
 * PyTorch's float32 arithmetic (`torch.quantize_per_tensor` / `quantize_per_channel`: `x` times the float32
 * reciprocal of the float32 scale). Out-of-range values (and ±Inf) saturate; NaN maps to the zero point.
 * @param x - float input
 * @param params - quantization parameters (from `quantParams`); `axis` may be negative
 * @param dtype - storage dtype: 'int8' (default), 'uint8' or 'int32'
 * @returns the quantized tensor, carrying `params` in `.quant`
 * @throws {DTypeError} when `x` is not float or `dtype` is not a quantized dtype
 * @throws {ShapeError} when the scale count differs from the channel dim
 * @throws {InvalidArgumentError} on bad scales, zero points or axis
 * @example
 * ```ts
 * const q = quantizeLinear(tensor([0.1, -0.25]), quantParams(0.1, 0), 'int8'); // [1, -2]
 * ```
 */
export function quantizeLinear(x: Tensor, params: QuantParams, dtype: QuantDType = 'int8'): Tensor {
  assertTensor(x, 'x', 'quantizeLinear');
  assertFloat(x, 'x', 'quantizeLinear');
  const d = assertQDType(dtype, 'quantizeLinear', 'dtype');
  const quant = resolveQuant(params, x.shape, qRange(d), 'quantizeLinear', 'params');
  return runKernel(K.QuantizeLinear, [x], { quant, dtype: d })[0]!;
}

/**
 * Dequantization `(q − zeroPoint) · scale` in float32, using the parameters carried by `q`.
 * @param q - int8, uint8 or int32 tensor with `.quant` (from {@link quantizeLinear} or {@link withQuant})
 * @returns a float32 tensor
 * @throws {DTypeError} when `q` is not a quantized dtype
 * @throws {InvalidArgumentError} when `q` has no quantization parameters
 * @example
 * ```ts
 * dequantizeLinear(quantizeLinear(tensor([0.12]), quantParams(0.1))); // [0.1]
 * ```
 */
export function dequantizeLinear(q: Tensor): Tensor {
  assertTensor(q, 'q', 'dequantizeLinear');
  const d = assertQDType(q.dtype, 'dequantizeLinear', 'q');
  resolveQuant(q.quant, q.shape, qRange(d), 'dequantizeLinear', 'q');
  return runKernel(K.DequantizeLinear, [q])[0]!;
}

/** Options of {@link fakeQuantize}. */
export interface FakeQuantizeOptions {
  /** Smallest integer (default -128). */
  readonly qmin?: number;
  /** Largest integer (default 127). */
  readonly qmax?: number;
}

/**
 * Quantize-dequantize in float (quantization-aware training), as `torch.fake_quantize_per_tensor_affine` /
 * `fake_quantize_per_channel_affine`. The gradient is the straight-through estimator masked to inputs whose
 * unclamped quantized value lies in `[qmin, qmax]`.
 * @param x - float input
 * @param params - per-tensor or per-channel parameters (zero points within `[qmin, qmax]`)
 * @param opts - integer range (default int8: -128..127)
 * @returns the fake-quantized tensor (same dtype as `x`)
 * @throws {DTypeError} when `x` is not float
 * @throws {ShapeError} when the scale count differs from the channel dim
 * @throws {InvalidArgumentError} when `qmin ≥ qmax` or a parameter is invalid
 * @example
 * ```ts
 * fakeQuantize(tensor([0.26, 20]), quantParams(0.1), { qmin: 0, qmax: 15 }); // [0.3, 1.5]
 * ```
 */
export function fakeQuantize(x: Tensor, params: QuantParams, opts: FakeQuantizeOptions = {}): Tensor {
  assertTensor(x, 'x', 'fakeQuantize');
  assertFloat(x, 'x', 'fakeQuantize');
  const qmin = opts.qmin ?? -128;
  const qmax = opts.qmax ?? 127;
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || qmin >= qmax) {
    throw new InvalidArgumentError(`fakeQuantize: need integers qmin < qmax, got [${qmin}, ${qmax}]`);
  }
  const quant = resolveQuant(params, x.shape, [qmin, qmax], 'fakeQuantize', 'params');
  return runKernel(K.FakeQuantize, [x], { quant, qmin, qmax })[0]!;
}

/** Fused activations of the quantized ops (applied as a clamp of the output integers). */
export type QActivation = 'none' | 'relu' | 'relu6';

/** Options of {@link qconv2d}. */
export interface QConv2DOptions {
  /** Output quantization (per-tensor, int8). */
  readonly outQuant: QuantParams;
  /** Stride (default 1). */
  readonly stride?: number | readonly [number, number];
  /**
   * Padding: one number, `[padH, padW]`, explicit `[top, left, bottom, right]`, 'valid' (0) or 'same'
   * (TF-style: the extra row/column goes to the bottom/right).
   */
  readonly padding?:
    | number
    | readonly [number, number]
    | readonly [number, number, number, number]
    | 'same'
    | 'valid';
  /** Dilation (default 1). */
  readonly dilation?: number | readonly [number, number];
  /** Groups (default 1; the channel count for depthwise). */
  readonly groups?: number;
  /** Fused activation (default 'none'). */
  readonly activation?: QActivation;
}

function checkActivation(a: unknown, op: string): QActivation {
  if (a !== 'none' && a !== 'relu' && a !== 'relu6') {
    throw new InvalidArgumentError(`${op}: activation must be 'none', 'relu' or 'relu6', got ${String(a)}`);
  }
  return a;
}

function checkInt8(t: Tensor, arg: string, op: string, perTensor: boolean): QuantParams {
  if (t.dtype !== 'int8') throw new DTypeError(`${op}: '${arg}' has dtype ${t.dtype}, expected int8`);
  const q = resolveQuant(t.quant, t.shape, [-128, 127], op, arg);
  if (perTensor && q.axis !== undefined) {
    throw new InvalidArgumentError(`${op}: '${arg}' must be quantized per-tensor, got axis ${q.axis}`);
  }
  return q;
}

function resolveOutQuant(opts: { readonly outQuant: QuantParams } | undefined, op: string): QuantParams {
  if (opts?.outQuant?.axis !== undefined) {
    throw new InvalidArgumentError(`${op}: 'outQuant' must be per-tensor, got axis ${opts.outQuant.axis}`);
  }
  return resolveQuant(opts?.outQuant, [], [-128, 127], op, 'outQuant');
}

function checkBias(bias: Tensor | null | undefined, n: number, op: string): Tensor | null {
  if (bias === null || bias === undefined) return null;
  assertTensor(bias, 'bias', op);
  if (bias.dtype !== 'int32') throw new DTypeError(`${op}: 'bias' has dtype ${bias.dtype}, expected int32`);
  if (bias.rank !== 1 || bias.shape[0] !== n) {
    throw new ShapeError(`${op}: 'bias' shape ${fmtShape(bias.shape)} must be [${n}]`);
  }
  return bias;
}

function resolvePads(
  padding: QConv2DOptions['padding'],
  inHW: readonly [number, number],
  k: readonly [number, number],
  s: readonly [number, number],
  d: readonly [number, number],
): [number, number, number, number] {
  if (padding === undefined || padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const tot = [0, 1].map((i) =>
      Math.max((Math.ceil(inHW[i]! / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!, 0),
    );
    return [tot[0]! >> 1, tot[1]! >> 1, tot[0]! - (tot[0]! >> 1), tot[1]! - (tot[1]! >> 1)];
  }
  const p = typeof padding === 'number' ? [padding, padding] : [...padding];
  const pads = p.length === 2 ? [p[0]!, p[1]!, p[0]!, p[1]!] : p;
  if (pads.length !== 4 || !pads.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new InvalidArgumentError(
      `qconv2d: 'padding' must be non-negative integers (1, 2 or 4 of them), 'same' or 'valid', got ${JSON.stringify(padding)}`,
    );
  }
  return pads as [number, number, number, number];
}

/**
 * Int8 2-D convolution with TFLite's integer arithmetic (bit-exact with its reference kernels): int32
 * accumulation of `(x − zx)·w`, plus the int32 bias, per-channel requantization by
 * `multiplier = sx·sw[c]/sy` (`quantizeMultiplier` + `multiplyByQuantizedMultiplier`), plus `zy`, then the
 * fused activation as a clamp and saturation to int8. Scales are taken as float32, as a `.tflite` file stores
 * them. Padding contributes `zx` (real zero). Grouped and depthwise (`groups = C`) convolutions are supported.
 * @param x - int8 NCHW input, per-tensor quantized
 * @param w - int8 weights `[O, C/groups, kH, kW]`, symmetric (zero point 0), per-tensor or per-channel on axis 0
 * @param bias - optional int32 `[O]` with implied scale `sx·sw[o]` and zero point 0
 * @param opts - output quantization, stride, padding, dilation, groups, fused activation
 * @returns int8 NCHW output carrying `opts.outQuant`
 * @throws {DTypeError} when `x`/`w` are not int8 or `bias` not int32
 * @throws {ShapeError} on rank, channel, group or bias shape mismatches
 * @throws {InvalidArgumentError} on missing or invalid quantization parameters or conv attributes
 * @example
 * ```ts
 * const y = qconv2d(xq, wq, bq, { outQuant: quantParams(0.05, -10), padding: 1, activation: 'relu' });
 * ```
 */
export function qconv2d(x: Tensor, w: Tensor, bias: Tensor | null | undefined, opts: QConv2DOptions): Tensor {
  const op = 'qconv2d';
  assertTensor(x, 'x', op);
  assertTensor(w, 'w', op);
  if (x.rank !== 4) throw new ShapeError(`${op}: 'x' shape ${fmtShape(x.shape)} must have rank 4 (NCHW)`);
  if (w.rank !== 4) throw new ShapeError(`${op}: 'w' shape ${fmtShape(w.shape)} must have rank 4`);
  checkInt8(x, 'x', op, true);
  const wq = checkInt8(w, 'w', op, false);
  if (wq.axis !== undefined && wq.axis !== 0) {
    throw new InvalidArgumentError(`${op}: 'w' per-channel quantization must be on axis 0, got ${wq.axis}`);
  }
  if (wq.zeroPoint.some((z) => z !== 0)) {
    throw new InvalidArgumentError(`${op}: 'w' must be symmetric (zero points 0), got ${wq.zeroPoint}`);
  }
  const groups = opts.groups ?? 1;
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0 || cg * groups !== c) {
    throw new ShapeError(
      `${op}: groups ${groups} incompatible with 'x' shape ${fmtShape(x.shape)} and 'w' shape ${fmtShape(w.shape)} (need C = w.shape[1]·groups and O divisible by groups)`,
    );
  }
  checkBias(bias, o, op);
  const strides = pair(opts.stride ?? 1, 'stride', op);
  const dilations = pair(opts.dilation ?? 1, 'dilation', op);
  if (strides.some((v) => v < 1) || dilations.some((v) => v < 1)) {
    throw new InvalidArgumentError(`${op}: stride and dilation must be ≥ 1, got ${strides} and ${dilations}`);
  }
  const pads = resolvePads(opts.padding, [h, wd], [kh, kw], strides, dilations);
  const oh = Math.floor((h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1]) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${op}: output would be empty for 'x' ${fmtShape(x.shape)}, 'w' ${fmtShape(w.shape)}`,
    );
  }
  const outQuant = resolveOutQuant(opts, op);
  const activation = checkActivation(opts.activation ?? 'none', op);
  const attrs = { strides, pads, dilations, groups, outQuant, activation } satisfies K.QConv2DAttrs;
  return runKernel(K.QConv2D, [x, w, bias ?? null], attrs)[0]!;
}

/** Options of {@link qmatmul}. */
export interface QMatMulOptions {
  /** Output quantization (per-tensor, int8). */
  readonly outQuant: QuantParams;
  /** Fused activation (default 'none'). */
  readonly activation?: QActivation;
}

/**
 * Int8 matrix product with TFLite's integer arithmetic: int32 accumulation of `(a − za)·(b − zb[n])`, plus the
 * int32 bias, per-column requantization by `sa·sb[n]/sy`, plus `zy`, fused activation clamp, int8 saturation.
 * @param a - int8 `[..., M, K]`, per-tensor quantized
 * @param b - int8 `[K, N]`, per-tensor or per-column (axis 1 or -1) quantized
 * @param bias - optional int32 `[N]` with implied scale `sa·sb[n]` and zero point 0
 * @param opts - output quantization and fused activation
 * @returns int8 `[..., M, N]` carrying `opts.outQuant`
 * @throws {DTypeError} when `a`/`b` are not int8 or `bias` not int32
 * @throws {ShapeError} when inner dims or the bias length mismatch
 * @throws {InvalidArgumentError} on missing or invalid quantization parameters
 * @example
 * ```ts
 * const y = qmatmul(aq, bq, null, { outQuant: quantParams(0.1, 3), activation: 'relu6' });
 * ```
 */
export function qmatmul(a: Tensor, b: Tensor, bias: Tensor | null | undefined, opts: QMatMulOptions): Tensor {
  const op = 'qmatmul';
  assertTensor(a, 'a', op);
  assertTensor(b, 'b', op);
  if (a.rank < 2) throw new ShapeError(`${op}: 'a' shape ${fmtShape(a.shape)} must have rank ≥ 2`);
  if (b.rank !== 2) throw new ShapeError(`${op}: 'b' shape ${fmtShape(b.shape)} must have rank 2 [K, N]`);
  checkInt8(a, 'a', op, true);
  const bq = checkInt8(b, 'b', op, false);
  if (bq.axis === 0) {
    throw new InvalidArgumentError(`${op}: 'b' per-channel quantization must be per column (axis 1 or -1)`);
  }
  const k = a.shape[a.rank - 1]!;
  if (b.shape[0] !== k) {
    throw new ShapeError(
      `${op}: inner dims differ: 'a' ${fmtShape(a.shape)} has K=${k} but 'b' ${fmtShape(b.shape)} has ${b.shape[0]}`,
    );
  }
  checkBias(bias, b.shape[1]!, op);
  const outQuant = resolveOutQuant(opts, op);
  const activation = checkActivation(opts.activation ?? 'none', op);
  const attrs = { outQuant, activation } satisfies K.QMatMulAttrs;
  return runKernel(K.QMatMul, [a, b, bias ?? null], attrs)[0]!;
}
