import {
  type Graph,
  type Initializer,
  InvalidArgumentError,
  type Node,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { readers } from './graph-util.js';

/** Options of {@link equalizeCrossLayer}. */
export interface EqualizeOptions {
  /** Sweeps over all layer pairs (default 8; each sweep moves every pair to its equalized ranges). */
  readonly iterations?: number;
  /**
   * Replace ReLU6 between equalized layers by ReLU, which commutes with the per-channel scaling (default true,
   * as in the data-free quantization paper). When false, pairs joined by ReLU6 are skipped.
   */
  readonly relu6ToRelu?: boolean;
}

/** One equalized pair, for {@link EqualizeResult.pairs}. */
export interface EqualizedPair {
  /** The first conv (its output channels are scaled down by `s`). */
  readonly first: string;
  /** The second conv (its input channels are scaled up by `s`). */
  readonly second: string;
}

/** Result of {@link equalizeCrossLayer}. */
export interface EqualizeResult {
  /** The equalized float graph. */
  readonly graph: Graph;
  /** The layer pairs that were equalized. */
  readonly pairs: EqualizedPair[];
  /** Nodes whose fused ReLU6 became ReLU. */
  readonly relu6Replaced: string[];
}

const CONV = new Set(['Conv2D', 'FusedConv2D']);

interface Pair {
  a: Node;
  b: Node;
}

/** Positive-homogeneous activations (`f(s·x) = s·f(x)` for `s > 0`). */
function homogeneous(n: Node, relu6ToRelu: boolean): boolean {
  if (n.op === 'Conv2D') return true;
  const act = n.attrs.activation;
  return act === 'none' || act === 'relu' || (relu6ToRelu && act === 'relu6');
}

/**
 * Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019) of a float graph with folded BN:
 * for each pair of convolutions `A → B` where `A`'s output feeds only `B` through a positive-homogeneous
 * activation, output channel `i` of `A` (weights and bias) is divided by `s_i = √(r1_i / r2_i)` and input
 * channel `i` of `B` multiplied by it, where `r1`/`r2` are the channel's weight ranges in `A`/`B`; both ranges
 * become `√(r1·r2)`. Grouped and depthwise `B`s scale their per-group input channels, so chains of
 * expand → depthwise → project convolutions are equalized by repeated sweeps. The function computed is
 * unchanged (up to float rounding) except where ReLU6 is replaced by ReLU.
 * @param graph - a float graph after `optimizeGraph` (BN folded)
 * @param opts - sweeps and the ReLU6 policy
 * @returns the equalized graph and the pairs touched
 * @throws {InvalidArgumentError} when `iterations` is not a positive integer
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const { graph: eq } = equalizeCrossLayer(optimizeGraph(traceModule(mobilenet, [x])));
 * const qdq = quantizeStatic(eq, batches, { perChannel: false });
 * ```
 */
export function equalizeCrossLayer(graph: Graph, opts: EqualizeOptions = {}): EqualizeResult {
  const iterations = opts.iterations ?? 8;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidArgumentError(
      `equalizeCrossLayer: 'iterations' must be a positive integer, got ${iterations}`,
    );
  }
  const relu6ToRelu = opts.relu6ToRelu ?? true;
  const g = validateGraph(graph);
  const reads = readers(g.nodes);
  const weights = new Map<string, Float32Array>();
  const w = (name: string | null | undefined): Initializer | undefined => {
    const i = name ? g.initializers.get(name) : undefined;
    return i?.dtype === 'float32' ? i : undefined;
  };
  const pairs: Pair[] = [];
  for (const a of g.nodes) {
    if (!CONV.has(a.op) || !homogeneous(a, relu6ToRelu) || !w(a.inputs[1])) continue;
    const out = a.outputs[0]!;
    const users = reads.get(out) ?? [];
    if (users.length !== 1 || g.outputs.includes(out)) continue;
    const b = users[0]!;
    if (!CONV.has(b.op) || b.inputs[0] !== out || !w(b.inputs[1]) || b.inputs.slice(1).includes(out))
      continue;
    if ((a.inputs[2] && !w(a.inputs[2])) || shared(g, a.inputs[1]!) || shared(g, b.inputs[1]!)) continue;
    pairs.push({ a, b });
  }
  const data = (name: string): Float32Array => {
    let d = weights.get(name);
    if (!d) {
      d = Float32Array.from(g.initializers.get(name)!.data as Float32Array);
      weights.set(name, d);
    }
    return d;
  };
  for (let it = 0; it < iterations; it++) {
    for (const { a, b } of pairs) {
      const wa = g.initializers.get(a.inputs[1]!)!;
      const wb = g.initializers.get(b.inputs[1]!)!;
      const da = data(wa.name);
      const db = data(wb.name);
      const bias = a.inputs[2] ? data(a.inputs[2]) : null;
      const oa = wa.shape[0]!;
      const perA = da.length / oa;
      const [ob, cg] = wb.shape as [number, number];
      const k = db.length / (ob * cg);
      const groups = b.attrs.groups as number;
      const opg = ob / groups; // output channels per group of B
      for (let i = 0; i < oa; i++) {
        let r1 = 0;
        for (let j = 0; j < perA; j++) r1 = Math.max(r1, Math.abs(da[i * perA + j]!));
        const grp = Math.floor(i / cg);
        const ci = i % cg;
        let r2 = 0;
        for (let o = grp * opg; o < (grp + 1) * opg; o++) {
          const base = (o * cg + ci) * k;
          for (let j = 0; j < k; j++) r2 = Math.max(r2, Math.abs(db[base + j]!));
        }
        if (!(r1 > 0) || !(r2 > 0)) continue;
        const s = Math.sqrt(r1 / r2);
        for (let j = 0; j < perA; j++) da[i * perA + j]! /= s;
        if (bias) bias[i]! /= s;
        for (let o = grp * opg; o < (grp + 1) * opg; o++) {
          const base = (o * cg + ci) * k;
          for (let j = 0; j < k; j++) db[base + j]! *= s;
        }
      }
    }
  }
  const relu6Replaced: string[] = [];
  const firsts = new Set(pairs.map((p) => p.a.name));
  const nodes = g.nodes.map((n) => {
    if (firsts.has(n.name) && n.op === 'FusedConv2D' && n.attrs.activation === 'relu6') {
      relu6Replaced.push(n.name);
      return { ...n, attrs: { ...n.attrs, activation: 'relu' } };
    }
    return n;
  });
  const initializers = [...g.initializers.values()].map((i) => {
    const d = weights.get(i.name);
    return d ? { ...i, data: d } : i;
  });
  return {
    graph: validateGraph(withGraph(g, { nodes, initializers })),
    pairs: pairs.map((p) => ({ first: p.a.name, second: p.b.name })),
    relu6Replaced,
  };
}

