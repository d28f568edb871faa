import type { DType, GeluAttrs, KernelConfig, LeakyReluAttrs } from '@tinyvision/tensor';
import { allocStorage, kernelNames as K } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor, NUMERIC } from '../host.js';
import { unaryImpl } from './elementwise.js';
import { erfScalar } from './erf.js';

const GELU_BETA = Math.sqrt(2 / Math.PI);

/** relu6 with NaN passing through. */
function relu6Scalar(v: number): number {
  return Math.min(Math.max(v, 0), 6);
}

/**
 * ReLU `max(x, 0)` as a branch-free loop (random signs would mispredict a branch half the time): float32 works
 * on the bits, so NaN passes through (with its payload) and negatives, -0 included, become +0.
 * @param x - input
 * @returns the output host tensor
 */
export function reluImpl(x: HostTensor): HostTensor {
  const v = x.values;
  const n = v.length;
  const out = allocStorage(x.dtype, n);
  if (v instanceof Float32Array) {
    const b = new Int32Array(v.buffer, v.byteOffset, n);
    const o = new Int32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const e = b[i]!;
      const nan = (0x7f800000 - (e & 0x7fffffff)) >> 31; // -1 for NaN
      o[i] = e & ~((e >> 31) & ~nan);
    }
  } else for (let i = 0; i < n; i++) out[i] = v[i]! & ~(v[i]! >> 31);
  return { values: out, shape: x.shape, dtype: x.dtype };
}

/**
 * Leaky ReLU: `x < 0 ? alpha·x : x`.
 * @param x - input
 * @param attrs - negative slope
 * @returns the output host tensor
 */
export function leakyReluImpl(x: HostTensor, attrs: LeakyReluAttrs): HostTensor {
  const a = attrs.alpha;
  return unaryImpl(x, (v) => (v < 0 ? v * a : v));
}

/**
 * GELU, exact (`0.5·x·(1 + erf(x/√2))`) or tanh-approximated.
 * @param x - input
 * @param attrs - approximation
 * @returns the output host tensor
 */
export function geluImpl(x: HostTensor, attrs: GeluAttrs): HostTensor {
  if (attrs.approximate === 'tanh') {
    return unaryImpl(x, (v) => 0.5 * v * (1 + Math.tanh(GELU_BETA * (v + 0.044715 * v * v * v))));
  }
  return unaryImpl(x, (v) => 0.5 * v * (1 + erfScalar(v * Math.SQRT1_2)));
}

function act(name: string, f: (v: number) => number, dtypes: readonly DType[] = FLOATS): KernelConfig {
  return cpuKernel(name, ([x]) => [unaryImpl(x!, f)], { dtypes, floatCompute: true });
}

/** Activation CPU kernels (NaN propagates through every one, as in PyTorch). */
export const activationKernels: KernelConfig[] = [
  cpuKernel(K.Relu, ([x]) => [reluImpl(x!)], { dtypes: NUMERIC, floatCompute: true }),
  act(K.Relu6, relu6Scalar, NUMERIC),
  cpuKernel(K.LeakyRelu, ([x], a) => [leakyReluImpl(x!, a as unknown as LeakyReluAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  act(K.HardSwish, (v) => (v * relu6Scalar(v + 3)) / 6),
  act(K.HardSigmoid, (v) => relu6Scalar(v + 3) / 6),
  act(K.Silu, (v) => v / (1 + Math.exp(-v))),
  cpuKernel(K.Gelu, ([x], a) => [geluImpl(x!, a as unknown as GeluAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
];
