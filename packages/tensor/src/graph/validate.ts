import { allocStorage, DTYPES } from '../dtype.js';
import { GraphError, ShapeError, UnsupportedOpError } from '../errors/index.js';
import { sizeOf } from '../shape.js';
import { inferShapes, isKnownOp } from './infer.js';
import { fmtDims } from './infer-context.js';
import { topoSort } from './topo.js';
import { GRAPH_IR_VERSION, type Graph } from './types.js';

function checkName(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0)
    throw new GraphError(`graph: ${where} must be a non-empty string`);
  return v;
}

function checkDims(shape: unknown, where: string, allowSymbolic: boolean): void {
  if (
    !Array.isArray(shape) ||
    !shape.every(
      (d) => (Number.isSafeInteger(d) && d >= 0) || (allowSymbolic && typeof d === 'string' && d.length > 0),
    )
  ) {
    throw new GraphError(
      `graph: ${where} shape ${JSON.stringify(shape)} must be a list of non-negative integers${allowSymbolic ? ' or symbols' : ''}`,
    );
  }
}

/**
 * Checks a graph's structure and consistency: unique names, every edge defined, no value produced twice,
 * no cycles, outputs produced, known ops, initializer data matching shape and dtype, and shapes/dtypes
 * consistent under inference (declared node-output value infos must equal the inferred ones).
 * @param graph - the graph
 * @returns the graph with inferred value infos for every node output
 * @throws {GraphError} on structural problems (dangling edge, duplicate value, cycle, unproduced output)
 * @throws {UnsupportedOpError} on an unknown op
 * @throws {ShapeError} / {DTypeError} on shape or dtype conflicts (naming the node and the values)
 * @example
 * ```ts
 * const checked = validateGraph(g);
 * ```
 */
export function validateGraph(graph: Graph): Graph {
  if (!Number.isSafeInteger(graph.version) || graph.version < 1 || graph.version > GRAPH_IR_VERSION) {
    throw new GraphError(`graph: IR version ${graph.version} is not supported (max ${GRAPH_IR_VERSION})`);
  }
  for (const [k, v] of Object.entries(graph.metadata)) {
    if (typeof v !== 'string')
      throw new GraphError(`graph: metadata '${k}' must be a string, got ${typeof v}`);
  }
  const defined = new Map<string, string>();
  const define = (name: string, what: string) => {
    const prev = defined.get(name);
    if (prev) throw new GraphError(`graph: value '${name}' is defined twice (${prev} and ${what})`);
    defined.set(name, what);
  };
  graph.inputs.forEach((name, i) => {
    define(checkName(name, `input ${i}`), 'a graph input');
    const info = graph.values.get(name);
    if (!info) throw new GraphError(`graph: input '${name}' has no value info (shape and dtype)`);
    checkDims(info.shape, `input '${name}'`, true);
    if (!DTYPES.includes(info.dtype))
      throw new GraphError(`graph: input '${name}' has unknown dtype ${JSON.stringify(info.dtype)}`);
  });
  for (const [key, init] of graph.initializers) {
    if (key !== init.name)
      throw new GraphError(`graph: initializer key '${key}' differs from its name '${init.name}'`);
    define(checkName(init.name, 'initializer name'), 'an initializer');
    if (!DTYPES.includes(init.dtype))
      throw new GraphError(
        `graph: initializer '${init.name}' has unknown dtype ${JSON.stringify(init.dtype)}`,
      );
    checkDims(init.shape, `initializer '${init.name}'`, false);
    const ctor = allocStorage(init.dtype, 0).constructor;
    if (!(init.data instanceof ctor) || init.data.length !== sizeOf(init.shape)) {
      throw new ShapeError(
        `graph: initializer '${init.name}' ${init.dtype}${fmtDims(init.shape)} needs ${sizeOf(init.shape)} elements in a ${ctor.name}, got ${init.data?.length} in a ${init.data?.constructor?.name}`,
      );
    }
  }
  const nodeNames = new Set<string>();
  for (const n of graph.nodes) {
    const name = checkName(n.name, 'node name');
    if (nodeNames.has(name)) throw new GraphError(`graph: node name '${name}' is used twice`);
    nodeNames.add(name);
    if (!isKnownOp(n.op))
      throw new UnsupportedOpError(`graph: node '${name}' has unknown op '${String(n.op)}'`);
    if (!Array.isArray(n.outputs) || n.outputs.length === 0)
      throw new GraphError(`graph: node '${name}' has no outputs`);
    if (!Array.isArray(n.inputs)) throw new GraphError(`graph: node '${name}' inputs must be a list`);
    n.outputs.forEach((v, i) =>
      define(checkName(v, `node '${name}' output ${i}`), `an output of node '${name}'`),
    );
  }
  for (const n of graph.nodes) {
    n.inputs.forEach((v, i) => {
      if (v === null) return;
      checkName(v, `node '${n.name}' input ${i}`);
      if (!defined.has(v))
        throw new GraphError(`graph: node '${n.name}' reads undefined value '${v}' (input ${i})`);
    });
  }
  graph.outputs.forEach((v, i) => {
    checkName(v, `output ${i}`);
    if (!defined.has(v))
      throw new GraphError(`graph: output '${v}' is not produced by any node, input or initializer`);
  });
  topoSort(graph);
  const inferred = inferShapes(graph);
  for (const n of graph.nodes) {
    for (const v of n.outputs) {
      const declared = graph.values.get(v);
      const got = inferred.values.get(v)!;
      if (!declared) continue;
      const same =
        declared.shape.length === got.shape.length && declared.shape.every((d, i) => d === got.shape[i]);
      if (!same || declared.dtype !== got.dtype) {
        throw new ShapeError(
          `graph: node '${n.name}' (${n.op}) output '${v}' is declared ${declared.dtype}${fmtDims(declared.shape)} but infers to ${got.dtype}${fmtDims(got.shape)}`,
        );
      }
    }
  }
  return inferred;
}
