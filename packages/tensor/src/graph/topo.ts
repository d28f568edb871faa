import { GraphError } from '../errors/index.js';
import type { Graph, Node } from './types.js';

/**
 * The node producing each value.
 * @param graph - the graph
 * @returns value name → producing node
 * @throws {GraphError} when a value is produced twice
 * @example
 * ```ts
 * producers(g).get('conv1:0')?.op; // 'Conv2D'
 * ```
 */
export function producers(graph: Graph): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const n of graph.nodes) {
    for (const v of n.outputs) {
      const prev = out.get(v);
      if (prev)
        throw new GraphError(`graph: value '${v}' is produced by both node '${prev.name}' and '${n.name}'`);
      out.set(v, n);
    }
  }
  return out;
}

/**
 * The nodes reading each value (a node reading a value twice appears twice).
 * @param graph - the graph
 * @returns value name → consuming nodes
 * @example
 * ```ts
 * consumers(g).get('x')?.length; // 1
 * ```
 */
export function consumers(graph: Graph): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const v of n.inputs) {
      if (v === null) continue;
      const list = out.get(v);
      if (list) list.push(n);
      else out.set(v, [n]);
    }
  }
  return out;
}

/**
 * Nodes in a topological order (stable: keeps the given order where dependencies allow).
 * @param graph - the graph
 * @returns the sorted nodes
 * @throws {GraphError} on a cycle (naming the nodes on it) or a value produced twice
 * @example
 * ```ts
 * const order = topoSort(g).map((n) => n.name);
 * ```
 */
export function topoSort(graph: Graph): Node[] {
  const prod = producers(graph);
  const pending = new Map<Node, number>();
  const waiting = new Map<Node, Node[]>();
  for (const n of graph.nodes) {
    const deps = new Set<Node>();
    for (const v of n.inputs) {
      const p = v === null ? undefined : prod.get(v);
      if (p) deps.add(p);
    }
    pending.set(n, deps.size);
    for (const d of deps) {
      const list = waiting.get(d);
      if (list) list.push(n);
      else waiting.set(d, [n]);
    }
  }
  const index = new Map(graph.nodes.map((n, i) => [n, i]));
  // A min-heap would be O(n log n); ready sets in CNN graphs are tiny, so a sorted insert is fine.
  const ready = graph.nodes.filter((n) => pending.get(n) === 0);
  const order: Node[] = [];
  while (ready.length > 0) {
    const n = ready.shift()!;
    order.push(n);
    for (const m of waiting.get(n) ?? []) {
      const left = pending.get(m)! - 1;
      pending.set(m, left);
      if (left === 0) {
        const at = ready.findIndex((r) => index.get(r)! > index.get(m)!);
        if (at < 0) ready.push(m);
        else ready.splice(at, 0, m);
      }
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.filter((n) => pending.get(n)! > 0).map((n) => `'${n.name}'`);
    throw new GraphError(
      `graph: cycle among nodes ${stuck.slice(0, 8).join(', ')}${stuck.length > 8 ? ', …' : ''}`,
    );
  }
  return order;
}
