import { InvalidArgumentError, isFloat, Tensor } from '@tinyvision/tensor';
import {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  loadStateDictInto,
  type StateDict,
} from './state-dict.js';

export type { LoadStateDictOptions, LoadStateDictResult, StateDict };

/** Options of {@link Module.registerBuffer}. */
export interface RegisterBufferOptions {
  /** Whether the buffer is part of the state dict (default true). */
  readonly persistent?: boolean;
}

/** A forward pre-hook: may return replacement inputs. */
export type ForwardPreHook = (module: Module, inputs: readonly Tensor[]) => readonly Tensor[] | undefined;
/** A forward hook: may return a replacement output. */
export type ForwardHook = (module: Module, inputs: readonly Tensor[], output: Tensor) => Tensor | undefined;

/** Returned by the hook registration methods: `remove()` unregisters the hook (idempotent). */
export interface HookHandle {
  /** Unregisters the hook. */
  remove(): void;
}

const NAME_RE = /^[^.]+$/;

/**
 * Base class of layers and models, after `torch.nn.Module`: parameters, buffers and child modules are
 * registered by name (registration order is the state-dict order), `train()`/`eval()` switch mode recursively,
 * `stateDict()`/`loadStateDict()` move weights with torch key names (`features.0.0.weight`), and `call()` runs
 * `forward` between the forward hooks.
 * @example
 * ```ts
 * class Mlp extends Module {
 *   readonly fc = this.registerModule('fc', new Linear(4, 2));
 *   forward(x: Tensor): Tensor {
 *     return relu(this.fc.call(x));
 *   }
 * }
 * const y = new Mlp().call(randn([3, 4]));
 * ```
 */
export abstract class Module {
  /** Training mode (default true): BatchNorm uses batch statistics, Dropout drops. Set with {@link Module.train}. */
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly mods = new Map<string, Module | null>();
  private readonly preHooks = new Map<number, ForwardPreHook>();
  private readonly hooks = new Map<number, ForwardHook>();
  private hookId = 0;

  /**
   * The computation of this module. Call it through {@link Module.call} so hooks run.
   * @param inputs - input tensors
   * @returns the output tensor
   */
  abstract forward(...inputs: Tensor[]): Tensor;

  /**
   * Runs the forward pre-hooks, `forward` and the forward hooks.
   * @param inputs - input tensors
   * @returns `forward`'s result (or a hook's replacement)
   * @throws whatever `forward` or a hook throws
   * @example
   * ```ts
   * const y = new ReLU().call(tensor([-1, 2])); // [0, 2]
   * ```
   */
  call(...inputs: Tensor[]): Tensor {
    let args: readonly Tensor[] = inputs;
    for (const hook of [...this.preHooks.values()]) args = hook(this, args) ?? args;
    let out = this.forward(...args);
    for (const hook of [...this.hooks.values()]) out = hook(this, args, out) ?? out;
    return out;
  }

