import type { KernelConfig, MatMulAttrs } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { allF32, FLOATS, hd, output, packedOf, viaCpu, wasmKernel, withScratch } from './util.js';

function batchStrides(shape: readonly number[], batch: readonly number[]): number[] {
  const out = new Array<number>(batch.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = i + batch.length - shape.length;
    out[d] = shape[i] === 1 && batch[d] !== 1 ? 0 : s;
    s *= shape[i]!;
  }
  return out;
}

/** Batched `op(a) · op(b)` with NumPy batch broadcasting: A packed per matrix, B packed per chunk. */
const matmul = wasmKernel(K.MatMul, FLOATS, (ctx, b) => {
  const [a, bb] = ctx.inputs as [NonNullable<(typeof ctx.inputs)[0]>, NonNullable<(typeof ctx.inputs)[0]>];
  if (!allF32(ctx.inputs)) return viaCpu(ctx, K.MatMul);
  const { transposeA: tA, transposeB: tB } = ctx.attrs as unknown as MatMulAttrs;
  const ra = a.shape.length;
  const rb = bb.shape.length;
  const [am, ak] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [bk, bn] = [bb.shape[rb - 2]!, bb.shape[rb - 1]!];
  const m = tA ? ak : am;
  const kk = tA ? am : ak;
  const n = tB ? bk : bn;
  const batchA = a.shape.slice(0, -2);
  const batchB = bb.shape.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[i - rank + batchA.length] ?? 1;
    const db = batchB[i - rank + batchB.length] ?? 1;
    batch.push(da === 1 ? db : da);
  }
  const out = output(b, [...batch, m, n], 'float32');
  const nb = batch.reduce((p, q) => p * q, 1);
  if (nb * m * n === 0) return [out];
  const k = b.k;
  const cp = hd(out).ptr;
  if (kk === 0) {
    new Float32Array(k.memory.buffer, cp, nb * m * n).fill(0);
    return [out];
  }
  const sa = batchStrides(batchA, batch);
  const sb = batchStrides(batchB, batch);
  const [ars, acs] = tA ? [1, ak] : [ak, 1];
  const [brs, bcs] = tB ? [1, bn] : [bn, 1];
  const apBytes = k.packedASize(m, kk);
  withScratch(b, apBytes, (ap) =>
    withScratch(b, k.chunkCols(kk) * kk * 4, (scratch) => {
      const idx = new Array<number>(rank).fill(0);
      let pa = 0;
      let pb = 0;
      for (let bi = 0; bi < nb; bi++) {
        k.packA(hd(a).ptr + pa * am * ak * 4, ars, acs, m, kk, ap);
        k.sgemm(
          m,
          n,
          kk,
          ap,
          hd(bb).ptr + pb * bk * bn * 4,
          brs,
          bcs,
          0,
          cp + bi * m * n * 4,
          n,
          0,
          0,
          0,
          scratch,
        );
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
    }),
  );
  return [out];
});

/** `x · wᵀ + bias`: a SIMD GEMV per row for small batches, else GEMM against the packed (cached) `wᵀ`. */
const linear = wasmKernel(K.Linear, FLOATS, (ctx, b) => {
  const [x, w, bias] = ctx.inputs;
  if (!allF32(ctx.inputs)) return viaCpu(ctx, K.Linear);
  const inF = w!.shape[1]!;
  const outF = w!.shape[0]!;
  const lead = x!.shape.slice(0, -1);
  const rows = lead.reduce((p, q) => p * q, 1);
  const out = output(b, [...lead, outF], 'float32');
  if (rows * outF === 0) return [out];
  const k = b.k;
  const xp = hd(x!).ptr;
  const wp = hd(w!).ptr;
  const bp = bias ? hd(bias).ptr : 0;
  const op = hd(out).ptr;
  if (rows <= 4 || inF === 0) {
    for (let r = 0; r < rows; r++) k.sgemv(outF, inF, wp, inF, xp + r * inF * 4, op + r * outF * 4, bp, 0);
    return [out];
  }
  const nPanels = Math.ceil(outF / 8);
  const bpk = packedOf(b, hd(w!), 'linearBt', nPanels * 8 * inF * 4, (dst) =>
    k.packB(wp, 1, inF, inF, outF, dst),
  );
  withScratch(b, k.packedASize(rows, inF), (ap) => {
    k.packA(xp, inF, 1, rows, inF, ap);
    k.sgemm(rows, outF, inF, ap, bpk, 0, 0, 2, op, outF, bp, bp ? 2 : 0, 0, 0);
  });
  return [out];
});

/** f32 linear-algebra kernels. */
export const linalgKernels: KernelConfig[] = [matmul, linear];
