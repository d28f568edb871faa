import { GraphError, TinyVisionError, UnsupportedOpError } from '../errors/index.js';
import { InferContext, type OutputInfo, type ShapeRule } from './infer-context.js';
import { elementwiseRules } from './rules-elementwise.js';
import { movementRules } from './rules-movement.js';
import { nnRules } from './rules-nn.js';
import { topoSort } from './topo.js';
import { type Graph, initializerInfo, type Node, type ValueInfo, withGraph } from './types.js';

const RULES: Readonly<Record<string, ShapeRule>> = { ...elementwiseRules, ...nnRules, ...movementRules };

/**
 * Whether the graph IR knows `op` (has a shape rule for it).
 * @param op - kernel name
 * @returns true for every kernel name in `kernel-names.ts`
 * @example
 * ```ts
 * isKnownOp('Conv2D'); // true
 * ```
 */
export function isKnownOp(op: string): boolean {
  return Object.hasOwn(RULES, op);
}

/**
 * Infers the output shapes, dtypes and quantization of one node from its inputs' value infos.
 * @param node - the node (name, op, attrs, and output count in `outputs`)
 * @param inputs - value infos of its inputs (null for omitted optional inputs)
 * @returns one {@link OutputInfo} per output
 * @throws {UnsupportedOpError} when `op` has no rule
 * @throws {ShapeError} / {DTypeError} on conflicting shapes or dtypes
 * @throws {GraphError} on missing inputs or malformed attributes
 * @example
 * ```ts
 * inferNode({ name: 'r', op: 'Relu', inputs: ['x'], outputs: ['y'], attrs: {} },
 *   [{ name: 'x', shape: ['N', 4], dtype: 'float32' }]); // [{ shape: ['N', 4], dtype: 'float32' }]
 * ```
 */
export function inferNode(
  node: Pick<Node, 'name' | 'op' | 'attrs' | 'outputs'>,
  inputs: readonly (ValueInfo | null)[],
): OutputInfo[] {
  const rule = Object.hasOwn(RULES, node.op) ? RULES[node.op] : undefined;
  if (!rule) throw new UnsupportedOpError(`graph: node '${node.name}' has unknown op '${node.op}'`);
  const attrs = node.attrs;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new GraphError(`graph: node '${node.name}' (${node.op}): attrs must be an object`);
  }
  let outs: OutputInfo[];
  try {
    outs = rule(new InferContext(node, inputs));
  } catch (e) {
    if (TinyVisionError.isInstance(e)) throw e;
    throw new GraphError(`graph: node '${node.name}' (${node.op}): malformed node (${String(e)})`);
  }
  if (outs.length !== node.outputs.length) {
    throw new GraphError(
      `graph: node '${node.name}' (${node.op}) has ${node.outputs.length} outputs, the op produces ${outs.length}`,
    );
  }
  return outs;
}

/**
 * Recomputes the value info of every node output from the graph inputs and initializers, in topological
 * order. Graph inputs must have value infos; initializers describe themselves.
 * @param graph - the graph
 * @returns a new graph whose `values` hold exactly the inputs, initializers and node outputs
 * @throws {GraphError} on a missing input value info, a dangling edge or a cycle
 * @throws {UnsupportedOpError} on an unknown op
 * @throws {ShapeError} / {DTypeError} on conflicts (messages name the node and values)
 * @example
 * ```ts
 * const g2 = inferShapes(g);
 * g2.values.get(g2.outputs[0]!)?.shape; // ['N', 10]
 * ```
 */
export function inferShapes(graph: Graph): Graph {
  const values = new Map<string, ValueInfo>();
  for (const name of graph.inputs) {
    const v = graph.values.get(name);
    if (!v) throw new GraphError(`graph: input '${name}' has no value info (shape and dtype)`);
    values.set(name, v);
  }
  for (const init of graph.initializers.values()) values.set(init.name, initializerInfo(init));
  const nodes = topoSort(graph);
  for (const n of nodes) {
    const ins = n.inputs.map((v) => {
      if (v === null) return null;
      const info = values.get(v);
      if (!info) throw new GraphError(`graph: node '${n.name}' reads undefined value '${v}'`);
      return info;
    });
    const outs = inferNode(n, ins);
    n.outputs.forEach((name, i) => {
      const o = outs[i]!;
      values.set(
        name,
        o.quant
          ? { name, shape: o.shape, dtype: o.dtype, quant: o.quant }
          : { name, shape: o.shape, dtype: o.dtype },
      );
    });
  }
  return withGraph(graph, { nodes, values });
}
