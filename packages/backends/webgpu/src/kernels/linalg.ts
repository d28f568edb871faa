import type { MatMulAttrs, TensorInfo } from '@tinyvision/tensor';
import { broadcastShapes, kernelNames as K } from '@tinyvision/tensor';
import type { WebGpuBackend } from '../backend.js';
import type { GpuTensor } from '../handle.js';
import { UNARY_FN } from './elementwise.js';
import type { GpuKernel } from './hybrid.js';
import { bindings, bufs, HEAD, stridesOf } from './wgsl.js';

const TILE = 16;
const MAX_BATCH_RANK = 4;

/**
 * Tiled GEMM `y[z] = act(A[z] · B[z] + bias[row])` with 16×16 tiles staged in workgroup memory. Params:
 * M, N, K, transposeA, transposeB, batch rank, batch shape[4], A batch strides[4], B batch strides[4],
 * hasBias, activation code (see `unaryCode`).
 */
const GEMM = `${HEAD}${bindings(['a', 'c', 'bias'], ['y'])}${UNARY_FN}
var<workgroup> ta: array<f32, ${TILE * TILE}>;
var<workgroup> tb: array<f32, ${TILE * TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = p[0]; let N = p[1]; let K = p[2]; let tA = p[3] == 1; let tB = p[4] == 1;
  let nb = p[5];
  var rem = i32(wid.z); var offA = 0; var offB = 0;
  for (var d = nb - 1; d >= 0; d--) {
    let q = rem % p[6 + d]; rem = rem / p[6 + d];
    offA += q * p[10 + d]; offB += q * p[14 + d];
  }
  let lx = i32(lid.x); let ly = i32(lid.y);
  let row = i32(wid.y) * ${TILE} + ly;
  let col = i32(wid.x) * ${TILE} + lx;
  var acc = 0.0;
  for (var t = 0; t < K; t += ${TILE}) {
    let ak = t + lx;
    var av = 0.0;
    if (row < M && ak < K) { av = a[offA + select(row * K + ak, ak * M + row, tA)]; }
    ta[ly * ${TILE} + lx] = av;
    let bk = t + ly;
    var bv = 0.0;
    if (col < N && bk < K) { bv = c[offB + select(bk * N + col, col * K + bk, tB)]; }
    tb[ly * ${TILE} + lx] = bv;
    workgroupBarrier();
    for (var k = 0; k < ${TILE}; k++) { acc = fma(ta[ly * ${TILE} + k], tb[k * ${TILE} + lx], acc); }
    workgroupBarrier();
  }
  if (row < M && col < N) {
    if (p[18] == 1) { acc += bias[row]; }
    if (p[18] == 2) { acc += bias[col]; }
    y[i32(wid.z) * M * N + row * N + col] = unary_(acc, p[19], 0.0, 0.0);
  }
}`;

/** Options of {@link gemm}. @internal */
export interface GemmOptions {
  /** A is [K, M] (per batch). */
  readonly transposeA: boolean;
  /** B is [N, K] (per batch). */
  readonly transposeB: boolean;
  /** Output batch shape (rank ≤ 4). */
  readonly batch: readonly number[];
  /** A element strides per batch dim (0 = broadcast). */
  readonly aStrides: readonly number[];
  /** B element strides per batch dim (0 = broadcast). */
  readonly bStrides: readonly number[];
  /** Bias added per output row (length M), or null. */
  readonly bias: GpuTensor | null;
  /** Add the bias per output column (length N) instead. */
  readonly biasPerColumn?: boolean;
  /** Fused activation code (`unaryCode`; 0 for none). */
  readonly activation: number;
}

/**
 * Encodes a batched GEMM. @internal
 * @param b - backend
 * @param name - producing kernel name
 * @param a - A operand
 * @param c - B operand
 * @param dims - [M, N, K]
 * @param o - layout, batch, bias and activation
 * @param outShape - output shape (batch × M × N elements)
 * @returns the output
 */
