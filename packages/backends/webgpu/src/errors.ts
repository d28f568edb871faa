import { TinyVisionError } from '@tinyvision/tensor';

/**
 * A WebGPU failure after initialisation: device lost, out of memory, or a shader that did not compile. Reads
 * and `sync()` throw it instead of returning numbers computed by a broken device.
 *
 * @example
 * ```ts
 * try { await t.data(); } catch (e) { if (WebGpuError.isInstance(e)) console.error(e.reason); }
 * ```
 */
export class WebGpuError extends TinyVisionError {
  /** `'device-lost'`, `'out-of-memory'`, `'validation'` (includes shader compile errors) or `'internal'`. */
  readonly reason: string;
  /**
   * @param message - what failed and where
   * @param reason - failure class
   * @param options - `cause` carries the original error
   */
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, 'WEBGPU', options);
    this.reason = reason;
  }
}

/**
 * Thrown by a kernel that has no WGSL implementation for its inputs and therefore runs on the CPU reference,
 * when one of its inputs exists only in GPU memory. The synchronous op engine cannot wait for a GPU read, so
 * the backend moves the producing kernel to the host for later runs: retry the computation (what
 * {@link runWithFallback} does).
 *
 * @example
 * ```ts
 * const y = await runWithFallback(backend, () => model(x));
 * ```
 */
export class HostReadRequiredError extends TinyVisionError {
  /** Kernel that needed host data. */
  readonly kernel: string;
  /** Kernels whose GPU outputs were needed; they now run on the host. */
  readonly producers: readonly string[];
  /**
   * @param kernel - the kernel that needed host data
   * @param producers - the kernels that produced the GPU-only inputs
   */
  constructor(kernel: string, producers: readonly string[]) {
    super(
      `webgpu: kernel '${kernel}' runs on the CPU reference and needs the output of '${producers.join("', '")}' ` +
        'on the host, which a synchronous op cannot read from the GPU; those kernels now run on the host: retry',
      'WEBGPU_HOST_READ',
    );
    this.kernel = kernel;
    this.producers = producers;
  }
}
