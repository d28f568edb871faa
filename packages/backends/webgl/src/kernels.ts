import { cpuKernels } from '@tinyvision/backend-cpu/internal';
import type { Attrs, FusedConv2DAttrs, KernelConfig, MatMulAttrs, TensorInfo } from '@tinyvision/tensor';
import { broadcastShapes, kernelNames as K } from '@tinyvision/tensor';
import type { WebGlBackend, WebGlHandle } from './backend.js';
import { ACTIVATIONS, binaryBody, convBody, matmulBody, UNARY_OPS, unaryBody } from './gpujs-kernels.js';

/** The part of a gpu.js kernel the backend uses. @internal */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
}

/** The part of gpu.js's `GPU` the backend uses. @internal */
export interface GpuJs {
  readonly mode: string;
  createKernel(fn: unknown, settings: object): GpuJsKernel;
  destroy(): void;
}

/**
 * Compiles the gpu.js kernels (lazily, on first call, per gpu.js). @internal
 * @param gpu - gpu.js instance
 * @returns the kernels
 */
export function createGpuKernels(gpu: GpuJs) {
  const settings = {
    output: [1],
    precision: 'single',
    tactic: 'precision',
    dynamicOutput: true,
    dynamicArguments: true,
    loopMaxIterations: 1 << 16,
  };
  return {
    unary: gpu.createKernel(unaryBody, settings),
    binary: gpu.createKernel(binaryBody, settings),
    matmul: gpu.createKernel(matmulBody, settings),
    conv: gpu.createKernel(convBody, settings),
  };
}

type Host = { values: Float32Array; shape: readonly number[] };
type GlKernel = (ins: readonly (Host | null)[], attrs: Attrs, b: WebGlBackend) => Host[] | null;

