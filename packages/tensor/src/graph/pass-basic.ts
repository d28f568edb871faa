import * as K from '../backend/kernel-names.js';
import { makeTensor, noGrad, readSync } from '../engine.js';
import { contiguousStrides, sizeOf } from '../shape.js';
import { bypassNode, type GraphPass } from './edit.js';
import { execNode } from './exec-ops.js';
import { inferShapes } from './infer.js';
import type { Dim, Graph, Initializer, Node } from './types.js';
import { withGraph } from './types.js';

const sameDims = (a: readonly Dim[], b: readonly Dim[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Dead-code elimination: drops nodes none of whose outputs reach a graph output, then unused initializers.
 * @param graph - the graph
 * @returns the pruned graph (inputs are kept even when unused)
 * @example
 * ```ts
 * const g2 = eliminateDeadCode(g);
 * ```
 */
export const eliminateDeadCode: GraphPass = (graph) => {
  const live = new Set<string>(graph.outputs);
  const keep: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((v) => live.has(v))) continue;
    keep.push(n);
    for (const v of n.inputs) if (v !== null) live.add(v);
  }
  const initializers = [...graph.initializers.values()].filter((i) => live.has(i.name));
  const values = new Map(graph.inputs.map((v) => [v, graph.values.get(v)!]));
  return inferShapes(withGraph(graph, { nodes: keep.reverse(), initializers, values }));
};

/** Whether a node passes its first input through unchanged, judged from attrs and value infos. */
function isIdentity(graph: Graph, n: Node): boolean {
  const x = n.inputs[0] ? graph.values.get(n.inputs[0]) : undefined;
  const y = graph.values.get(n.outputs[0]!);
  if (!x || !y || n.outputs.length !== 1) return false;
  const a = n.attrs as Record<string, unknown>;
  const same = sameDims(x.shape, y.shape) && x.dtype === y.dtype;
  switch (n.op) {
    case K.Cast:
      return a.dtype === x.dtype;
    case K.Reshape:
    case K.Expand:
      return same;
    case K.StridedCopy: {
      const shape = y.shape.map((d) => (typeof d === 'number' ? d : 0));
      const strides = a.strides as number[];
      const rowMajor = contiguousStrides(shape);
      // Strides of size-1 dims never matter; the batch dim's stride does not depend on its size.
      return same && a.offset === 0 && strides.every((s, i) => shape[i] === 1 || s === rowMajor[i]);
    }
    case K.Transpose:
      return (a.perm as number[]).every((p, i) => p === i);
    case K.Slice:
      return (
        same && (a.begin as number[]).every((b) => b === 0) && (a.steps as number[]).every((s) => s === 1)
      );
    case K.Flip:
      return (a.axes as number[]).length === 0 || (a.axes as number[]).every((ax) => x.shape[ax] === 1);
    case K.Tile:
      return same && (a.reps as number[]).every((r) => r === 1);
    case K.Pad:
      return (a.pads as number[]).every((p) => p === 0);
    case K.Concat:
      return n.inputs.length === 1;
    default:
      return false;
  }
}

/**
 * Removes pass-through nodes: StridedCopy with row-major strides, Reshape/Expand to the same shape, Cast to the
 * same dtype, identity Transpose, full Slice, no-op Flip/Tile/Pad, single-input Concat.
 * @param graph - the graph
 * @returns the graph without identity nodes
 * @example
 * ```ts
 * const g2 = removeIdentities(g);
 * ```
 */
export const removeIdentities: GraphPass = (graph) => {
  const g = inferShapes(graph);
  let nodes: Node[] = [...g.nodes];
  for (const n of g.nodes) {
    if (!isIdentity(g, n)) continue;
    const cur = nodes.find((m) => m.name === n.name)!;
    const next = bypassNode(g, nodes, cur, cur.inputs[0]!);
    if (next) nodes = next;
  }
  return inferShapes(withGraph(g, { nodes }));
};

/** Options of {@link foldConstants}. */
export interface FoldConstantsOptions {
  /**
   * Skip a node whose outputs would hold more than `max(growth × its inputs' elements, minElements)` elements
   * (keeps Expand/Tile of small constants from bloating the graph). Defaults: 2 and 4096.
   */
  readonly growth?: number;
  /** See `growth`. */
  readonly minElements?: number;
}

/**
 * Constant folding: evaluates nodes whose inputs are all initializers once (on the active backend) and replaces
 * them by initializers holding the results.
 * @param graph - the graph
 * @param opts - size limits
 * @returns the folded graph (run {@link eliminateDeadCode} to drop initializers that became unused)
 * @throws {KernelNotFoundError} when a folded op has no kernel
 * @example
 * ```ts
 * const g2 = eliminateDeadCode(foldConstants(g));
 * ```
 */
export function foldConstants(graph: Graph, opts: FoldConstantsOptions = {}): Graph {
  const g = inferShapes(graph);
  const inits = new Map(g.initializers);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const ins = n.inputs.map((v) => (v === null ? null : inits.get(v)));
    const inElems = ins.reduce((s, i) => s + (i ? i.data.length : 0), 0);
    const outElems = n.outputs.reduce((s, v) => {
      const shape = g.values.get(v)!.shape;
      return (
        s + (shape.every((d) => typeof d === 'number') ? sizeOf(shape as number[]) : Number.POSITIVE_INFINITY)
      );
    }, 0);
    const limit = Math.max((opts.growth ?? 2) * inElems, opts.minElements ?? 4096);
    if (ins.length === 0 || ins.some((i) => i === undefined) || outElems > limit) {
      nodes.push(n);
      continue;
    }
    for (const init of evaluate(n, ins as (Initializer | null)[])) inits.set(init.name, init);
  }
  return inferShapes(withGraph(g, { nodes, initializers: inits }));
}

function evaluate(n: Node, ins: readonly (Initializer | null)[]): Initializer[] {
  return noGrad(() => {
    const ts = ins.map((i) => (i ? makeTensor(i.data.slice(), i.shape, i.dtype, i.quant) : null));
    try {
      const outs = execNode(n.op, ts, n.attrs);
      const res = outs.map((t, k): Initializer => {
        const base = { name: n.outputs[k]!, dtype: t.dtype, shape: [...t.shape], data: readSync(t) };
        return t.quant ? { ...base, quant: t.quant } : base;
      });
      outs.forEach((t) => t.dispose());
      return res;
    } finally {
      ts.forEach((t) => t?.dispose());
    }
  });
}
