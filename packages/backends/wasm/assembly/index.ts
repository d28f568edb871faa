// Entry point of the tinyvision WebAssembly kernels (compiled twice: with and without SIMD).

export { depthwise, dwScratch, meanPlanes, pool2d } from './conv';
export { binary, softmaxRows, unary } from './eltwise';
export { chunkCols, MR, NR, packA, packB, packedASize, peakLoop, sgemm, sgemv } from './gemm';
export { setConvGeometry } from './geom';
export {
  qconvDirect,
  qdepthwise,
  qdwScratch,
  qgemm,
  qPackA,
  qPackB,
  qPackConvB,
  qPackedASize,
  qRequant,
} from './qgemm';

/** First free byte after the static data: the host's heap starts here. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 when compiled with SIMD. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
