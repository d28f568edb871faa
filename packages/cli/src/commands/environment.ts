import os from 'node:os';

/** Facts about the JavaScript runtime that decide which backends can work. */
export interface EnvironmentFacts {
  /** Node.js version, e.g. `'20.20.2'`. */
  readonly node: string;
  /** `process.platform`. */
  readonly platform: string;
  /** `process.arch`. */
  readonly arch: string;
  /** CPU model (first core). */
  readonly cpuModel: string;
  /** Logical CPUs. */
  readonly cpuCount: number;
  /** Whether `WebAssembly` exists. */
  readonly webAssembly: boolean;
  /** Whether a module using 128-bit SIMD validates. */
  readonly wasmSimd: boolean;
  /** Whether a module with shared memory and atomics validates. */
  readonly wasmThreads: boolean;
  /** Whether `SharedArrayBuffer` and `Atomics` exist (needed for threaded WASM). */
  readonly sharedArrayBuffer: boolean;
  /** Whether `navigator.gpu` (WebGPU) exists; Node 20 has none. */
  readonly webgpu: boolean;
}

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)) — the wasm-feature-detect SIMD probe.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);
// (module (memory 1 1 shared) (func i32.const 0 i32.atomic.load drop)) — the wasm-feature-detect threads probe.
const THREADS_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254,
  16, 2, 0, 26, 11,
]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/**
 * Collects the runtime facts `tinyvision doctor` prints.
 * @returns the facts
 * @example
 * ```ts
 * environmentFacts().wasmSimd; // true on Node 20
 * ```
 */
export function environmentFacts(): EnvironmentFacts {
  const cpus = os.cpus();
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return {
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    webAssembly: typeof WebAssembly !== 'undefined',
    wasmSimd: validates(SIMD_PROBE),
    wasmThreads: validates(THREADS_PROBE),
    sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined' && typeof Atomics !== 'undefined',
    webgpu: nav?.gpu !== undefined,
  };
}
