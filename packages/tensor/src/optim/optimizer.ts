import { tensor } from '../creation.js';
import { type DType, isFloat } from '../dtype.js';
import { keep, noGrad, tidy } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { contiguous } from '../ops/copy.js';
import { fmtShape, shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Hyperparameters every optimizer has; schedulers change `lr`. */
export interface BaseHyperparams {
  /** Learning rate. */
  lr: number;
  /** Weight decay (L2 for SGD/Adam, decoupled for AdamW). */
  weightDecay: number;
}

/**
 * One parameter group: its tensors plus its own hyperparameters (PyTorch `param_groups` entries).
 * `initialLr` is set by the first LR scheduler attached to the optimizer (torch's `initial_lr`).
 */
export type ParamGroup<H extends BaseHyperparams> = H & {
  /** Parameters of this group. */
  params: Tensor[];
  /** Learning rate the first scheduler started from. */
  initialLr?: number;
};

/** A parameter group as passed to a constructor: missing hyperparameters take the optimizer's defaults. */
export type ParamGroupInput<H extends BaseHyperparams> = Partial<H> & {
  /** Parameters of this group. */
  params: readonly Tensor[];
};

/** What optimizers are built from: parameters (any iterable, e.g. `model.parameters()`) or parameter groups. */
export type OptimizerParams<H extends BaseHyperparams> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/** Per-parameter optimizer state: moment buffers as tensors, counters as numbers. */
export type ParamState = Record<string, Tensor | number>;

/** A tensor in a state dict: plain JSON (values as float32-decoded numbers). */
export interface SerializedTensor {
  /** Dims. */
  shape: number[];
  /** Element type. */
  dtype: DType;
  /** Values, row-major. */
  data: number[];
}

/**
 * Serialisable optimizer state in PyTorch's layout: `state` keyed by the parameter's index across all groups
 * (in group order), `paramGroups` with hyperparameters and parameter indices.
 */
export interface OptimizerStateDict {
  /** Per-parameter state by parameter index (parameters without state are absent). */
  state: Record<string, Record<string, number | SerializedTensor>>;
  /** Hyperparameters of each group with the indices of its parameters. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** Options of {@link Optimizer.zeroGrad}. */
export interface ZeroGradOptions {
  /** Dispose the gradient tensors (default true); pass false when something else still holds them. */
  readonly dispose?: boolean;
}

function serialize(t: Tensor): SerializedTensor {
  return { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.toFloat32()) };
}

/**
 * Base class of optimizers (PyTorch `torch.optim.Optimizer`): parameter groups with per-group
 * hyperparameters, per-parameter state, `step()`, `zeroGrad()` and a JSON state dict. Subclasses implement
 * {@link Optimizer.updateParam}, which runs under `noGrad` inside a `tidy` and writes with `param.assign_`.
 *
 * @example
 * ```ts
 * const opt = new SGD([w, b], { lr: 0.1, momentum: 0.9 });
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * ```
 */
export abstract class Optimizer<H extends BaseHyperparams = BaseHyperparams> {
  /** Default hyperparameters (used for groups that omit a value). */
  readonly defaults: Readonly<H>;
  /** Parameter groups; schedulers and users may change their hyperparameters between steps. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state (created lazily by the first step that sees a gradient). */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Number of completed {@link Optimizer.step} calls. */
  stepCount = 0;

  /**
   * @param name - optimizer name used in error messages
   * @param params - parameters, or parameter groups with per-group hyperparameters
   * @param defaults - complete default hyperparameters
   * @throws {InvalidArgumentError} for an empty parameter list, a parameter in two groups or invalid values
   * @throws {DTypeError} for a non-float parameter
   */
  protected constructor(
    protected readonly name: string,
    params: OptimizerParams<H>,
    defaults: H,
  ) {
    this.defaults = { ...defaults };
    const iterable = params as Iterable<unknown> | null | undefined;
    const list = iterable && typeof iterable[Symbol.iterator] === 'function' ? Array.from(iterable) : [];
    if (list.length === 0) {
      throw new InvalidArgumentError(`${name}: 'params' must be a non-empty list of tensors or param groups`);
    }
    const groups =
      list[0] instanceof Tensor
        ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<H>]
        : (list as ParamGroupInput<H>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /**
   * Adds a parameter group (e.g. to fine-tune layers that were frozen).
   * @param group - parameters and hyperparameters overriding the defaults
   * @throws {InvalidArgumentError} when a parameter already belongs to a group or a hyperparameter is invalid
   * @throws {DTypeError} for a non-float parameter
   * @example
   * ```ts
   * opt.addParamGroup({ params: head.parameters(), lr: 1e-3 });
   * ```
   */
  addParamGroup(group: ParamGroupInput<H>): void {
    const i = this.paramGroups.length;
    if (!group || !Array.isArray(group.params) || group.params.length === 0) {
      throw new InvalidArgumentError(`${this.name}: param group ${i} must have a non-empty 'params' list`);
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    group.params.forEach((p, j) => {
      if (!(p instanceof Tensor)) {
        throw new InvalidArgumentError(`${this.name}: param group ${i} entry ${j} is not a Tensor`);
      }
      if (!isFloat(p.dtype)) {
        throw new DTypeError(
          `${this.name}: parameter ${j} of group ${i} has dtype ${p.dtype}, expected a float dtype`,
        );
      }
      if (seen.has(p)) {
        throw new InvalidArgumentError(
          `${this.name}: parameter ${j} of group ${i} appears in more than one group`,
        );
      }
      seen.add(p);
    });
    const merged = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (v !== undefined && k !== 'params') merged[k] = v;
    const full = { ...merged, params: [...group.params] } as ParamGroup<H>;
    this.validate(full, i);
    this.paramGroups.push(full);
  }

  /**
   * Checks a group's hyperparameters; subclasses extend it.
   * @param g - the group
   * @param i - its index
   * @throws {InvalidArgumentError} for a negative or non-finite lr or weight decay
   */
  protected validate(g: ParamGroup<H>, i: number): void {
    for (const k of ['lr', 'weightDecay'] as const) {
      if (!Number.isFinite(g[k]) || g[k] < 0) {
        throw new InvalidArgumentError(
          `${this.name}: '${k}' of group ${i} must be a finite number >= 0, got ${g[k]}`,
        );
      }
    }
  }

  /**
   * Updates one parameter from its gradient (called by {@link Optimizer.step} under `noGrad` inside `tidy`).
   * @param param - the parameter (write it with `param.assign_`)
   * @param grad - its gradient (same shape and dtype)
   * @param group - the parameter's group
   * @param state - its state (mutate it; store tensors with {@link Optimizer.setState})
   */
  protected abstract updateParam(param: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /**
   * Stores a tensor in a state record so that it survives `tidy` scopes, disposing the tensor it replaces.
   * @param state - the state record
   * @param key - the entry
   * @param value - the new tensor
   */
  protected setState(state: ParamState, key: string, value: Tensor): Tensor {
    const old = state[key];
    // A fresh tensor object (sharing storage) so that disposing `value` elsewhere cannot kill the state.
    const kept = keep(contiguous(value).detach());
    state[key] = kept;
    if (old instanceof Tensor) old.dispose();
    return kept;
  }

  /**
   * Performs one optimization step over every parameter that has a gradient (parameters whose `.grad` is null
   * are skipped, as in PyTorch).
   * @throws {ShapeError} when a gradient's shape differs from its parameter's
   * @throws {DTypeError} when a gradient's dtype differs from its parameter's
   * @example
   * ```ts
   * loss.backward();
   * opt.step();
   * ```
   */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          group.params.forEach((p, j) => {
            const g = p.grad;
            if (!g) return;
            if (!shapesEqual(g.shape, p.shape)) {
              throw new ShapeError(
                `${this.name}.step: gradient shape ${fmtShape(g.shape)} of parameter ${j} differs from its shape ${fmtShape(p.shape)}`,
              );
            }
            if (g.dtype !== p.dtype) {
              throw new DTypeError(
                `${this.name}.step: gradient dtype ${g.dtype} of parameter ${j} differs from its dtype ${p.dtype}`,
              );
            }
            let st = this.state.get(p);
            if (!st) this.state.set(p, (st = {}));
            this.updateParam(p, g, group, st);
          });
        }
      }),
    );
    this.stepCount++;
  }

  /**
   * Clears every parameter's gradient (`.grad = null`, PyTorch `zero_grad(set_to_none=True)`).
   * @param opts - `dispose: false` keeps the gradient tensors alive for other holders
   * @example
   * ```ts
   * opt.zeroGrad();
   * ```
   */
  zeroGrad(opts: ZeroGradOptions = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad && opts.dispose !== false) p.grad.dispose();
        p.grad = null;
      }
    }
  }

  /**
   * The optimizer's hyperparameters and state as plain JSON-serialisable data.
   * @returns the state dict (PyTorch layout, camelCase keys)
   * @example
   * ```ts
   * const saved = JSON.stringify(opt.stateDict());
   * ```
   */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const ids: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st) {
          const out: Record<string, number | SerializedTensor> = {};
          for (const [k, v] of Object.entries(st)) out[k] = v instanceof Tensor ? serialize(v) : v;
          state[String(index)] = out;
        }
        ids.push(index++);
      }
      paramGroups.push({ ...JSON.parse(JSON.stringify(hyper)), params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state saved by {@link Optimizer.stateDict} from an optimizer built over
   * parameters of the same shapes, in the same group layout.
   * @param sd - the state dict
   * @throws {InvalidArgumentError} when the group layout differs
   * @throws {ShapeError} when a saved buffer's shape differs from its parameter's
   * @example
   * ```ts
   * opt.loadStateDict(JSON.parse(saved));
   * ```
   */
  loadStateDict(sd: OptimizerStateDict): void {
    if (!sd || !Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new InvalidArgumentError(
        `${this.name}.loadStateDict: state dict has ${sd?.paramGroups?.length} param groups, expected ${this.paramGroups.length}`,
      );
    }
    const byIndex: Tensor[] = [];
    sd.paramGroups.forEach((saved, i) => {
      const group = this.paramGroups[i]!;
      if (!Array.isArray(saved.params) || saved.params.length !== group.params.length) {
        throw new InvalidArgumentError(
          `${this.name}.loadStateDict: group ${i} has ${saved.params?.length} saved parameters, expected ${group.params.length}`,
        );
      }
      saved.params.forEach((id, j) => (byIndex[id] = group.params[j]!));
    });
    // Validate everything before mutating anything.
    const restored = new Map<Tensor, ParamState>();
    for (const [key, saved] of Object.entries(sd.state ?? {})) {
      const p = byIndex[Number(key)];
      if (!p)
        throw new InvalidArgumentError(`${this.name}.loadStateDict: state for unknown parameter ${key}`);
      const st: ParamState = {};
      for (const [k, v] of Object.entries(saved)) {
        if (typeof v === 'number') {
          st[k] = v;
          continue;
        }
        if (!shapesEqual(v.shape, p.shape)) {
          throw new ShapeError(
            `${this.name}.loadStateDict: '${k}' of parameter ${key} has shape ${fmtShape(v.shape)}, expected ${fmtShape(p.shape)}`,
          );
        }
        st[k] = v as unknown as Tensor; // converted below
      }
      restored.set(p, st);
    }
    sd.paramGroups.forEach((saved, i) => {
      const group = this.paramGroups[i]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') group[k] = v;
    });
    for (const st of this.state.values())
      for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [p, st] of restored) {
      for (const [k, v] of Object.entries(st)) {
        if (typeof v !== 'number') {
          const s = v as unknown as SerializedTensor;
          st[k] = keep(tensor(s.data, s.shape, s.dtype));
        }
      }
      this.state.set(p, st);
    }
  }

  /**
   * The state of one parameter (for inspection and tests).
   * @param param - a parameter of this optimizer
   * @returns its state, or undefined before its first update
   * @example
   * ```ts
   * opt.getState(w)?.momentumBuffer;
   * ```
   */
  getState(param: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(param);
  }
}
