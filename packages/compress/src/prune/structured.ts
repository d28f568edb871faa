import {
  type Graph,
  type Initializer,
  InvalidArgumentError,
  inferShapes,
  type Node,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { ChannelGroups } from './channel-groups.js';

/** How channel importance is measured. */
export type ChannelCriterion = 'l1' | 'l2' | 'bn';

/** Options of {@link pruneChannels}. */
export interface PruneChannelsOptions {
  /** Fraction of each prunable channel group to remove, in [0, 1) (e.g. 0.5). */
  readonly amount: number;
  /**
   * Importance: `'l1'` / `'l2'` norm of the producing filters (normalised per layer, summed over tied layers),
   * or `'bn'`: `|γ|` of the BatchNorm nodes on the channel (network slimming; needs an unfolded graph).
   * Default `'l1'`.
   */
  readonly criterion?: ChannelCriterion;
  /** Keep channel counts a multiple of this (default 1). */
  readonly roundTo?: number;
  /** Creator node names whose output channels are kept. */
  readonly skipNodes?: readonly string[];
}

/** Channels removed from one layer, for {@link PruneChannelsResult.layers}. */
export interface PrunedLayer {
  /** The conv or linear node creating the channels. */
  readonly node: string;
  /** Output channels before. */
  readonly before: number;
  /** Output channels after. */
  readonly after: number;
  /** Indices (in the original numbering) of the removed channels. */
  readonly removed: number[];
}

/** Parameter counts before and after pruning. */
export interface ParamCounts {
  /** Before. */
  readonly before: number;
  /** After. */
  readonly after: number;
}

/** Result of {@link pruneChannels}. */
export interface PruneChannelsResult {
  /** The smaller graph. */
  readonly graph: Graph;
  /** Per creator layer: channel counts and removed indices. */
  readonly layers: PrunedLayer[];
  /** Parameter counts (initializer elements) before and after. */
  readonly params: ParamCounts;
}

/** Float parameter count of a graph (elements of all initializers). */
function paramCount(g: Graph): number {
  let n = 0;
  for (const i of g.initializers.values()) n += i.data.length;
  return n;
}

/** Row norms (per output channel) of a weight, normalised to mean 1. */
function rowNorms(w: Initializer, p: 1 | 2): number[] {
  const o = w.shape[0]!;
  const per = w.data.length / o;
  const r: number[] = [];
  for (let c = 0; c < o; c++) {
    let s = 0;
    for (let j = 0; j < per; j++) {
      const v = Math.abs(Number(w.data[c * per + j]));
      s += p === 1 ? v : v * v;
    }
    r.push(p === 1 ? s : Math.sqrt(s));
  }
  const mean = r.reduce((a, b) => a + b, 0) / o || 1;
  return r.map((v) => v / mean);
}

/** Copies `data` keeping index `i` along `axis` of `shape` only when `keep[i]`. */
function sliceAxis(init: Initializer, axis: number, keep: readonly boolean[]): Initializer {
  const shape = [...init.shape];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const kept = keep.filter(Boolean).length;
  const Ctor = init.data.constructor as new (n: number) => typeof init.data;
  const data = new Ctor(outer * kept * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < n; c++) {
      if (!keep[c]) continue;
      const base = (o * n + c) * inner;
      for (let i = 0; i < inner; i++) data[k++] = init.data[base + i]!;
    }
  }
  shape[axis] = kept;
  return { ...init, shape, data };
}