/** Whether an initializer is read by more than one node (then it cannot be rescaled for one pair). */
function shared(g: Graph, name: string): boolean {
  return g.nodes.filter((n) => n.inputs.includes(name)).length > 1;
}

/** Per-channel weight range disparity of one weight (see {@link channelRangeStats}). */
export interface ChannelRangeStats {
  /** Mean over output channels of `max|w_c| / max|w|` (1: all channels share one range). */
  readonly meanRelative: number;
  /** Largest over smallest non-zero channel range. */
  readonly maxOverMin: number;
}

/**
 * Per-channel weight range disparity of a conv weight: the mean over output channels of
 * `max|w_c| / max|w|` (1 when all channels share one range; small when a few channels dominate, which is
 * what per-tensor int8 weights suffer from), and the ratio of the largest to the smallest channel range.
 * @param w - a float weight initializer, output channels first
 * @returns the mean relative range and the max/min ratio
 * @example
 * ```ts
 * channelRangeStats(g.initializers.get('features.1.conv.0.0.weight')!).meanRelative; // e.g. 0.12
 * ```
 */
export function channelRangeStats(w: Initializer): ChannelRangeStats {
  const o = w.shape[0]!;
  const per = w.data.length / o;
  const r: number[] = [];
  for (let c = 0; c < o; c++) {
    let m = 0;
    for (let j = 0; j < per; j++) m = Math.max(m, Math.abs(Number(w.data[c * per + j])));
    r.push(m);
  }
  const max = Math.max(...r);
  const min = Math.min(...r.filter((v) => v > 0));
  return { meanRelative: r.reduce((a, b) => a + b, 0) / (o * (max || 1)), maxOverMin: max / (min || 1) };
}
