/**
 * `@tinyvision/backend-webgpu`: float32 WGSL kernels (elementwise with broadcasting, activations, tiled GEMM,
 * conv2d / depthwise / fused conv epilogues, pooling, softmax, reductions); every other kernel runs on the CPU
 * reference inside the backend.
 *
 * @example
 * ```ts
 * import { registerBackend, useBackend } from '@tinyvision/tensor';
 * import { webgpu } from '@tinyvision/backend-webgpu';
 * registerBackend(webgpu());
 * await useBackend('webgpu');
 * ```
 * @packageDocumentation
 */
export { type KernelStats, WebGpuBackend } from './backend.js';
export { type AcquiredDevice, acquireDevice, type DeviceOptions } from './device.js';
export { HostReadRequiredError, WebGpuError } from './errors.js';
export { createWebGpuBackend, runWithFallback, type WebGpuOptions, webgpu } from './register.js';
