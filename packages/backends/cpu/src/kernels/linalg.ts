import type { KernelConfig, MatMulAttrs } from '@tinyvision/tensor';
import { kernelNames as K, sizeOf } from '@tinyvision/tensor';
import { cpuKernel, FLOATS, type HostTensor } from '../host.js';
import { gemm } from './gemm.js';

export { type GemmArgs, gemm } from './gemm.js';

/** Contiguous strides of `shape` read as broadcast to `target` (0 on stretched or missing dims). */
function batchStrides(shape: readonly number[], target: readonly number[]): number[] {
  const out = new Array<number>(target.length).fill(0);
  let acc = 1;
  for (let i = shape.length - 1, t = target.length - 1; i >= 0; i--, t--) {
    out[t] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return out;
}

/**
 * Batched matrix product `op(a) · op(b)` with NumPy batch broadcasting (inputs of rank ≥ 2, float32 values).
 * @param a - `[..., M, K]` (or `[..., K, M]` when `transposeA`)
 * @param b - `[..., K, N]` (or `[..., N, K]` when `transposeB`)
 * @param attrs - transposes
 * @returns `[...batch, M, N]` float32
 */
export function matmulImpl(a: HostTensor, b: HostTensor, attrs: MatMulAttrs): HostTensor {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [am, ak] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [bk, bn] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
  const m = attrs.transposeA ? ak : am;
  const k = attrs.transposeA ? am : ak;
  const n = attrs.transposeB ? bk : bn;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[i - rank + batchA.length] ?? 1;
    const db = batchB[i - rank + batchB.length] ?? 1;
    batch.push(da === 1 ? db : da);
  }
  const out = new Float32Array(sizeOf(batch) * m * n);
  const sa = batchStrides(batchA, batch);
  const sb = batchStrides(batchB, batch);
  const nb = sizeOf(batch);
  const idx = new Array<number>(rank).fill(0);
  let pa = 0;
  let pb = 0;
  for (let bi = 0; bi < nb; bi++) {
    gemm({
      m,
      n,
      k,
      a: a.values as Float32Array,
      aOffset: pa * am * ak,
      lda: ak,
      transA: attrs.transposeA,
      b: b.values as Float32Array,
      bOffset: pb * bk * bn,
      ldb: bn,
      transB: attrs.transposeB,
      c: out,
      cOffset: bi * m * n,
      ldc: n,
    });
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      pa += sa[d]!;
      pb += sb[d]!;
      if (idx[d]! < batch[d]!) break;
      pa -= sa[d]! * batch[d]!;
      pb -= sb[d]! * batch[d]!;
      idx[d] = 0;
    }
  }
  return { values: out, shape: [...batch, m, n], dtype: 'float32' };
}

/**
 * Fully connected layer `x · wᵀ + bias` (float32 values).
 * @param x - `[..., in]`
 * @param w - `[out, in]`
 * @param bias - `[out]` or null
 * @returns `[..., out]` float32
 */
export function linearImpl(x: HostTensor, w: HostTensor, bias: HostTensor | null): HostTensor {
  const inF = w.shape[1]!;
  const outF = w.shape[0]!;
  const rows = inF === 0 ? sizeOf(x.shape.slice(0, -1)) : x.values.length / inF;
  const out = new Float32Array(rows * outF);
  gemm({
    m: rows,
    n: outF,
    k: inF,
    a: x.values as Float32Array,
    lda: inF,
    b: w.values as Float32Array,
    ldb: inF,
    transB: true,
    c: out,
    ldc: outF,
  });
  if (bias) {
    const bv = bias.values;
    for (let r = 0; r < rows; r++) {
      const o = r * outF;
      for (let j = 0; j < outF; j++) out[o + j]! += bv[j]!;
    }
  }
  return { values: out, shape: [...x.shape.slice(0, -1), outF], dtype: 'float32' };
}

/** Linalg CPU kernels (float32 compute; float16/bfloat16 inputs are decoded, mixed f32 × f16 weights allowed). */
export const linalgKernels: KernelConfig[] = [
  cpuKernel(K.MatMul, ([a, b], attrs) => [matmulImpl(a!, b!, attrs as unknown as MatMulAttrs)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
  cpuKernel(K.Linear, ([x, w, bias]) => [linearImpl(x!, w!, bias ?? null)], {
    dtypes: FLOATS,
    floatCompute: true,
  }),
];
