import { WASM_SCALAR_BASE64 } from './generated/kernels-scalar.js';
import { WASM_SIMD_BASE64 } from './generated/kernels-simd.js';

/**
 * The exports of the compiled kernels (`assembly/index.ts`); pointers are byte offsets into `memory`.
 * @internal
 */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  simd(): number;
  unary(x: number, out: number, n: number, act: number): void;
  binary(...args: number[]): void;
  softmaxRows(x: number, out: number, rows: number, n: number, log: number): void;
  packA(src: number, rs: number, cs: number, m: number, k: number, dst: number): void;
  packB(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  packedASize(m: number, k: number): number;
  chunkCols(k: number): number;
  setConvGeometry(...args: number[]): void;
  sgemm(...args: number[]): void;
  sgemv(m: number, k: number, a: number, lda: number, x: number, y: number, bias: number, act: number): void;
  peakLoop(iters: number, seed: number): number;
  depthwise(...args: number[]): void;
  dwScratch(
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    oh: number,
    ow: number,
  ): number;
  pool2d(...args: number[]): void;
  meanPlanes(x: number, out: number, planes: number, len: number): void;
  qPackA(
    src: number,
    rs: number,
    cs: number,
    zp: number,
    zs: number,
    m: number,
    k: number,
    dst: number,
  ): void;
  qPackedASize(m: number, k: number): number;
  qgemm(...args: number[]): void;
  qconvDirect(...args: number[]): void;
  qdepthwise(...args: number[]): void;
  qdwScratch(
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    oh: number,
    ow: number,
  ): number;
  qRequant(
    acc: number,
    bias: number,
    mult: number,
    shift: number,
    zp: number,
    lo: number,
    hi: number,
  ): number;
}

// A module whose only function uses i8x16.popcnt (the usual SIMD feature probe).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);

/**
 * Whether this engine validates a WebAssembly SIMD module.
 * @returns true when 128-bit SIMD is available
 * @example
 * ```ts
 * simdSupported(); // true on Node 16.4+ and current browsers
 * ```
 */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The bytes of one build of the kernels.
 * @param simd - the SIMD build (else the scalar one)
 * @returns the module bytes
 * @internal
 */
export function kernelBytes(simd: boolean): Uint8Array<ArrayBuffer> {
  return decodeBase64(simd ? WASM_SIMD_BASE64 : WASM_SCALAR_BASE64);
}

/**
 * Compiles and instantiates the kernels synchronously (the module is small).
 * @param simd - which build
 * @returns the instance's exports
 * @internal
 */
export function instantiateKernels(simd: boolean): KernelExports {
  const mod = new WebAssembly.Module(kernelBytes(simd));
  return new WebAssembly.Instance(mod, { env: { abort: abortImport } }).exports as unknown as KernelExports;
}

function abortImport(): never {
  throw new Error('wasm kernels: abort');
}