/**
 * Structured channel pruning that really removes channels from a graph, dependency-aware: channels tied by
 * residual adds, SE multiplies and depthwise convolutions are removed together; concatenations map removed
 * channels to their inputs; channels reaching graph inputs/outputs or ops the analysis does not understand
 * are kept. For each creator layer (convolution with groups = 1, or linear) the least important
 * `amount` fraction of its prunable channels is removed: weight rows and biases of the creators, input
 * columns of the consumers, depthwise filters (whose `groups` shrink), BatchNorm statistics and per-channel
 * constants. The result is a valid, smaller graph (fewer params, MACs and bytes) that runs with `runGraph`.
 * @param graph - a float graph (traced; BN folded or not)
 * @param opts - amount, criterion, rounding, layers to keep
 * @returns the pruned graph, per-layer report and parameter counts
 * @throws {InvalidArgumentError} when `amount` is outside [0, 1) or the criterion is unknown
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const { graph, layers } = pruneChannels(optimizeGraph(g), { amount: 0.5, criterion: 'l1' });
 * ```
 */
export function pruneChannels(graph: Graph, opts: PruneChannelsOptions): PruneChannelsResult {
  const amount = opts?.amount;
  if (typeof amount !== 'number' || !(amount >= 0 && amount < 1)) {
    throw new InvalidArgumentError(`pruneChannels: 'amount' must be in [0, 1), got ${String(amount)}`);
  }
  const criterion = opts.criterion ?? 'l1';
  if (!['l1', 'l2', 'bn'].includes(criterion)) {
    throw new InvalidArgumentError(`pruneChannels: 'criterion' must be 'l1', 'l2' or 'bn', got ${criterion}`);
  }
  const roundTo = opts.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) {
    throw new InvalidArgumentError(`pruneChannels: 'roundTo' must be a positive integer, got ${roundTo}`);
  }
  const g = validateGraph(graph);
  const cg = new ChannelGroups(g);
  const skip = new Set(opts.skipNodes ?? []);

  // Importance per class root.
  const score = new Map<number, number>();
  const add = (a: number, v: number) => score.set(cg.find(a), (score.get(cg.find(a)) ?? 0) + v);
  if (criterion === 'bn') {
    for (const n of g.nodes) {
      if (n.op !== 'BatchNorm') continue;
      const atoms = cg.atoms.get(n.inputs[0]!);
      const gamma = g.initializers.get(n.inputs[3] ?? '');
      const v = g.initializers.get(n.inputs[2] ?? '');
      if (!atoms || !gamma) continue;
      const eps = Number(n.attrs.epsilon ?? 1e-5);
      // |γ| / σ: the scale BN applies, so channels left tiny by BN rank low
      atoms.forEach((a, i) =>
        add(a, Math.abs(Number(gamma.data[i])) / Math.sqrt(Number(v?.data[i] ?? 1) + eps)),
      );
    }
    if (score.size === 0) {
      throw new InvalidArgumentError(
        "pruneChannels: criterion 'bn' needs BatchNorm nodes (prune before optimizeGraph folds them)",
      );
    }
  } else {
    for (const n of cg.creators) {
      const w = g.initializers.get(n.inputs[1]!)!;
      const atoms = cg.atoms.get(n.outputs[0]!)!;
      rowNorms(w, criterion === 'l1' ? 1 : 2).forEach((s, i) => add(atoms[i]!, s));
    }
  }

  // Choose removed roots per creator layer (tied layers agree because they share roots).
  const removedRoots = new Set<number>();
  const seenSets = new Set<string>();
  for (const n of cg.creators) {
    if (skip.has(n.name)) continue;
    const atoms = cg.atoms.get(n.outputs[0]!)!;
    const roots = [...new Set(atoms.map((a) => cg.find(a)))];
    const key = [...roots].sort((a, b) => a - b).join(',');
    if (seenSets.has(key)) continue;
    seenSets.add(key);
    const free = roots.filter((r) => !cg.locked(r));
    if (free.length < 2) continue;
    const total = roots.length;
    let keepCount = Math.max(1, Math.round(total * (1 - amount)));
    keepCount = Math.min(total, Math.ceil(keepCount / roundTo) * roundTo);
    let remove = Math.min(total - keepCount, free.length - 1);
    if (remove <= 0) continue;
    const ordered = free.sort((a, b) => (score.get(a) ?? 0) - (score.get(b) ?? 0));
    for (const r of ordered) {
      if (remove-- <= 0) break;
      removedRoots.add(r);
    }
  }
  for (const n of g.nodes) {
    if (!skip.has(n.name)) continue;
    for (const a of cg.atoms.get(n.outputs[0]!) ?? []) removedRoots.delete(cg.find(a));
  }

  const keepOf = (v: string | null | undefined): boolean[] | undefined => {
    const atoms = v ? cg.atoms.get(v) : undefined;
    return atoms?.map((a) => !removedRoots.has(cg.find(a)));
  };
  const inits = new Map(g.initializers);
  const sliceInit = (name: string | null | undefined, axis: number, keep: boolean[]) => {
    const i = name ? inits.get(name) : undefined;
    if (!i || i.shape[axis] !== keep.length || keep.every(Boolean)) return;
    inits.set(i.name, sliceAxis(i, axis, keep));
  };
  const layers: PrunedLayer[] = [];
  const nodes: Node[] = g.nodes.map((n) => {
    const kin = keepOf(n.inputs[0]);
    const kout = keepOf(n.outputs[0]);
    if (n.op === 'Conv2D' || n.op === 'FusedConv2D') {
      const groups = n.attrs.groups as number;
      if (groups === 1) {
        if (kout) sliceInit(n.inputs[1], 0, kout);
        if (kout) sliceInit(n.inputs[2], 0, kout);
        if (kin) sliceInit(n.inputs[1], 1, kin);
        if (kout) {
          const removed = kout.flatMap((k, i) => (k ? [] : [i]));
          layers.push({ node: n.name, before: kout.length, after: kout.length - removed.length, removed });
        }
        return n;
      }
      if (kin && kout && kin.length === groups) {
        sliceInit(n.inputs[1], 0, kin);
        sliceInit(n.inputs[2], 0, kin);
        return { ...n, attrs: { ...n.attrs, groups: kin.filter(Boolean).length } };
      }
      return n;
    }
    if (n.op === 'Linear') {
      if (kout) {
        sliceInit(n.inputs[1], 0, kout);
        sliceInit(n.inputs[2], 0, kout);
        const removed = kout.flatMap((k, i) => (k ? [] : [i]));
        layers.push({ node: n.name, before: kout.length, after: kout.length - removed.length, removed });
      }
      if (kin) sliceInit(n.inputs[1], 1, kin);
      return n;
    }
    if (n.op === 'BatchNorm' && kin) {
      for (const v of n.inputs.slice(1)) sliceInit(v, 0, kin);
      return n;
    }
    if (kout && ['Add', 'Sub', 'Mul', 'Div', 'Maximum', 'Minimum'].includes(n.op)) {
      for (const v of n.inputs) {
        const i = v ? inits.get(v) : undefined;
        if (!i) continue;
        // per-channel constants: [1, C, 1, 1] / [C, 1, 1] on NCHW values, [1, C] / [C] on [N, C] values
        const rank = g.values.get(n.outputs[0]!)?.shape.length;
        const r = i.shape.length;
        const axis =
          rank === 4 ? (r === 4 ? 1 : r === 3 ? 0 : -1) : rank === 2 ? (r === 2 ? 1 : r === 1 ? 0 : -1) : -1;
        if (axis >= 0 && i.shape[axis] === kout.length && kout.length > 1) sliceInit(v, axis, kout);
      }
      return n;
    }
    if (n.op === 'Reshape' && kout) {
      const shape = [...(n.attrs.shape as number[])];
      if (shape[1] === kout.length) {
        shape[1] = kout.filter(Boolean).length;
        return { ...n, attrs: { ...n.attrs, shape } };
      }
    }
    return n;
  });
  const inputs = g.inputs.map((v) => g.values.get(v)!);
  const out = validateGraph(
    inferShapes(withGraph(g, { nodes, initializers: [...inits.values()], values: inputs })),
  );
  return { graph: out, layers, params: { before: paramCount(g), after: paramCount(out) } };
}
