import type { DType } from '../dtype.js';
import { BackendInitError, BackendNotFoundError, InvalidArgumentError } from '../errors/index.js';
import type { Backend, KernelConfig, SelfCheckResult } from './backend-spec-v1.js';

/** How a backend plugin is registered: a name, a priority and a factory. */
export interface BackendRegistration {
  /** Lowercase backend name. */
  readonly name: string;
  /** Higher wins in automatic selection. Negative: opt-in only, never chosen automatically. */
  readonly priority: number;
  /** Creates the backend (async for GPU backends). Called at most once. */
  create(): Backend | Promise<Backend>;
}

interface Entry {
  reg: BackendRegistration;
  backend?: Backend;
  error?: unknown;
  pending?: Promise<Backend>;
  selfCheck?: SelfCheckResult;
}

interface RegistryState {
  entries: Map<string, Entry>;
  kernels: Map<string, KernelConfig>;
  active?: Backend;
}

const KEY = Symbol.for('tinyvision.registry');

/** @internal */
export function registryState(): RegistryState {
  const g = globalThis as Record<symbol, unknown>;
  let s = g[KEY] as RegistryState | undefined;
  if (!s) {
    s = { entries: new Map(), kernels: new Map() };
    g[KEY] = s;
  }
  return s;
}

/**
 * Registers a backend plugin. Re-registering a name with a lower priority is ignored; the same
 * priority with a different factory throws (as onnxruntime does).
 * @param reg - the registration, e.g. `cpu()` from `@tinyvision/backend-cpu`
 * @throws {InvalidArgumentError} on a conflicting registration
 * @example
 * ```ts
 * registerBackend(cpu());
 * ```
 */
export function registerBackend(reg: BackendRegistration): void {
  const s = registryState();
  const old = s.entries.get(reg.name);
  if (old) {
    if (old.reg === reg || old.reg.create === reg.create) return;
    if (reg.priority < old.reg.priority) return;
    if (reg.priority === old.reg.priority) {
      throw new InvalidArgumentError(
        `registerBackend: '${reg.name}' is already registered with priority ${reg.priority}`,
      );
    }
  }
  s.entries.set(reg.name, { reg });
}

function installKernels(s: RegistryState, b: Backend): void {
  for (const k of b.kernels) s.kernels.set(`${k.backendName}_${k.kernelName}`, k);
}

function initSync(e: Entry): Backend | undefined {
  if (e.backend) return e.backend;
  if (e.error || e.pending) return undefined;
  try {
    const b = e.reg.create();
    if (b instanceof Promise) {
      e.pending = b;
      return undefined;
    }
    e.backend = b;
    installKernels(registryState(), b);
    return b;
  } catch (err) {
    e.error = err;
    return undefined;
  }
}

async function initAsync(e: Entry): Promise<Backend> {
  const sync = initSync(e);
  if (sync) return sync;
  if (e.error) throw e.error;
  try {
    const b = await e.pending!;
    e.backend = b;
    installKernels(registryState(), b);
    return b;
  } catch (err) {
    e.error = err;
    throw err;
  } finally {
    e.pending = undefined;
  }
}

/**
 * Initialises (once) and activates a backend by name, or the best available one when no name is given:
 * candidates are tried by priority; a backend whose init or self-check fails is skipped and the
 * reasons are combined in the error.
 * @param name - backend name, or undefined for automatic choice
 * @param opts - `selfCheck: true` runs the backend's self-check and rejects it on mismatch
 * @returns the active backend
 * @throws {BackendNotFoundError} when no backend can be used
 * @example
 * ```ts
 * await useBackend('cpu');
 * ```
 */