  private checkName(name: string, kind: string): void {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new InvalidArgumentError(
        `${this.constructor.name}.register${kind}: name ${JSON.stringify(name)} must be non-empty without '.'`,
      );
    }
    const taken =
      (kind !== 'Parameter' && this.params.has(name)) ||
      (kind !== 'Buffer' && this.bufs.has(name)) ||
      (kind !== 'Module' && this.mods.has(name));
    if (taken) {
      throw new InvalidArgumentError(
        `${this.constructor.name}.register${kind}: '${name}' is already registered as another kind`,
      );
    }
  }

  /**
   * Registers a parameter (a float tensor that requires grad; `null` reserves the name, like torch's
   * `bias=None`). Re-registering a name replaces the tensor.
   * @param name - attribute name without dots
   * @param t - the tensor or null
   * @param opts - `requiresGrad` (default true)
   * @returns `t`, so fields can be initialised in one line
   * @throws {InvalidArgumentError} on a bad or already used name, or a non-Tensor value
   * @example
   * ```ts
   * this.weight = this.registerParameter('weight', randn([4, 4]));
   * ```
   */
  registerParameter<T extends Tensor | null>(name: string, t: T, opts: { requiresGrad?: boolean } = {}): T {
    this.checkName(name, 'Parameter');
    if (t !== null && !(t instanceof Tensor)) {
      throw new InvalidArgumentError(`registerParameter: '${name}' must be a Tensor or null`);
    }
    if (t && (opts.requiresGrad ?? true) && isFloat(t.dtype)) t.requiresGrad_();
    this.params.set(name, t);
    return t;
  }

  /**
   * Registers a buffer: state that is not trained (BatchNorm running statistics). Persistent buffers are
   * part of the state dict.
   * @param name - attribute name without dots
   * @param t - the tensor or null
   * @param opts - `persistent` (default true)
   * @returns `t`
   * @throws {InvalidArgumentError} on a bad or already used name, or a non-Tensor value
   * @example
   * ```ts
   * this.runningMean = this.registerBuffer('running_mean', zeros([8]));
   * ```
   */
  registerBuffer<T extends Tensor | null>(name: string, t: T, opts: RegisterBufferOptions = {}): T {
    this.checkName(name, 'Buffer');
    if (t !== null && !(t instanceof Tensor)) {
      throw new InvalidArgumentError(`registerBuffer: '${name}' must be a Tensor or null`);
    }
    this.bufs.set(name, t);
    if (opts.persistent ?? true) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return t;
  }

  /**
   * Registers a child module (its parameters get the prefix `name.`).
   * @param name - attribute name without dots
   * @param m - the module or null
   * @returns `m`
   * @throws {InvalidArgumentError} on a bad or already used name, or a non-Module value
   * @example
   * ```ts
   * this.features = this.registerModule('features', new Sequential(conv, bn));
   * ```
   */
  registerModule<T extends Module | null>(name: string, m: T): T {
    this.checkName(name, 'Module');
    if (m !== null && !(m instanceof Module)) {
      throw new InvalidArgumentError(`registerModule: '${name}' must be a Module or null`);
    }
    this.mods.set(name, m);
    return m;
  }

  /**
   * This module and all descendants, pre-order, with dotted names (`''` for this one). Each module is
   * listed once even when shared.
   * @param prefix - prepended to every name
   * @returns `[name, module]` pairs
   * @example
   * ```ts
   * model.namedModules().map(([n]) => n); // ['', '0', '1', ...]
   * ```
   */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.mods) if (c) walk(c, p ? `${p}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  /**
   * Direct children with their names.
   * @returns `[name, module]` pairs in registration order
   * @example
   * ```ts
   * new Sequential(new ReLU()).namedChildren(); // [['0', ReLU]]
   * ```
   */
  namedChildren(): [string, Module][] {
    return [...this.mods].filter((e): e is [string, Module] => e[1] !== null);
  }

  /**
   * Direct children.
   * @returns the child modules in registration order
   * @example
   * ```ts
   * model.children().length;
   * ```
   */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  private namedTensors(
    kind: 'params' | 'bufs',
    prefix: string,
    recurse: boolean,
    persistentOnly: boolean,
  ): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [n, t] of m[kind]) {
        if (!t || seen.has(t) || (persistentOnly && m.nonPersistent.has(n))) continue;
        seen.add(t);
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with dotted torch-style names (`features.0.0.weight`); a shared parameter is listed once.
   * @param prefix - prepended to every name
   * @param recurse - include descendants (default true)
   * @returns `[name, tensor]` pairs
   * @example
   * ```ts
   * new Linear(2, 3).namedParameters().map(([n]) => n); // ['weight', 'bias']
   * ```
   */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedTensors('params', prefix, recurse, false);
  }

  /**
   * All parameters (what an optimizer trains).
   * @param recurse - include descendants (default true)
   * @returns the parameter tensors
   * @example
   * ```ts
   * const opt = sgd(model.parameters(), { lr: 0.1 });
   * ```
   */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }

  /**
   * Buffers with dotted names (persistent or not).
   * @param prefix - prepended to every name
   * @param recurse - include descendants (default true)
   * @returns `[name, tensor]` pairs
   * @example
   * ```ts
   * new BatchNorm2d(4).namedBuffers().map(([n]) => n); // ['running_mean', 'running_var', 'num_batches_tracked']
   * ```
   */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedTensors('bufs', prefix, recurse, false);
  }

  /**
   * All buffers.
   * @param recurse - include descendants (default true)
   * @returns the buffer tensors
   * @example
   * ```ts
   * model.buffers().length;
   * ```
   */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }

  /**
   * Sets `tensor.name` of every parameter and buffer to its dotted name relative to this module (the graph
   * tracer names initializers after it). `stateDict`, `loadStateDict` and `traceModule` call it.
   * @returns this module
   * @example
   * ```ts
   * model.nameParameters();
   * model.parameters()[0]!.name; // '0.weight'
   * ```
   */
  nameParameters(): this {
    for (const [n, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.name = n;
    return this;
  }

  /**
   * Sets training mode on this module and all descendants.
   * @param mode - true for training, false for evaluation
   * @returns this module
   * @example
   * ```ts
   * model.train();
   * ```
   */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /**
   * Evaluation mode: `train(false)`.
   * @returns this module
   * @example
   * ```ts
   * const y = model.eval().call(x);
   * ```
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Calls `fn` on every descendant and then on this module (torch order), e.g. for custom initialisation.
   * @param fn - called once per module
   * @returns this module
   * @example
   * ```ts
   * model.apply((m) => { if (m instanceof Linear) m.bias?.assign_(zeros(m.bias.shape)); });
   * ```
   */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Total number of parameter elements (shared parameters counted once).
   * @param opts - `trainableOnly`: count only parameters that require grad
   * @returns the count
   * @example
   * ```ts
   * new Linear(16, 10).numParameters(); // 170
   * ```
   */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((t) => !opts.trainableOnly || t.requiresGrad)
      .reduce((a, t) => a + t.size, 0);
  }

  /**
   * The state dict: parameters then persistent buffers of each module, pre-order, with dotted torch names
   * (the order of torch's `state_dict()`). The tensors are the module's own (not copies); names are set.
   * @returns name → tensor
   * @example
   * ```ts
   * [...new BatchNorm2d(2).stateDict().keys()]; // ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
   * ```
   */
  stateDict(): Map<string, Tensor> {
    this.nameParameters();
    const out = new Map<string, Tensor>();
    for (const [p, m] of this.namedModules()) {
      const entries = [...m.params, ...[...m.bufs].filter(([n]) => !m.nonPersistent.has(n))];
      for (const [n, t] of entries) if (t) out.set(p ? `${p}.${n}` : n, t);
    }
    return out;
  }

  /**
   * Copies a state dict's values into this module's parameters and buffers in place (`assign_`), so
   * optimizers holding the tensors keep working. Everything is checked before anything is written.
   * @param sd - name → tensor (Map or record)
   * @param opts - `strict` (default true), `allowCast` (default true, within float or within int dtypes)
   * @returns the missing and unexpected keys
   * @throws {StateDictError} on missing/unexpected keys when strict, a shape mismatch, or a dtype mismatch that
   *   may not be cast (the message names the key, expected and actual)
   * @example
   * ```ts
   * const { tensors } = decodeSafetensors(bytes);
   * model.loadStateDict(tensors);
   * ```
   */
  loadStateDict(sd: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    return loadStateDictInto(this.constructor.name, this.stateDict(), sd, opts);
  }

  /**
   * Registers `fn` to run before `forward` on every {@link call}; it may return replacement inputs.
   * @param fn - the hook
   * @returns a handle whose `remove()` unregisters it
   * @example
   * ```ts
   * const h = model.registerForwardPreHook((_m, [x]) => [mul(x!, 2)]);
   * h.remove();
   * ```
   */
  registerForwardPreHook(fn: ForwardPreHook): HookHandle {
    const id = this.hookId++;
    this.preHooks.set(id, fn);
    return { remove: () => void this.preHooks.delete(id) };
  }

  /**
   * Registers `fn` to run after `forward` on every {@link call}; it may return a replacement output.
   * @param fn - the hook
   * @returns a handle whose `remove()` unregisters it
   * @example
   * ```ts
   * const acts: Tensor[] = [];
   * const h = model.registerForwardHook((_m, _in, out) => void acts.push(out));
   * ```
   */
  registerForwardHook(fn: ForwardHook): HookHandle {
    const id = this.hookId++;
    this.hooks.set(id, fn);
    return { remove: () => void this.hooks.delete(id) };
  }
}
