/**
 * `@tinyvision/backend-wasm`: a CPU backend in WebAssembly (SIMD build when the engine validates SIMD, else a
 * scalar build). Register it with `registerBackend(wasm())` and activate it with `await useBackend('wasm')`.
 *
 * @example
 * ```ts
 * import { registerBackend, useBackend } from '@tinyvision/tensor';
 * import { wasm } from '@tinyvision/backend-wasm';
 * registerBackend(wasm());
 * await useBackend('wasm');
 * ```
 * @packageDocumentation
 */
export { type KernelStats, WasmBackend, type WasmBackendOptions, type WasmHandle, wasm } from './backend.js';
export { WasmMemoryError } from './errors.js';
export { simdSupported } from './module.js';
