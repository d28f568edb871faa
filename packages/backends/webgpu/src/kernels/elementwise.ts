import type { Attrs, ClipAttrs, LeakyReluAttrs, TensorInfo } from '@tinyvision/tensor';
import { broadcastShapes, kernelNames as K } from '@tinyvision/tensor';
import type { WebGpuBackend } from '../backend.js';
import type { GpuTensor } from '../handle.js';
import type { GpuKernel } from './hybrid.js';
import { bindings, bufs, f32bits, kernel1d, numel, stridesOf } from './wgsl.js';

/** Unary expressions of `v` (NaN propagates through every one, as in PyTorch). */
const UNARY: Readonly<Record<string, string>> = {
  [K.Neg]: '-v',
  [K.Abs]: 'abs(v)',
  [K.Exp]: 'select(exp(v), v, isnan_(v))',
  [K.Sqrt]: 'sqrt(v)',
  [K.Square]: 'v * v',
  [K.Reciprocal]: '1.0 / v',
  [K.Floor]: 'floor(v)',
  [K.Round]: 'round(v)',
  [K.Sign]: 'select(select(0.0, 1.0, v > 0.0), -1.0, v < 0.0)', // torch: sign(NaN) = 0
  [K.Tanh]: 'select(tanh(clamp(v, -20.0, 20.0)), v, isnan_(v))',
  [K.Sigmoid]: 'select(1.0 / (1.0 + exp(-v)), v, isnan_(v))',
  [K.Relu]: 'select(max(v, 0.0), v, isnan_(v))',
  [K.Relu6]: 'relu6_(v)',
  [K.HardSwish]: 'v * relu6_(v + 3.0) / 6.0',
  [K.HardSigmoid]: 'relu6_(v + 3.0) / 6.0',
  [K.Silu]: 'v / (1.0 + exp(-v))',
  [K.LeakyRelu]: 'select(v, v * pf(1), v < 0.0)',
  [K.Clip]: 'select(min(max(v, pf(1)), pf(2)), v, isnan_(v))',
};

const UNARY_NAMES = Object.keys(UNARY);

/**
 * `unary_(v, op, a, c)`: every unary op in one WGSL function, selected by op code (one shader for all of them, so
 * SwiftShader compiles it once); `a`/`c` are LeakyRelu's alpha and Clip's bounds. Code 0 is the identity.
 * @internal
 */
export const UNARY_FN = `
fn unary_(v: f32, op: i32, a: f32, c: f32) -> f32 {
  switch op {
    case 0: { return v; }
${UNARY_NAMES.map((n, k) => `    case ${k + 1}: { return ${UNARY[n]!.replace('pf(1)', 'a').replace('pf(2)', 'c')}; }`).join('\n')}
    default: { return v; }
  }
}`;

/**
 * Op code of a unary kernel or fused activation in {@link UNARY_FN}. @internal
 * @param act - kernel name, or activation name of `FusedConv2DAttrs` (`none` → 0)
 * @returns the code, or undefined when there is none
 */
export function unaryCode(act: string): number | undefined {
  const names: Record<string, string> = {
    relu: K.Relu,
    relu6: K.Relu6,
    hardSwish: K.HardSwish,
    hardSigmoid: K.HardSigmoid,
    sigmoid: K.Sigmoid,
    silu: K.Silu,
    tanh: K.Tanh,
  };
  if (act === 'none') return 0;
  const k = UNARY_NAMES.indexOf(names[act] ?? act);
  return k < 0 ? undefined : k + 1;
}

const unaryShader = kernel1d(
  `${bindings(['x'], ['y'])}${UNARY_FN}`,
  '  y[i] = unary_(x[i], p[1], pf(2), pf(3));',
);

function unary(name: string): GpuKernel {
  return ([x], attrs, b) => {
    const params = [0, unaryCode(name)!, 0, 0];
    if (name === K.LeakyRelu) params[2] = f32bits((attrs as unknown as LeakyReluAttrs).alpha);
    if (name === K.Clip) {
      const a = attrs as unknown as ClipAttrs;
      params[2] = f32bits(a.min ?? -Infinity);
      params[3] = f32bits(a.max ?? Infinity);
    }
    return run1d(b, name, unaryShader, [x!], x!.shape, params);
  };
}

/**
 * Dispatches a 1-D kernel over `shape`'s elements and returns its one output. @internal
 * @param b - backend
 * @param name - kernel name
 * @param code - WGSL
 * @param ins - inputs
 * @param shape - output shape
 * @param params - params (p[0] is overwritten with the element count)
 * @returns the output
 */
export function run1d(
  b: WebGpuBackend,
  name: string,
  code: string,
  ins: GpuTensor[],
  shape: readonly number[],
  params: number[],
): TensorInfo[] {
  const n = numel(shape);
  const { info, buffer } = b.alloc(shape, name);
  params[0] = n;
  b.dispatch({
    code,
    buffers: [...bufs(b, ...ins), buffer],
    params: Int32Array.from(params),
    groups: Math.ceil(n / 256),
  });
  return [info];
}

const BINARY: Readonly<Record<string, string>> = {
  [K.Add]: 'u + w',
  [K.Sub]: 'u - w',
  [K.Mul]: 'u * w',
  [K.Div]: 'u / w',
  [K.Maximum]: 'select(max(u, w), u + w, isnan_(u) || isnan_(w))',
  [K.Minimum]: 'select(min(u, w), u + w, isnan_(u) || isnan_(w))',
};

/** Broadcast strides of `shape` against `out` (0 on broadcast dims). */
function bstrides(shape: readonly number[], out: readonly number[]): number[] {
  const s = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_, d) => (d < off || shape[d - off] === 1 ? 0 : s[d - off]!));
}

const BINARY_NAMES = Object.keys(BINARY);
const BINARY_FN = `
fn binary_(u: f32, w: f32, op: i32) -> f32 {
  switch op {
${BINARY_NAMES.map((n, k) => `    case ${k}: { return ${BINARY[n]}; }`).join('\n')}
    default: { return u; }
  }
}`;
const sameShader = kernel1d(
  `${bindings(['a', 'c'], ['y'])}${BINARY_FN}`,
  '  y[i] = binary_(a[i], c[i], p[1]);',
);
const bcastShader = kernel1d(
  `${bindings(['a', 'c'], ['y'])}${BINARY_FN}`,
  `  let r = p[2];
  var rem = i; var ia = 0; var ic = 0;
  for (var d = r - 1; d >= 0; d--) {
    let q = rem % p[3 + d]; rem = rem / p[3 + d];
    ia += q * p[3 + r + d]; ic += q * p[3 + 2 * r + d];
  }
  y[i] = binary_(a[ia], c[ic], p[1]);`,
);

function binary(name: string): GpuKernel {
  const op = BINARY_NAMES.indexOf(name);
  return ([a, c], _attrs: Attrs, b) => {
    const out = broadcastShapes(a!.shape, c!.shape, name);
    if (a!.shape.length === c!.shape.length && a!.shape.every((d, k) => d === c!.shape[k])) {
      return run1d(b, name, sameShader, [a!, c!], out, [0, op]);
    }
    if (out.length > 16) return null;
    return run1d(b, name, bcastShader, [a!, c!], out, [
      0,
      op,
      out.length,
      ...out,
      ...bstrides(a!.shape, out),
      ...bstrides(c!.shape, out),
    ]);
  };
}

/** WGSL elementwise kernels by kernel name. @internal */
export const elementwiseGpu: Readonly<Record<string, GpuKernel>> = {
  ...Object.fromEntries(Object.keys(UNARY).map((k) => [k, unary(k)])),
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binary(k)])),
};