export async function useBackend(name?: string, opts: { selfCheck?: boolean } = {}): Promise<Backend> {
  const s = registryState();
  const names = name ? [name] : candidates(s);
  if (name && !s.entries.has(name)) throw new BackendNotFoundError(`backend '${name}' is not registered`);
  const errors: string[] = [];
  for (const n of names) {
    const e = s.entries.get(n)!;
    try {
      const b = await initAsync(e);
      if (opts.selfCheck && b.selfCheck) {
        e.selfCheck ??= await b.selfCheck();
        if (!e.selfCheck.ok)
          throw new BackendInitError(`self-check failed: ${e.selfCheck.details.join('; ')}`);
      }
      s.active = b;
      return b;
    } catch (err) {
      errors.push(`[${n}] ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new BackendNotFoundError(
    `no available backend found. ERR: ${errors.join(', ') || 'none registered'}`,
  );
}

function candidates(s: RegistryState): string[] {
  return [...s.entries.values()]
    .filter((e) => e.reg.priority >= 0)
    .sort((a, b) => b.reg.priority - a.reg.priority)
    .map((e) => e.reg.name);
}

/**
 * The active backend; when none is active, the best registered backend that initialises synchronously.
 * @returns the active backend
 * @throws {BackendNotFoundError} when none is registered or all need `await useBackend()`
 * @example
 * ```ts
 * getBackend().name; // 'cpu'
 * ```
 */
export function getBackend(): Backend {
  const s = registryState();
  if (s.active) return s.active;
  for (const n of candidates(s)) {
    const b = initSync(s.entries.get(n)!);
    if (b) {
      s.active = b;
      return b;
    }
  }
  throw new BackendNotFoundError(
    'no backend is active: call registerBackend(cpu()) from @tinyvision/backend-cpu (or await useBackend(name) for async backends)',
  );
}

/**
 * A registered backend by name, initialised synchronously if needed (undefined if it cannot be).
 * @param name - backend name
 * @returns the backend or undefined
 * @example
 * ```ts
 * const ref = findBackend('cpu');
 * ```
 */
export function findBackend(name: string): Backend | undefined {
  const e = registryState().entries.get(name);
  return e ? initSync(e) : undefined;
}

/** Status of one registered backend, as `tinyvision doctor` shows it. */
export interface BackendStatus {
  /** Backend name. */
  readonly name: string;
  /** Registration priority. */
  readonly priority: number;
  /** Whether it initialised. */
  readonly available: boolean;
  /** Whether it is the active backend. */
  readonly active: boolean;
  /** Init error message, if any. */
  readonly error?: string;
  /** Self-check result, if run. */
  readonly selfCheck?: SelfCheckResult;
}

/**
 * Initialises every registered backend (and runs self-checks when asked) and reports on each.
 * @param opts - `selfCheck: true` runs each available backend's self-check
 * @returns one status per registered backend, by priority
 * @example
 * ```ts
 * for (const s of await listBackends({ selfCheck: true })) console.log(s.name, s.available);
 * ```
 */
export async function listBackends(opts: { selfCheck?: boolean } = {}): Promise<BackendStatus[]> {
  const s = registryState();
  const out: BackendStatus[] = [];
  const entries = [...s.entries.values()].sort((a, b) => b.reg.priority - a.reg.priority);
  for (const e of entries) {
    let b: Backend | undefined;
    try {
      b = await initAsync(e);
      if (opts.selfCheck && b.selfCheck) e.selfCheck ??= await b.selfCheck();
    } catch {
      // recorded in e.error
    }
    out.push({
      name: e.reg.name,
      priority: e.reg.priority,
      available: b !== undefined,
      active: b !== undefined && s.active === b,
      ...(e.error ? { error: e.error instanceof Error ? e.error.message : String(e.error) } : {}),
      ...(e.selfCheck ? { selfCheck: e.selfCheck } : {}),
    });
  }
  return out;
}

/**
 * The kernel registered for (kernelName, backendName), if any.
 * @param kernelName - kernel name
 * @param backendName - backend name
 * @returns the kernel config or undefined
 * @example
 * ```ts
 * getKernel('Conv2D', 'cpu');
 * ```
 */
export function getKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return registryState().kernels.get(`${backendName}_${kernelName}`);
}

/** What a backend can run natively: kernel name → accepted input dtypes (`'any'` when unrestricted). */
export type Capabilities = ReadonlyMap<string, readonly DType[] | 'any'>;

/**
 * Capability query: the kernels (and their dtypes) a registered backend provides natively. Ops missing here
 * run as composites or fall back to the CPU reference per node (see `getFallbackReport`).
 * @param backendName - backend name
 * @returns kernel name → dtypes, sorted by kernel name
 * @throws {BackendNotFoundError} when the backend is not registered or cannot initialise synchronously
 * @example
 * ```ts
 * capabilities('cpu').get('Conv2D'); // ['float32', 'float16', 'bfloat16']
 * ```
 */
export function capabilities(backendName: string): Capabilities {
  const b = findBackend(backendName);
  if (!b)
    throw new BackendNotFoundError(
      `capabilities: backend '${backendName}' is not registered or not initialised`,
    );
  const out = new Map<string, readonly DType[] | 'any'>();
  for (const k of [...b.kernels].sort((x, y) => x.kernelName.localeCompare(y.kernelName))) {
    out.set(k.kernelName, k.dtypes ?? 'any');
  }
  return out;
}

/**
 * Removes every registration and the active backend (for tests).
 * @internal
 */
export function resetRegistry(): void {
  const s = registryState();
  for (const e of s.entries.values()) e.backend?.dispose();
  s.entries.clear();
  s.kernels.clear();
  s.active = undefined;
}
