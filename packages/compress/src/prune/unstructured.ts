import type { Module } from '@tinyvision/models';
import { InvalidArgumentError, type Tensor, tensor } from '@tinyvision/tensor';

/** Where magnitude thresholds are computed: per tensor (`'layer'`) or across all pruned tensors (`'global'`). */
export type PruneScope = 'layer' | 'global';

/** Keep-masks by parameter name (1 keeps, 0 prunes), same element order as the parameter. */
export type PruneMasks = Map<string, Uint8Array>;

/** Options of {@link magnitudePrune}. */
export interface MagnitudePruneOptions {
  /** Fraction of weights to zero, in [0, 1). */
  readonly amount: number;
  /** `'layer'` (default) or `'global'`. */
  readonly scope?: PruneScope;
  /**
   * Which parameters to prune (default: conv and linear weights, i.e. parameters named `…weight` with rank ≥ 2).
   */
  readonly include?: (name: string, p: Tensor) => boolean;
}

/** Sparsity of one parameter, for {@link sparsityReport}. */
export interface LayerSparsity {
  /** Parameter name. */
  readonly name: string;
  /** Elements. */
  readonly size: number;
  /** Zero elements. */
  readonly zeros: number;
  /** `zeros / size`. */
  readonly sparsity: number;
}

const defaultInclude = (name: string, p: Tensor) => name.endsWith('weight') && p.rank >= 2;

function checkAmount(amount: unknown, where: string): number {
  if (typeof amount !== 'number' || !(amount >= 0 && amount < 1)) {
    throw new InvalidArgumentError(`${where}: 'amount' must be in [0, 1), got ${String(amount)}`);
  }
  return amount;
}

function selected(module: Module, include: (name: string, p: Tensor) => boolean): [string, Tensor][] {
  return module.namedParameters().filter(([n, p]) => include(n, p));
}

/** Indices of the `k` smallest |values| (stable for ties: lower index first). */
function smallest(values: Float32Array, k: number): Uint32Array {
  const idx = new Uint32Array(values.length).map((_, i) => i);
  idx.sort((a, b) => Math.abs(values[a]!) - Math.abs(values[b]!) || a - b);
  return idx.subarray(0, k);
}

/**
 * Zeroes parameters where the mask is 0 (in place, outside autograd); call after every optimizer step so
 * pruned weights stay pruned while fine-tuning.
 * @param module - the model
 * @param masks - masks from {@link magnitudePrune} or {@link nmPrune}
 * @throws {InvalidArgumentError} when a mask names an unknown parameter or has the wrong size
 * @example
 * ```ts
 * optimizer.step();
 * applyMasks(model, masks);
 * ```
 */
export function applyMasks(module: Module, masks: PruneMasks): void {
  const params = new Map(module.namedParameters());
  for (const [name, mask] of masks) {
    const p = params.get(name);
    if (!p) throw new InvalidArgumentError(`applyMasks: the module has no parameter '${name}'`);
    if (p.size !== mask.length) {
      throw new InvalidArgumentError(
        `applyMasks: mask of '${name}' has ${mask.length} entries, parameter ${p.size}`,
      );
    }
    const data = Float32Array.from(p.toFloat32());
    for (let i = 0; i < data.length; i++) if (mask[i] === 0) data[i] = 0;
    p.assign_(tensor(data, p.shape, p.dtype));
  }
}

/**
 * Unstructured magnitude pruning (`torch.nn.utils.prune.l1_unstructured` per layer, `global_unstructured`
 * across layers): the `round(amount · n)` smallest-magnitude weights are zeroed and masked.
 * @param module - the model (changed in place)
 * @param opts - amount, scope, which parameters
 * @returns the keep-masks
 * @throws {InvalidArgumentError} when `amount` is outside [0, 1) or the scope is unknown
 * @example
 * ```ts
 * const masks = magnitudePrune(model, { amount: 0.8, scope: 'global' });
 * sparsityReport(model, masks); // per-layer sparsity
 * ```
 */
export function magnitudePrune(module: Module, opts: MagnitudePruneOptions): PruneMasks {
  const amount = checkAmount(opts?.amount, 'magnitudePrune');
  const scope = opts.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') {
    throw new InvalidArgumentError(
      `magnitudePrune: 'scope' must be 'layer' or 'global', got ${String(scope)}`,
    );
  }
  const params = selected(module, opts.include ?? defaultInclude);
  const masks: PruneMasks = new Map();
  if (scope === 'layer') {
    for (const [name, p] of params) {
      const v = p.toFloat32();
      const mask = new Uint8Array(v.length).fill(1);
      for (const i of smallest(v, Math.round(amount * v.length))) mask[i] = 0;
      masks.set(name, mask);
    }
  } else {
    const sizes = params.map(([, p]) => p.size);
    const all = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    for (const [, p] of params) {
      all.set(p.toFloat32(), off);
      off += p.size;
    }
    const flat = new Uint8Array(all.length).fill(1);
    for (const i of smallest(all, Math.round(amount * all.length))) flat[i] = 0;
    off = 0;
    params.forEach(([name], k) => {
      masks.set(name, flat.slice(off, off + sizes[k]!));
      off += sizes[k]!;
    });
  }
  applyMasks(module, masks);
  return masks;
}

