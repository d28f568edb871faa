import type { Graph, Node } from './types.js';

/** A graph transformation: returns a new graph computing the same outputs; never mutates its input. */
export type GraphPass = (graph: Graph) => Graph;

/** A fresh name not in `used` (adds it). */
export function freshName(used: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

/** Every value name of a graph (inputs, initializers, node outputs). */
export function valueNames(graph: Graph): Set<string> {
  return new Set([...graph.inputs, ...graph.initializers.keys(), ...graph.nodes.flatMap((n) => n.outputs)]);
}

/** Renames values in node inputs/outputs and graph outputs. */
export function renameInNodes(nodes: readonly Node[], rename: ReadonlyMap<string, string>): Node[] {
  if (rename.size === 0) return [...nodes];
  const r = (v: string | null) => (v === null ? null : (rename.get(v) ?? v));
  return nodes.map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map((v) => r(v)!) }));
}

/**
 * Removes a single-output pass-through node (`out` equals `inp` in value). Consumers of `out` read `inp`;
 * when `out` is a graph output the producer of `inp` is renamed to `out` instead (when that is safe).
 * @returns the new node list, or null when the node cannot be removed without renaming a graph input,
 *   initializer or output
 */
export function bypassNode(graph: Graph, nodes: readonly Node[], node: Node, inp: string): Node[] | null {
  const out = node.outputs[0]!;
  const rest = nodes.filter((n) => n.name !== node.name);
  if (!graph.outputs.includes(out)) return renameInNodes(rest, new Map([[out, inp]]));
  const producedByNode = rest.some((n) => n.outputs.includes(inp));
  if (!producedByNode || graph.outputs.includes(inp)) return null;
  return renameInNodes(rest, new Map([[inp, out]]));
}

/** Number of times each value is read by nodes, plus one per graph-output use. */
export function useCounts(graph: Graph, nodes: readonly Node[] = graph.nodes): Map<string, number> {
  const uses = new Map<string, number>();
  const bump = (v: string) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const n of nodes) for (const v of n.inputs) if (v !== null) bump(v);
  for (const v of graph.outputs) bump(v);
  return uses;
}

/** A structural fingerprint, to detect a fixed point. */
export function graphSignature(graph: Graph): string {
  const nodes = graph.nodes.map(
    (n) => `${n.name}:${n.op}(${n.inputs.join(',')})->${n.outputs.join(',')}${JSON.stringify(n.attrs)}`,
  );
  return `${nodes.join('|')}#${[...graph.initializers.keys()].join(',')}#${graph.outputs.join(',')}`;
}
