import { type Dim, type Graph, GraphError, type Node, sizeOf } from '@tinyvision/tensor';

/** Options of {@link countMacs}. */
export interface CountMacsOptions {
  /** Sizes of symbolic dims (e.g. `{ N: 1 }` for a dynamic-batch graph). */
  readonly symbols?: Readonly<Record<string, number>>;
}

/** MACs of one node (0 for ops that are not convolutions or matrix products). */
export interface NodeMacs {
  /** Node name. */
  readonly node: string;
  /** Kernel name. */
  readonly op: string;
  /** Multiply-accumulates. */
  readonly macs: number;
}

/** What {@link countMacs} returns. */
export interface MacsReport {
  /** Total multiply-accumulates. */
  readonly total: number;
  /** Per-node counts, in graph order (nodes with 0 MACs omitted). */
  readonly nodes: NodeMacs[];
}

function dims(graph: Graph, value: string | null | undefined, node: Node, opts: CountMacsOptions): number[] {
  const info = value ? graph.values.get(value) : undefined;
  if (!info) throw new GraphError(`countMacs: node '${node.name}' (${node.op}) has no shape for '${value}'`);
  return info.shape.map((d: Dim) => {
    if (typeof d === 'number') return d;
    const v = opts.symbols?.[d];
    if (v === undefined) {
      throw new GraphError(
        `countMacs: node '${node.name}' value '${value}' has symbolic dim '${d}'; pass its size in 'symbols'`,
      );
    }
    return v;
  });
}

/**
 * Multiply-accumulates of one node from the graph's inferred shapes: Conv2D / FusedConv2D / QConv2D count
 * `out elements · (in / groups) · kH · kW`, ConvTranspose2D `in elements · (out / groups) · kH · kW`, MatMul /
 * QMatMul `out elements · K`, Linear `out elements · in features`; every other op counts 0 (bias adds,
 * normalisation and activations are not MACs).
 * @param graph - the graph holding the node's value infos
 * @param node - the node
 * @param opts - sizes of symbolic dims
 * @returns the node's MACs
 * @throws {GraphError} when a needed shape is missing or has an unknown symbolic dim
 * @example
 * ```ts
 * const g = trace((x) => model.call(x), [zeros([1, 3, 96, 96])]);
 * g.nodes.map((n) => nodeMacs(g, n));
 * ```
 */
export function nodeMacs(graph: Graph, node: Node, opts: CountMacsOptions = {}): number {
  switch (node.op) {
    case 'Conv2D':
    case 'FusedConv2D':
    case 'QConv2D': {
      const w = dims(graph, node.inputs[1], node, opts);
      return sizeOf(dims(graph, node.outputs[0], node, opts)) * w[1]! * w[2]! * w[3]!;
    }
    case 'ConvTranspose2D': {
      const w = dims(graph, node.inputs[1], node, opts);
      return sizeOf(dims(graph, node.inputs[0], node, opts)) * w[1]! * w[2]! * w[3]!;
    }
    case 'MatMul':
    case 'QMatMul': {
      const a = dims(graph, node.inputs[0], node, opts);
      const k = node.attrs.transposeA ? a[a.length - 2]! : a[a.length - 1]!;
      return sizeOf(dims(graph, node.outputs[0], node, opts)) * k;
    }
    case 'Linear': {
      const x = dims(graph, node.inputs[0], node, opts);
      return sizeOf(dims(graph, node.outputs[0], node, opts)) * x[x.length - 1]!;
    }
    default:
      return 0;
  }
}

/**
 * Total multiply-accumulates of a graph (see {@link nodeMacs} for what counts), e.g. of a traced model at
 * batch 1 to get the "MACs" figure papers report.
 * @param graph - a traced or decoded graph
 * @param opts - sizes of symbolic dims
 * @returns the total and the per-node counts (nodes with 0 MACs omitted)
 * @throws {GraphError} when a needed shape is missing or has an unknown symbolic dim
 * @example
 * ```ts
 * const g = trace((x) => model.eval().call(x), [zeros([1, 3, 224, 224])]);
 * countMacs(g).total; // 300774272 for mobilenet_v2
 * ```
 */
export function countMacs(graph: Graph, opts: CountMacsOptions = {}): MacsReport {
  const nodes: NodeMacs[] = [];
  let total = 0;
  for (const node of graph.nodes) {
    const macs = nodeMacs(graph, node, opts);
    if (macs === 0) continue;
    nodes.push({ node: node.name, op: node.op, macs });
    total += macs;
  }
  return { total, nodes };
}