/** Options of {@link nmPrune}. */
export interface NMPruneOptions {
  /** Weights kept per group (default 2). */
  readonly n?: number;
  /** Group size (default 4). */
  readonly m?: number;
  /** Which parameters (default: conv and linear weights). */
  readonly include?: (name: string, p: Tensor) => boolean;
}

/**
 * N:M semi-structured sparsity (2:4 by default, as NVIDIA Ampere sparse tensor cores): in every group of
 * `m` consecutive input channels (for conv weights `[O, I, kH, kW]`, grouped along `I` at each output channel
 * and kernel position; for linear `[out, in]`, along `in`) only the `n` largest-magnitude weights are kept.
 * Parameters whose input size is not a multiple of `m` are skipped (not in the returned masks).
 * @param module - the model (changed in place)
 * @param opts - n, m, which parameters
 * @returns the keep-masks of the pruned parameters
 * @throws {InvalidArgumentError} unless `0 < n < m` are integers
 * @example
 * ```ts
 * const masks = nmPrune(model, { n: 2, m: 4 }); // 50 % sparsity in hardware-friendly blocks
 * ```
 */
export function nmPrune(module: Module, opts: NMPruneOptions = {}): PruneMasks {
  const n = opts.n ?? 2;
  const m = opts.m ?? 4;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n >= m) {
    throw new InvalidArgumentError(`nmPrune: need integers 0 < n < m, got n=${n}, m=${m}`);
  }
  const masks: PruneMasks = new Map();
  for (const [name, p] of selected(module, opts.include ?? defaultInclude)) {
    const [o, i] = p.shape as [number, number];
    if (i % m !== 0) continue;
    const k = p.size / (o * i); // kernel positions
    const v = p.toFloat32();
    const mask = new Uint8Array(v.length);
    const idx = new Array<number>(m);
    for (let oc = 0; oc < o; oc++) {
      for (let pos = 0; pos < k; pos++) {
        for (let g = 0; g < i; g += m) {
          for (let j = 0; j < m; j++) idx[j] = (oc * i + g + j) * k + pos;
          idx.sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!) || a - b);
          for (let j = 0; j < n; j++) mask[idx[j]!] = 1;
        }
      }
    }
    masks.set(name, mask);
  }
  applyMasks(module, masks);
  return masks;
}

/**
 * Per-parameter sparsity (fraction of exact zeros) of the masked parameters (or of all conv/linear weights).
 * @param module - the model
 * @param masks - restricts the report to these parameters (optional)
 * @returns one entry per parameter, plus the overall figure as the last entry named `'total'`
 * @example
 * ```ts
 * sparsityReport(model).at(-1)!.sparsity; // e.g. 0.5
 * ```
 */
export function sparsityReport(module: Module, masks?: PruneMasks): LayerSparsity[] {
  const params = masks
    ? module.namedParameters().filter(([n]) => masks.has(n))
    : selected(module, defaultInclude);
  const out: LayerSparsity[] = params.map(([name, p]) => {
    const v = p.toFloat32();
    let zeros = 0;
    for (const x of v) if (x === 0) zeros++;
    return { name, size: v.length, zeros, sparsity: v.length ? zeros / v.length : 0 };
  });
  const size = out.reduce((a, b) => a + b.size, 0);
  const zeros = out.reduce((a, b) => a + b.zeros, 0);
  out.push({ name: 'total', size, zeros, sparsity: size ? zeros / size : 0 });
  return out;
}

/** Options of {@link polynomialSparsity}. */
export interface PolynomialScheduleOptions {
  /** Sparsity at `beginStep` (default 0). */
  readonly initial?: number;
  /** Sparsity reached at `endStep`, in [0, 1). */
  readonly final: number;
  /** First pruning step (default 0). */
  readonly beginStep?: number;
  /** Step where `final` is reached. */
  readonly endStep: number;
  /** Exponent (default 3, Zhu & Gupta 2017). */
  readonly power?: number;
}

/**
 * The gradual pruning schedule of Zhu & Gupta (2017), as TF Model Optimization's `PolynomialDecay`:
 * `s(t) = final + (initial − final) · (1 − (t − begin)/(end − begin))^power`, constant outside `[begin, end]`.
 * @param step - the training step
 * @param opts - initial/final sparsity, begin/end steps, power
 * @returns the target sparsity at `step`
 * @throws {InvalidArgumentError} on sparsities outside [0, 1) or `endStep ≤ beginStep`
 * @example
 * ```ts
 * polynomialSparsity(50, { final: 0.8, endStep: 100 }); // 0.7
 * ```
 */
export function polynomialSparsity(step: number, opts: PolynomialScheduleOptions): number {
  const initial = checkAmount(opts.initial ?? 0, 'polynomialSparsity');
  const final = checkAmount(opts.final, 'polynomialSparsity');
  const begin = opts.beginStep ?? 0;
  const end = opts.endStep;
  if (!(end > begin)) {
    throw new InvalidArgumentError(`polynomialSparsity: 'endStep' (${end}) must be > 'beginStep' (${begin})`);
  }
  const power = opts.power ?? 3;
  const t = Math.min(1, Math.max(0, (step - begin) / (end - begin)));
  return final + (initial - final) * (1 - t) ** power;
}