export function gemm(
  b: WebGpuBackend,
  name: string,
  a: GpuTensor,
  c: GpuTensor,
  dims: readonly [number, number, number],
  o: GemmOptions,
  outShape: readonly number[],
): TensorInfo[] {
  const [M, N, Kd] = dims;
  const pad = (v: readonly number[], fill: number) => [
    ...v,
    ...new Array(MAX_BATCH_RANK - v.length).fill(fill),
  ];
  const params = [
    M,
    N,
    Kd,
    o.transposeA ? 1 : 0,
    o.transposeB ? 1 : 0,
    o.batch.length,
    ...pad(o.batch, 1),
    ...pad(o.aStrides, 0),
    ...pad(o.bStrides, 0),
    o.bias ? (o.biasPerColumn ? 2 : 1) : 0,
    o.activation,
  ];
  const { info, buffer } = b.alloc(outShape, name);
  const z = o.batch.reduce((x, y) => x * y, 1);
  const biasBuf = o.bias ? b.gpuBuffer(o.bias.handle) : b.placeholder;
  b.dispatch({
    code: GEMM,
    buffers: [...bufs(b, a, c), biasBuf, buffer],
    params: Int32Array.from(params),
    groups: [Math.ceil(N / TILE), Math.ceil(M / TILE), z],
  });
  return [info];
}

function batchStrides(shape: readonly number[], out: readonly number[], mat: number): number[] {
  const bs = shape.slice(0, -2);
  const s = stridesOf(bs).map((v) => v * mat);
  const off = out.length - bs.length;
  return out.map((_, d) => (d < off || bs[d - off] === 1 ? 0 : s[d - off]!));
}

const matmul: GpuKernel = ([a, c], attrs, b) => {
  const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
  if (a!.shape.length < 2 || c!.shape.length < 2) return null;
  const ar = a!.shape.length;
  const cr = c!.shape.length;
  const M = transposeA ? a!.shape[ar - 1]! : a!.shape[ar - 2]!;
  const Kd = transposeA ? a!.shape[ar - 2]! : a!.shape[ar - 1]!;
  const N = transposeB ? c!.shape[cr - 2]! : c!.shape[cr - 1]!;
  const batch = broadcastShapes(a!.shape.slice(0, -2), c!.shape.slice(0, -2), 'matmul');
  if (batch.length > MAX_BATCH_RANK || batch.some((d) => d > 65535)) return null;
  return gemm(
    b,
    K.MatMul,
    a!,
    c!,
    [M, N, Kd],
    {
      transposeA,
      transposeB,
      batch,
      aStrides: batchStrides(a!.shape, batch, M * Kd),
      bStrides: batchStrides(c!.shape, batch, Kd * N),
      bias: null,
      activation: 0,
    },
    [...batch, M, N],
  );
};

/** `Linear`: x[..., in] · w[out, in]ᵀ + bias[out], one GEMM with the bias per column. */
const linear: GpuKernel = ([x, w, bias], _attrs, b) => {
  if (x!.shape.length < 1 || w!.shape.length !== 2) return null;
  const Kd = x!.shape[x!.shape.length - 1]!;
  const N = w!.shape[0]!;
  if (w!.shape[1] !== Kd || (bias && bias.shape.reduce((u, v) => u * v, 1) !== N)) return null;
  const M = x!.shape.reduce((u, v) => u * v, 1) / Kd;
  return gemm(
    b,
    K.Linear,
    x!,
    w!,
    [M, N, Kd],
    {
      transposeA: false,
      transposeB: true,
      batch: [],
      aStrides: [],
      bStrides: [],
      bias: bias ?? null,
      biasPerColumn: true,
      activation: 0,
    },
    [...x!.shape.slice(0, -1), N],
  );
};

/** WGSL linear-algebra kernels. @internal */
export const linalgGpu: Readonly<Record<string, GpuKernel>> = { [K.MatMul]: matmul, [K.Linear]: linear };
