import type { Attrs, Backend, DataHandle, KernelConfig, TensorInfo } from './backend/backend-spec-v1.js';
import { StridedCopy } from './backend/kernel-names.js';
import { findBackend, getBackend, getKernel } from './backend/registry.js';
import { allocStorage, type DType, isFloat, type TypedArray } from './dtype.js';
import {
  DisposedTensorError,
  DTypeError,
  InvalidArgumentError,
  KernelNotFoundError,
  ShapeError,
} from './errors/index.js';
import type { QuantParams } from './quant.js';
import { contiguousStrides, fmtShape, isContiguous, shapesEqual, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * Reference-counted backend data shared by a tensor and its views.
 * @internal
 */
export class Storage {
  refs = 0;
  constructor(
    readonly backend: Backend,
    readonly handle: DataHandle,
    readonly dtype: DType,
    readonly size: number,
  ) {}
  /** Drops one reference; frees the backend data at zero. */
  release(): void {
    if (--this.refs === 0) this.backend.free(this.handle);
  }
}

/**
 * A recorded op, kept on its outputs so `backward()` can walk the graph.
 * @internal
 */
export interface GradNode {
  readonly kernel: string;
  readonly inputs: readonly (Tensor | null)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Attrs;
}

/** Receives every top-level op while a trace is running (see `trace()` in the graph module). */
export interface TraceHook {
  /**
   * Called once per top-level op, after it ran.
   * @param kernel - kernel name
   * @param inputs - op inputs (null for omitted optional inputs)
   * @param outputs - op outputs
   * @param attrs - op attributes
   */
  record(kernel: string, inputs: readonly (Tensor | null)[], outputs: readonly Tensor[], attrs: Attrs): void;
}

/** Why a node ran on the CPU reference instead of the active backend. */
export interface FallbackRecord {
  /** Kernel name. */
  readonly kernel: string;
  /** Active backend that lacked the kernel. */
  readonly backend: string;
  /** Input dtype. */
  readonly dtype: DType;
  /** Human-readable reason. */
  readonly reason: string;
  /** How many times it happened. */
  count: number;
}

interface EngineState {
  nextId: number;
  gradEnabled: boolean;
  compositeDepth: number;
  scopes: Tensor[][];
  trace: TraceHook | null;
  fallbacks: Map<string, FallbackRecord>;
}

const STATE_KEY = Symbol.for('tinyvision.engine');

/** @internal */
export function engineState(): EngineState {
  const g = globalThis as Record<symbol, unknown>;
  let s = g[STATE_KEY] as EngineState | undefined;
  if (!s) {
    s = { nextId: 0, gradEnabled: true, compositeDepth: 0, scopes: [], trace: null, fallbacks: new Map() };
    g[STATE_KEY] = s;
  }
  return s;
}

/** @internal */
export function nextTensorId(): number {
  return engineState().nextId++;
}

/** @internal Registers a new tensor with the innermost `tidy` scope. */
export function trackTensor(t: Tensor): void {
  const scopes = engineState().scopes;
  scopes[scopes.length - 1]?.push(t);
}

/**
 * Creates a tensor from host values on the active backend.
 * @internal
 */
export function makeTensor(
  values: TypedArray,
  shape: readonly number[],
  dtype: DType,
  quant?: QuantParams,
): Tensor {
  const backend = getBackend();
  const storage = new Storage(backend, backend.write(values, dtype), dtype, values.length);
  return new Tensor(storage, [...shape], contiguousStrides(shape), 0, dtype, quant);
}

function wrapOutput(backend: Backend, info: TensorInfo): Tensor {
  const storage = new Storage(backend, info.handle, info.dtype, sizeOf(info.shape));
  return new Tensor(storage, [...info.shape], contiguousStrides(info.shape), 0, info.dtype, info.quant);
}

function checkAlive(t: Tensor, kernel: string, i: number): void {
  if (t.isDisposed) throw new DisposedTensorError(`${kernel}: input ${i} was disposed`);
}

/** Host-side gather of a strided view into contiguous storage. */
function gatherStrided(
  src: TypedArray,
  dtype: DType,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
) {
  const n = sizeOf(shape);
  const out = allocStorage(dtype, n);
  const rank = shape.length;
  if (n === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let p = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[p]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      p += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function readHost(storage: Storage): TypedArray {
  const b = storage.backend;
  if (!b.readSync) {
    throw new KernelNotFoundError(`backend '${b.name}' cannot read synchronously; this path needs readSync`);
  }
  return b.readSync(storage.handle);
}

/**
 * The tensor as a contiguous {@link TensorInfo} on `backend` (copies views, moves data across backends).
 * @internal
 */
export function toInfo(t: Tensor, backend: Backend): TensorInfo {
  const s = t.storage;
  const exact = s.size === t.size && t.offset === 0 && isContiguous(t.shape, t.strides);
  if (s.backend === backend && exact)
    return { handle: s.handle, shape: t.shape, dtype: t.dtype, quant: t.quant };
  if (s.backend === backend) {
    const k = getKernel(StridedCopy, backend.name);
    if (k) {
      const [out] = k.kernelFunc({
        inputs: [{ handle: s.handle, shape: [s.size], dtype: t.dtype }],
        attrs: { shape: t.shape, strides: t.strides, offset: t.offset },
        backend,
      });
      return { ...out!, quant: t.quant };
    }
  }
  const host = exact ? readHost(s) : gatherStrided(readHost(s), t.dtype, t.shape, t.strides, t.offset);
  return { handle: backend.write(host, t.dtype), shape: t.shape, dtype: t.dtype, quant: t.quant };
}

function pickKernel(kernel: string, backend: Backend, dtype: DType | undefined): KernelConfig | undefined {
  const k = getKernel(kernel, backend.name);
  if (!k) return undefined;
  if (dtype && k.dtypes && !k.dtypes.includes(dtype)) return undefined;
  return k;
}

function needsGrad(inputs: readonly (Tensor | null)[]): boolean {
  if (!engineState().gradEnabled) return false;
  return inputs.some((t) => t?.requiresGrad === true);
}

function attachGrad(
  kernel: string,
  inputs: readonly (Tensor | null)[],
  outputs: Tensor[],
  attrs: Attrs,
): void {
  const node: GradNode = { kernel, inputs, outputs, attrs };
  for (const o of outputs) {
    if (isFloat(o.dtype)) {
      o.requiresGrad = true;
      o.gradNode = node;
    }
  }
}

function record(
  kernel: string,
  inputs: readonly (Tensor | null)[],
  outputs: readonly Tensor[],
  attrs: Attrs,
): void {
  const s = engineState();
  if (s.trace && s.compositeDepth === 0) s.trace.record(kernel, inputs, outputs, attrs);
}

function noteFallback(kernel: string, backend: Backend, dtype: DType, reason: string): void {
  const fb = engineState().fallbacks;
  const key = `${backend.name}/${kernel}/${dtype}`;
  const rec = fb.get(key);
  if (rec) rec.count++;
  else fb.set(key, { kernel, backend: backend.name, dtype, reason, count: 1 });
}

/**
 * Runs a kernel on the active backend. Missing kernels fall back to the CPU reference (recorded in
 * {@link getFallbackReport}). Records autograd and trace nodes.
 * @param kernel - kernel name from `kernel-names.ts`
 * @param inputs - input tensors (null for omitted optional inputs)
 * @param attrs - kernel attributes
 * @returns the output tensors
 * @throws {KernelNotFoundError} when neither the backend nor the CPU reference has the kernel
 * @example
 * ```ts
 * const [y] = runKernel('Relu', [x]);
 * ```
 */
export function runKernel(kernel: string, inputs: readonly (Tensor | null)[], attrs: Attrs = {}): Tensor[] {
  inputs.forEach((t, i) => t && checkAlive(t, kernel, i));
  const backend = getBackend();
  const dtype = inputs.find((t) => t !== null)?.dtype;
  let k = pickKernel(kernel, backend, dtype);
  let runOn = backend;
  if (!k) {
    const ref = backend.name === 'cpu' ? undefined : findBackend('cpu');
    const refK = ref && pickKernel(kernel, ref, dtype);
    if (!ref || !refK) {
      throw new KernelNotFoundError(
        `${kernel}: no kernel for backend '${backend.name}'${dtype ? ` and dtype ${dtype}` : ''}, and no CPU reference fallback`,
      );
    }
    noteFallback(
      kernel,
      backend,
      dtype ?? 'float32',
      getKernel(kernel, backend.name) ? 'dtype not supported' : 'kernel missing',
    );
    k = refK;
    runOn = ref;
  }
  const infos = inputs.map((t) => (t ? toInfo(t, runOn) : null));
  let outInfos: TensorInfo[];
  try {
    outInfos = k.kernelFunc({ inputs: infos, attrs, backend: runOn });
  } finally {
    // Contiguous copies and cross-backend moves made for this call are temporaries.
    infos.forEach((info, i) => {
      if (info && info.handle !== inputs[i]!.storage.handle) runOn.free(info.handle);
    });
  }
  if (runOn !== backend) {
    outInfos = outInfos.map((o) => {
      const host = runOn.readSync!(o.handle);
      runOn.free(o.handle);
      return { ...o, handle: backend.write(host, o.dtype) };
    });
  }
  const outputs = outInfos.map((o) => wrapOutput(backend, o));
  if (needsGrad(inputs)) attachGrad(kernel, inputs, outputs, attrs);
  record(kernel, inputs, outputs, attrs);
  return outputs;
}

/**
 * Runs a composite op: the active backend's fused kernel when it has one and no gradient is needed,
 * else `impl` built from other ops (autograd flows through them). Traces as one node named `kernel`.
 * @param kernel - the composite's kernel name
 * @param inputs - input tensors (null for omitted optional inputs)
 * @param attrs - attributes
 * @param impl - the composite implementation
 * @returns the output tensors
 * @example
 * ```ts
 * const [y] = runComposite('Linear', [x, w, b], {}, ([x, w, b]) => [add(matmul(x, w, {transposeB: true}), b)]);
 * ```
 */
export function runComposite(
  kernel: string,
  inputs: readonly (Tensor | null)[],
  attrs: Attrs,
  impl: (inputs: readonly (Tensor | null)[]) => Tensor[],
): Tensor[] {
  inputs.forEach((t, i) => t && checkAlive(t, kernel, i));
  const backend = getBackend();
  const dtype = inputs.find((t) => t !== null)?.dtype;
  const s = engineState();
  if (!needsGrad(inputs) && pickKernel(kernel, backend, dtype)) {
    let fused: Tensor[];
    s.compositeDepth++;
    try {
      fused = runKernel(kernel, inputs, attrs);
    } finally {
      s.compositeDepth--;
    }
    record(kernel, inputs, fused, attrs);
    return fused;
  }
  s.compositeDepth++;
  let out: Tensor[];
  try {
    out = impl(inputs);
  } finally {
    s.compositeDepth--;
  }
  record(kernel, inputs, out, attrs);
  return out;
}

/**
 * Creates a view of `base` (no copy) and records it as op `kernel` for autograd and tracing.
 * @internal
 */
export function runView(
  kernel: string,
  base: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  attrs: Attrs,
): Tensor {
  checkAlive(base, kernel, 0);
  const out = new Tensor(base.storage, [...shape], [...strides], offset, base.dtype, base.quant);
  if (needsGrad([base])) attachGrad(kernel, [base], [out], attrs);
  record(kernel, [base], [out], attrs);
  return out;
}

/**
 * Reads a tensor's values synchronously (contiguous copy, in its storage dtype).
 * @internal
 */
export function readSync(t: Tensor): TypedArray {
  if (t.isDisposed) throw new DisposedTensorError('dataSync: tensor was disposed');
  const s = t.storage;
  if (s.size === t.size && t.offset === 0 && isContiguous(t.shape, t.strides)) return readHost(s).slice();
  return gatherStrided(readHost(s), t.dtype, t.shape, t.strides, t.offset);
}

/**
 * Reads a tensor's values asynchronously (works on every backend).
 * @internal
 */
export async function readAsync(t: Tensor): Promise<TypedArray> {
  if (t.isDisposed) throw new DisposedTensorError('data: tensor was disposed');
  const s = t.storage;
  const exact = s.size === t.size && t.offset === 0 && isContiguous(t.shape, t.strides);
  if (exact) return (await s.backend.read(s.handle)).slice();
  if (s.backend.readSync) return readSync(t);
  const info = toInfo(t, s.backend);
  const v = await s.backend.read(info.handle);
  s.backend.free(info.handle);
  return v;
}

/**
 * Runs `fn` with gradient recording disabled (inference, optimizer updates).
 * @param fn - the function
 * @returns what `fn` returns
 * @example
 * ```ts
 * const y = noGrad(() => model(x));
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const s = engineState();
  const prev = s.gradEnabled;
  s.gradEnabled = false;
  try {
    return fn();
  } finally {
    s.gradEnabled = prev;
  }
}

/**
 * Whether ops currently record gradients.
 * @returns true unless inside {@link noGrad}
 * @example
 * ```ts
 * isGradEnabled(); // true
 * ```
 */
export function isGradEnabled(): boolean {
  return engineState().gradEnabled;
}

/** Anything `tidy` can return: tensors are kept, everything else passes through. */
export type TidyResult =
  | Tensor
  | readonly Tensor[]
  | Record<string, Tensor>
  | void
  | number
  | string
  | boolean;

/**
 * Runs `fn` and disposes every tensor it created that is not part of its result (or kept with {@link keep}).
 * Do not return a Promise from inside `tidy`. Tensors needed by a later `backward()` must not be tidied away.
 * @param fn - the function
 * @returns what `fn` returns
 * @example
 * ```ts
 * const y = tidy(() => relu(add(x, 1)));
 * ```
 */
export function tidy<T extends TidyResult>(fn: () => T): T {
  const s = engineState();
  const scope: Tensor[] = [];
  s.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    s.scopes.pop();
  }
  if (result instanceof Promise) throw new InvalidArgumentError('tidy: fn must not return a Promise');
  const keepSet = new Set<Tensor>();
  const collect = (v: unknown) => {
    if (v instanceof Tensor) keepSet.add(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(result);
  for (const t of scope) {
    if (keepSet.has(t) || t.kept) trackTensor(t);
    else t.dispose();
  }
  return result;
}

/**
 * Marks a tensor so the enclosing {@link tidy} does not dispose it.
 * @param t - the tensor
 * @returns `t`
 * @example
 * ```ts
 * tidy(() => { state = keep(add(state, 1)); });
 * ```
 */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

/**
 * Installs (or removes with null) the trace hook. Used by `trace()`.
 * @internal
 */
export function setTraceHook(hook: TraceHook | null): TraceHook | null {
  const s = engineState();
  const prev = s.trace;
  s.trace = hook;
  return prev;
}

/**
 * Which kernels ran on the CPU reference instead of the active backend, and why.
 * @returns one record per (backend, kernel, dtype)
 * @example
 * ```ts
 * for (const r of getFallbackReport()) console.log(r.kernel, r.reason, r.count);
 * ```
 */
export function getFallbackReport(): FallbackRecord[] {
  return [...engineState().fallbacks.values()];
}

/**
 * Clears the fallback report.
 * @example
 * ```ts
 * resetFallbackReport();
 * ```
 */
export function resetFallbackReport(): void {
  engineState().fallbacks.clear();
}

/**
 * In-place data replacement used by `Tensor.assign_`.
 * @internal
 */
export function assignTensor(target: Tensor, src: Tensor): void {
  checkAlive(target, 'assign_', 0);
  checkAlive(src, 'assign_', 1);
  if (!shapesEqual(target.shape, src.shape)) {
    throw new ShapeError(
      `assign_: source shape ${fmtShape(src.shape)} differs from target ${fmtShape(target.shape)}`,
    );
  }
  if (target.dtype !== src.dtype)
    throw new DTypeError(`assign_: source dtype ${src.dtype} differs from target ${target.dtype}`);
  if (
    target.offset !== 0 ||
    !isContiguous(target.shape, target.strides) ||
    target.storage.size !== target.size
  ) {
    throw new InvalidArgumentError(
      'assign_: target must be a contiguous tensor that owns its storage, not a view',
    );
  }
  const backend = target.storage.backend;
  const info = toInfo(src, backend);
  const storage =
    info.handle === src.storage.handle ? src.storage : new Storage(backend, info.handle, src.dtype, src.size);
  storage.refs++;
  target.storage.release();
  target.storage = storage;
}
