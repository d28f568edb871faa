import { getFallbackReport, makeTensor, noGrad } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { execNode } from './exec-ops.js';
import { fmtDims } from './infer-context.js';
import type { Graph, Node } from './types.js';
import { validateGraph } from './validate.js';

/** A node that ran (partly) on the CPU reference instead of the active backend. */
export interface NodeFallback {
  /** Node name. */
  readonly node: string;
  /** Kernel that fell back. */
  readonly kernel: string;
  /** Active backend. */
  readonly backend: string;
  /** Input dtype. */
  readonly dtype: string;
  /** Why. */
  readonly reason: string;
}

/** Result of running a graph. */
export interface GraphRunResult {
  /** Output tensors in `graph.outputs` order (owned by the caller). */
  readonly outputs: Tensor[];
  /** The same tensors by output name. */
  readonly named: Record<string, Tensor>;
  /** Nodes whose kernels fell back to the CPU reference (empty when everything ran on the active backend). */
  readonly fallbacks: NodeFallback[];
}

/** Graph inputs: in `graph.inputs` order, or by name. */
export type GraphInputs = readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** A graph prepared for repeated execution: initializers uploaded once to the active backend. */
export interface GraphRunner {
  /** The validated graph. */
  readonly graph: Graph;
  /**
   * Runs the graph.
   * @param inputs - input tensors (not disposed)
   * @returns outputs and the fallback report
   */
  run(inputs: GraphInputs): GraphRunResult;
  /** Frees the uploaded initializers. */
  dispose(): void;
}

function bindInputs(graph: Graph, inputs: GraphInputs): Tensor[] {
  let list: Tensor[];
  if (Array.isArray(inputs)) {
    list = [...(inputs as Tensor[])];
    if (list.length !== graph.inputs.length) {
      throw new InvalidArgumentError(`runGraph: expected ${graph.inputs.length} inputs, got ${list.length}`);
    }
  } else {
    const rec = inputs as Readonly<Record<string, Tensor>>;
    const extra = Object.keys(rec).filter((k) => !graph.inputs.includes(k));
    if (extra.length > 0) throw new InvalidArgumentError(`runGraph: unknown inputs ${extra.join(', ')}`);
    list = graph.inputs.map((name) => {
      const t = rec[name];
      if (!t) throw new InvalidArgumentError(`runGraph: missing input '${name}'`);
      return t;
    });
  }
  const symbols = new Map<string, number>();
  list.forEach((t, i) => {
    const info = graph.values.get(graph.inputs[i]!)!;
    if (!(t instanceof Tensor))
      throw new InvalidArgumentError(`runGraph: input '${info.name}' is not a Tensor`);
    if (t.dtype !== info.dtype) {
      throw new DTypeError(`runGraph: input '${info.name}' has dtype ${t.dtype}, expected ${info.dtype}`);
    }
    const ok =
      t.rank === info.shape.length &&
      info.shape.every((d, j) => {
        const n = t.shape[j]!;
        if (typeof d === 'number') return d === n;
        const bound = symbols.get(d);
        if (bound === undefined) symbols.set(d, n);
        return bound === undefined || bound === n;
      });
    if (!ok) {
      throw new ShapeError(
        `runGraph: input '${info.name}' shape ${fmtShape(t.shape)} does not match ${fmtDims(info.shape)}`,
      );
    }
  });
  return list;
}

function fallbackCounts(): Map<string, number> {
  return new Map(getFallbackReport().map((r) => [`${r.backend}/${r.kernel}/${r.dtype}`, r.count]));
}

function noteFallbacks(node: Node, before: Map<string, number>, out: NodeFallback[]): void {
  for (const r of getFallbackReport()) {
    if (r.count > (before.get(`${r.backend}/${r.kernel}/${r.dtype}`) ?? 0)) {
      out.push({ node: node.name, kernel: r.kernel, backend: r.backend, dtype: r.dtype, reason: r.reason });
    }
  }
}

/**
 * Validates `graph` and uploads its initializers to the active backend, for repeated {@link GraphRunner.run}
 * calls. Nodes run in topological order through the op functions (composites, views) or `runKernel`;
 * intermediates are freed as soon as their last consumer ran.
 * @param graph - the graph
 * @returns the runner (call `dispose()` when done)
 * @throws {GraphError} / {ShapeError} / {UnsupportedOpError} when the graph is invalid
 * @example
 * ```ts
 * const runner = createGraphRunner(g);
 * const { outputs } = runner.run([x]);
 * runner.dispose();
 * ```
 */
export function createGraphRunner(graph: Graph): GraphRunner {
  const g = validateGraph(graph);
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const v of n.inputs) if (v !== null) lastUse.set(v, i);
  });
  const keep = new Set<string>([...g.outputs, ...g.inputs, ...g.initializers.keys()]);
  let weights: Map<string, Tensor> | null = new Map(
    [...g.initializers.values()].map((i) => [i.name, makeTensor(i.data, i.shape, i.dtype, i.quant)]),
  );
  for (const t of weights!.values()) t.kept = true;
  const run = (inputs: GraphInputs): GraphRunResult => {
    if (!weights) throw new InvalidArgumentError('runGraph: the runner was disposed');
    const bound = bindInputs(g, inputs);
    const env = new Map<string, Tensor>(weights);
    g.inputs.forEach((name, i) => env.set(name, bound[i]!));
    const fallbacks: NodeFallback[] = [];
    const owned = new Set<Tensor>();
    try {
      noGrad(() => {
        g.nodes.forEach((n, i) => {
          const ins = n.inputs.map((v) => (v === null ? null : env.get(v)!));
          const before = fallbackCounts();
          const outs = execNode(n.op, ins, n.attrs);
          noteFallbacks(n, before, fallbacks);
          n.outputs.forEach((v, k) => {
            env.set(v, outs[k]!);
            owned.add(outs[k]!);
          });
          for (const v of new Set(n.inputs)) {
            if (v !== null && lastUse.get(v) === i && !keep.has(v)) {
              env.get(v)!.dispose();
              owned.delete(env.get(v)!);
            }
          }
        });
      });
    } catch (e) {
      for (const t of owned) t.dispose();
      throw e;
    }
    const seen = new Set<Tensor>();
    const outputs = g.outputs.map((name) => {
      const t = env.get(name)!;
      // Inputs, initializers and repeated outputs are handed out as new handles on the same data.
      if (!owned.has(t) || seen.has(t)) return t.detach();
      seen.add(t);
      return t;
    });
    for (const t of owned) if (!seen.has(t)) t.dispose();
    return { outputs, named: Object.fromEntries(g.outputs.map((n, i) => [n, outputs[i]!])), fallbacks };
  };
  return {
    graph: g,
    run,
    dispose() {
      for (const t of weights?.values() ?? []) t.dispose();
      weights = null;
    },
  };
}

/**
 * Runs a graph once on the active backend (see {@link createGraphRunner} to run it many times).
 * @param graph - the graph
 * @param inputs - input tensors in `graph.inputs` order or by name (not disposed)
 * @returns the outputs (owned by the caller) and the per-node fallback report
 * @throws {ShapeError} / {DTypeError} when an input does not match the graph's input value infos
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const { outputs: [y] } = runGraph(decodeTvm(bytes), [x]);
 * ```
 */
export function runGraph(graph: Graph, inputs: GraphInputs): GraphRunResult {
  const runner = createGraphRunner(graph);
  try {
    return runner.run(inputs);
  } finally {
    runner.dispose();
  }
}
