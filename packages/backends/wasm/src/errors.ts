import { TinyVisionError } from '@tinyvision/tensor';

/**
 * The WebAssembly memory could not grow to hold a new buffer (the engine's limit, or the backend's
 * `maxMemoryBytes` option, was reached).
 * @example
 * ```ts
 * try { wasmTensorOp(); } catch (e) { if (WasmMemoryError.isInstance(e)) console.log(e.requestedBytes); }
 * ```
 */
export class WasmMemoryError extends TinyVisionError {
  /** Bytes the failed allocation asked for. */
  readonly requestedBytes: number;
  /** Size the memory would have needed, in bytes. */
  readonly neededBytes: number;
  /**
   * @param requestedBytes - size of the allocation that failed
   * @param neededBytes - total memory size it needed
   * @param limit - the limit that was hit, in words
   * @param options - `cause` carries the engine's RangeError, if any
   */
  constructor(requestedBytes: number, neededBytes: number, limit: string, options?: ErrorOptions) {
    super(
      `wasm: cannot allocate ${requestedBytes} bytes: memory would need to grow to ${neededBytes} bytes (${limit})`,
      'WASM_MEMORY',
      options,
    );
    this.requestedBytes = requestedBytes;
    this.neededBytes = neededBytes;
  }
}
