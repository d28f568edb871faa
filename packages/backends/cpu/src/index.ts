/**
 * `@tinyvision/backend-cpu`: the reference CPU backend.
 *
 * @example
 * ```ts
 * import { registerBackend } from '@tinyvision/tensor';
 * import { cpu } from '@tinyvision/backend-cpu';
 * registerBackend(cpu());
 * ```
 * @packageDocumentation
 */
export { CpuBackend, cpu } from './backend.js';
