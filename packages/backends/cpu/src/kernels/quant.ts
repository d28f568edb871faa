import type { FakeQuantizeAttrs, KernelConfig, QuantizeAttrs, QuantParams } from '@tinyvision/tensor';
import { allocStorage, InvalidArgumentError, kernelNames as K, qRange } from '@tinyvision/tensor';
import { roundHalfToEven } from '@tinyvision/tensor/internal';
import { cpuKernel, FLOATS, type HostTensor } from '../host.js';
import { qconv2dImpl, qmatmulImpl } from './quant-gemm.js';

export { qconv2dImpl, qmatmulImpl } from './quant-gemm.js';

const fround = Math.fround;

/**
 * Calls `f(i, c)` for every flat index `i` of a contiguous tensor with its channel `c` along `quant.axis`
 * (always 0 for per-tensor parameters).
 * @param shape - tensor shape
 * @param quant - parameters
 * @param f - visitor
 */
export function forEachChannel(
  shape: readonly number[],
  quant: QuantParams,
  f: (i: number, c: number) => void,
): void {
  let inner = 1;
  let dim = 1;
  if (quant.axis !== undefined) {
    dim = shape[quant.axis]!;
    for (let d = quant.axis + 1; d < shape.length; d++) inner *= shape[d]!;
  }
  let n = 1;
  for (const s of shape) n *= s;
  for (let i = 0, base = 0; base < n; base += inner * dim) {
    for (let c = 0; c < dim; c++) for (let j = 0; j < inner; j++, i++) f(i, c);
  }
}

function paramsOf(t: HostTensor, kernel: string): QuantParams {
  if (!t.quant) throw new InvalidArgumentError(`${kernel}: input has no quantization parameters`);
  return t.quant;
}

/**
 * Affine quantization with PyTorch's float32 arithmetic: `clamp(rint(x · f32(1/f32(scale))) + zp)`; NaN → zp.
 * @param x - float32 input
 * @param attrs - parameters and storage dtype
 * @returns the quantized host tensor (carrying `attrs.quant`)
 */
export function quantizeLinearImpl(x: HostTensor, attrs: QuantizeAttrs): HostTensor {
  const { quant, dtype } = attrs;
  const [qmin, qmax] = qRange(dtype);
  const inv = quant.scale.map((s) => fround(1 / fround(s)));
  const out = allocStorage(dtype, x.values.length);
  const v = x.values;
  forEachChannel(x.shape, quant, (i, c) => {
    const zp = quant.zeroPoint[c]!;
    const q = roundHalfToEven(fround(v[i]! * inv[c]!)) + zp;
    out[i] = Number.isNaN(q) ? zp : Math.min(qmax, Math.max(qmin, q));
  });
  return { values: out, shape: x.shape, dtype, quant };
}

/**
 * Dequantization `f32((q − zp) · f32(scale))`.
 * @param q - quantized input with `.quant`
 * @returns float32 host tensor
 */
export function dequantizeLinearImpl(q: HostTensor): HostTensor {
  const quant = paramsOf(q, K.DequantizeLinear);
  const scale = quant.scale.map(fround);
  const out = new Float32Array(q.values.length);
  const v = q.values;
  forEachChannel(q.shape, quant, (i, c) => {
    out[i] = (v[i]! - quant.zeroPoint[c]!) * scale[c]!;
  });
  return { values: out, shape: q.shape, dtype: 'float32' };
}

/**
 * Fake quantization as torch's `fake_quantize_*_affine` CPU kernels (float32 arithmetic); with `dy`, the
 * straight-through gradient instead (dy where the unclamped integer lies in `[qmin, qmax]`, else 0).
 * @param x - float32 input
 * @param attrs - parameters and integer range
 * @param dy - upstream gradient (gradient mode)
 * @returns the fake-quantized values, or the input gradient when `dy` is given
 */
export function fakeQuantizeImpl(x: HostTensor, attrs: FakeQuantizeAttrs, dy?: HostTensor): HostTensor {
  const { quant, qmin, qmax } = attrs;
  const scale = quant.scale.map(fround);
  const inv = scale.map((s) => fround(1 / s));
  const out = new Float32Array(x.values.length);
  const v = x.values;
  const g = dy?.values;
  forEachChannel(x.shape, quant, (i, c) => {
    const zp = quant.zeroPoint[c]!;
    const q = roundHalfToEven(fround(v[i]! * inv[c]!)) + zp;
    if (g) out[i] = q >= qmin && q <= qmax ? g[i]! : 0;
    else out[i] = (Math.min(qmax, Math.max(qmin, q)) - zp) * scale[c]!; // NaN propagates
  });
  return { values: out, shape: x.shape, dtype: 'float32' };
}

/** Quant CPU kernels. */
export const quantKernels: KernelConfig[] = [
  cpuKernel(K.QuantizeLinear, ([x], a) => [quantizeLinearImpl(x!, a as unknown as QuantizeAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.DequantizeLinear, ([q]) => [dequantizeLinearImpl(q!)], { dtypes: ['int8', 'uint8', 'int32'] }),
  cpuKernel(K.FakeQuantize, ([x], a) => [fakeQuantizeImpl(x!, a as unknown as FakeQuantizeAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(
    K.FakeQuantizeGrad,
    ([x, dy], a) => [fakeQuantizeImpl(x!, a as unknown as FakeQuantizeAttrs, dy!)],
    { dtypes: FLOATS, floatCompute: true },
  ),
  cpuKernel(K.QConv2D, ([x, w, b], a) => [qconv2dImpl(x!, w!, b, a as never)], { dtypes: ['int8'] }),
  cpuKernel(K.QMatMul, ([x, w, b], a) => [qmatmulImpl(x!, w!, b, a as never)], { dtypes: ['int8'] }),
];
