import { TinyVisionError } from './tinyvision-error.js';

export { TinyVisionError };

/**
 * A tensor shape is wrong for an op: rank, size, broadcast or attribute mismatch.
 * @example
 * ```ts
 * throw new ShapeError("add: 'b' shape [2,3] not broadcastable to [4,3]");
 * ```
 */
export class ShapeError extends TinyVisionError {
  /** @param message - names the op, the argument, the shapes and what was expected */
  constructor(message: string) {
    super(message, 'SHAPE');
  }
}

/**
 * A tensor dtype is wrong for an op, or two dtypes do not match.
 * @example
 * ```ts
 * throw new DTypeError("matmul: 'b' has dtype int8, expected float32");
 * ```
 */
export class DTypeError extends TinyVisionError {
  /** @param message - names the op, the argument and the dtypes */
  constructor(message: string) {
    super(message, 'DTYPE');
  }
}

/**
 * An argument value (not shape or dtype) is invalid: a negative stride, NaN epsilon, unknown mode.
 * @example
 * ```ts
 * throw new InvalidArgumentError('conv2d: strides must be positive integers, got [0,1]');
 * ```
 */
export class InvalidArgumentError extends TinyVisionError {
  /** @param message - names the op, the argument and the expected range */
  constructor(message: string) {
    super(message, 'INVALID_ARGUMENT');
  }
}

/**
 * No backend with the requested name is registered, or none could be initialised.
 * @example
 * ```ts
 * throw new BackendNotFoundError("backend 'webgpu' is not registered");
 * ```
 */
export class BackendNotFoundError extends TinyVisionError {
  /** @param message - which backend(s) and why */
  constructor(message: string) {
    super(message, 'BACKEND_NOT_FOUND');
  }
}

/**
 * A backend's `init()` or self-check failed.
 * @example
 * ```ts
 * throw new BackendInitError("webgpu: no adapter");
 * ```
 */
export class BackendInitError extends TinyVisionError {
  /**
   * @param message - the backend and the reason
   * @param options - `cause` carries the original error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'BACKEND_INIT', options);
  }
}

/**
 * No kernel is registered for (op, backend, dtype) and no fallback applies.
 * @example
 * ```ts
 * throw new KernelNotFoundError("Conv2D: no kernel for backend 'wasm' and dtype float16");
 * ```
 */
export class KernelNotFoundError extends TinyVisionError {
  /** @param message - the kernel, backend and dtype */
  constructor(message: string) {
    super(message, 'KERNEL_NOT_FOUND');
  }
}

/**
 * An op in a model or graph is not supported by a reader, writer or target.
 * @example
 * ```ts
 * throw new UnsupportedOpError('tflite reader: op CUSTOM (node 12) is not supported');
 * ```
 */
export class UnsupportedOpError extends TinyVisionError {
  /** @param message - the op name and where it was found */
  constructor(message: string) {
    super(message, 'UNSUPPORTED_OP');
  }
}

/**
 * A tensor was used after `dispose()`.
 * @example
 * ```ts
 * throw new DisposedTensorError('relu: input 0 was disposed');
 * ```
 */
export class DisposedTensorError extends TinyVisionError {
  /** @param message - where the disposed tensor was used */
  constructor(message: string) {
    super(message, 'DISPOSED');
  }
}

/**
 * A file or byte buffer is malformed: bad magic, truncated data, inconsistent header.
 * @example
 * ```ts
 * throw new FormatError('npy: bad magic at byte 0');
 * ```
 */
export class FormatError extends TinyVisionError {
  /** @param message - the format, the position and what was expected */
  constructor(message: string) {
    super(message, 'FORMAT');
  }
}

/**
 * A graph failed validation: dangling edge, cycle, duplicate value, shape conflict.
 * @example
 * ```ts
 * throw new GraphError("graph: node 'conv1' reads undefined value 'x9'");
 * ```
 */
export class GraphError extends TinyVisionError {
  /** @param message - the node/value and the problem */
  constructor(message: string) {
    super(message, 'GRAPH');
  }
}
