/**
 * `@tinyvision/backend-webgl`: a WebGL backend through gpu.js (elementwise, MatMul and conv2d kernels in GLSL;
 * everything else on the CPU reference). Opt-in (priority -10).
 *
 * @example
 * ```ts
 * import { registerBackend, useBackend } from '@tinyvision/tensor';
 * import { webgl } from '@tinyvision/backend-webgl';
 * registerBackend(webgl());
 * await useBackend('webgl');
 * ```
 * @packageDocumentation
 */
export {
  createWebGlBackend,
  WebGlBackend,
  type WebGlHandle,
  type WebGlOptions,
  type WebGlStats,
  webgl,
} from './backend.js';