function run(k: GpuJsKernel, n: number, ...args: unknown[]): Float32Array {
  k.setOutput([n]);
  const out = k(...args) as Float32Array | number[];
  return out instanceof Float32Array && out.length === n
    ? out
    : Float32Array.from(out as ArrayLike<number>).slice(0, n);
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/** 6-entry broadcast description of `shape` inside `out` (leading dims padded). */
function bcast6(shape: readonly number[], out: readonly number[]): Float32Array {
  const s = stridesOf(shape);
  const off = out.length - shape.length;
  const r = new Float32Array(6);
  out.forEach((_, d) => {
    r[6 - out.length + d] = d < off || shape[d - off] === 1 ? 0 : s[d - off]!;
  });
  return r;
}

const BINARY_OPS: Readonly<Record<string, number>> = {
  Add: 0,
  Sub: 1,
  Mul: 2,
  Div: 3,
  Maximum: 4,
  Minimum: 5,
};

const unary =
  (name: string): GlKernel =>
  ([x], _a, b) => [
    { values: run(b.gk.unary, x!.values.length, x!.values, UNARY_OPS[name]), shape: x!.shape },
  ];

const binary =
  (name: string): GlKernel =>
  ([a, c], _attrs, b) => {
    const out = broadcastShapes(a!.shape, c!.shape, name);
    if (out.length > 6) return null;
    const shape6 = new Float32Array(6).fill(1);
    out.forEach((d, i) => {
      shape6[6 - out.length + i] = d;
    });
    const v = run(
      b.gk.binary,
      size(out),
      a!.values,
      c!.values,
      shape6,
      bcast6(a!.shape, out),
      bcast6(c!.shape, out),
      BINARY_OPS[name],
    );
    return [{ values: v, shape: out }];
  };

const matmul: GlKernel = ([a, c], attrs, b) => {
  const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
  const ar = a!.shape.length;
  const cr = c!.shape.length;
  if (ar < 2 || cr < 2) return null;
  const M = transposeA ? a!.shape[ar - 1]! : a!.shape[ar - 2]!;
  const Kd = transposeA ? a!.shape[ar - 2]! : a!.shape[ar - 1]!;
  const N = transposeB ? c!.shape[cr - 2]! : c!.shape[cr - 1]!;
  const batch = broadcastShapes(a!.shape.slice(0, -2), c!.shape.slice(0, -2), 'matmul');
  const z = size(batch);
  const offs = (shape: readonly number[], mat: number) => {
    const st = bcast6(shape.slice(0, -2), batch);
    const out = new Float32Array(Math.max(1, z));
    for (let i = 0; i < z; i++) {
      let rem = i;
      let off = 0;
      for (let d = batch.length - 1; d >= 0; d--) {
        off += (rem % batch[d]!) * st[6 - batch.length + d]!;
        rem = Math.floor(rem / batch[d]!);
      }
      out[i] = off * mat;
    }
    return out;
  };
  if (batch.length > 6) return null;
  const v = run(
    b.gk.matmul,
    z * M * N,
    a!.values,
    c!.values,
    offs(a!.shape, M * Kd),
    offs(c!.shape, Kd * N),
    M,
    N,
    Kd,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
  );
  return [{ values: v, shape: [...batch, M, N] }];
};

const conv =
  (name: string): GlKernel =>
  ([x, w, bias], attrs, b) => {
    const a = attrs as unknown as FusedConv2DAttrs;
    const act = ACTIVATIONS[name === K.FusedConv2D ? a.activation : 'none'];
    if (act === undefined || x!.shape.length !== 4 || w!.shape.length !== 4) return null;
    const [N, C, H, W] = x!.shape as [number, number, number, number];
    const [O, , KH, KW] = w!.shape as [number, number, number, number];
    const [pt, pl, pb, pr] = a.pads;
    const OH = Math.floor((H + pt + pb - a.dilations[0] * (KH - 1) - 1) / a.strides[0]) + 1;
    const OW = Math.floor((W + pl + pr - a.dilations[1] * (KW - 1) - 1) / a.strides[1]) + 1;
    if (OH <= 0 || OW <= 0) return null;
    const p = Float32Array.from([
      C,
      H,
      W,
      O,
      OH,
      OW,
      KH,
      KW,
      a.strides[0],
      a.strides[1],
      pt,
      pl,
      a.dilations[0],
      a.dilations[1],
      a.groups,
      bias ? 1 : 0,
    ]);
    const v = run(
      b.gk.conv,
      N * O * OH * OW,
      x!.values,
      w!.values,
      bias?.values ?? new Float32Array(1),
      p,
      act,
    );
    return [{ values: v, shape: [N, O, OH, OW] }];
  };

const GL_KERNELS: Readonly<Record<string, GlKernel>> = {
  ...Object.fromEntries(Object.keys(UNARY_OPS).map((k) => [k, unary(k)])),
  ...Object.fromEntries(Object.keys(BINARY_OPS).map((k) => [k, binary(k)])),
  [K.MatMul]: matmul,
  [K.Conv2D]: conv(K.Conv2D),
  [K.FusedConv2D]: conv(K.FusedConv2D),
};

/** float32, non-empty, finite (GLSL ES gives no NaN/Inf guarantees). */
function eligible(ins: readonly (TensorInfo | null)[]): boolean {
  return ins.every((t) => {
    if (t === null) return true;
    if (t.dtype !== 'float32' || t.quant || t.shape.some((d) => d === 0)) return false;
    const v = (t.handle as WebGlHandle).values;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false;
    return true;
  });
}

/**
 * The WebGL backend's kernel list: one entry per CPU reference kernel, through gpu.js where implemented. @internal
 * @returns the configs
 */
export function webglKernels(): KernelConfig<WebGlBackend>[] {
  return cpuKernels.map((ref) => {
    const gl = GL_KERNELS[ref.kernelName];
    return {
      kernelName: ref.kernelName,
      backendName: 'webgl',
      dtypes: ref.dtypes,
      kernelFunc: ({ inputs, attrs, backend }) => {
        if (gl && eligible(inputs)) {
          const hosts = inputs.map((t) =>
            t ? { values: (t.handle as WebGlHandle).values as Float32Array, shape: t.shape } : null,
          );
          const outs = gl(hosts, attrs, backend);
          if (outs) {
            backend.count('gpu', ref.kernelName);
            return outs.map((o) => ({
              handle: { backend: 'webgl', values: o.values },
              shape: o.shape,
              dtype: 'float32',
            }));
          }
        }
        const cpuIns = inputs.map((t) =>
          t ? { ...t, handle: { backend: 'cpu', values: (t.handle as WebGlHandle).values } } : null,
        );
        const outs = ref.kernelFunc({ inputs: cpuIns, attrs, backend: backend.cpu });
        backend.count('host', ref.kernelName);
        return outs.map((o) => ({
          ...o,
          handle: { backend: 'webgl', values: (o.handle as unknown as WebGlHandle).values },
        }));
      },
    };
  });
}
