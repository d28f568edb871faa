import {
  castValues,
  type DType,
  type Graph,
  type Initializer,
  InvalidArgumentError,
  inferShapes,
  type Node,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { NameAllocator } from './graph-util.js';

/** The 16-bit float formats of {@link convertFloat}. */
export type HalfDType = 'float16' | 'bfloat16';

/**
 * Converts a float32 graph to float16 or bfloat16: every float32 initializer is rounded (to nearest even) and
 * the whole graph computes in the 16-bit type; float32 graph inputs get a `Cast` to it and float32 outputs a
 * `Cast` back, so callers keep passing and reading float32.
 * @param graph - a float32 graph
 * @param dtype - `'float16'` or `'bfloat16'`
 * @returns the converted graph (runs with `runGraph`)
 * @throws {InvalidArgumentError} on another dtype
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const half = convertFloat(g, 'float16');
 * runGraph(half, [x]).outputs[0].dtype; // 'float32'
 * ```
 */
export function convertFloat(graph: Graph, dtype: HalfDType): Graph {
  if (dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new InvalidArgumentError(
      `convertFloat: 'dtype' must be 'float16' or 'bfloat16', got ${String(dtype)}`,
    );
  }
  const g = validateGraph(graph);
  const names = new NameAllocator(g);
  const rename = new Map<string, string>();
  const nodes: Node[] = [];
  for (const v of g.inputs) {
    if (g.values.get(v)!.dtype !== 'float32') continue;
    const h = names.fresh(`${v}_${dtype}`);
    rename.set(v, h);
    nodes.push({ name: names.fresh(`${v}_Cast`), op: 'Cast', inputs: [v], outputs: [h], attrs: { dtype } });
  }
  const outRename = new Map<string, string>();
  for (const v of g.outputs) {
    const info = g.values.get(v);
    if (info?.dtype === 'float32' && !g.inputs.includes(v) && !g.initializers.has(v)) {
      outRename.set(v, names.fresh(`${v}_${dtype}`));
    }
  }
  const r = (v: string | null) => (v === null ? null : (rename.get(v) ?? outRename.get(v) ?? v));
  for (const n of g.nodes) {
    const attrs =
      n.op === 'Cast' && (n.attrs as { dtype?: DType }).dtype === 'float32' ? { ...n.attrs, dtype } : n.attrs;
    nodes.push({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map((v) => r(v)!), attrs });
  }
  for (const [v, h] of outRename) {
    nodes.push({
      name: names.fresh(`${v}_Cast`),
      op: 'Cast',
      inputs: [h],
      outputs: [v],
      attrs: { dtype: 'float32' },
    });
  }
  const initializers = [...g.initializers.values()].map(
    (i): Initializer =>
      i.dtype === 'float32'
        ? { name: i.name, dtype, shape: i.shape, data: castValues(i.data, 'float32', dtype) }
        : i,
  );
  const out = inferShapes(
    withGraph(g, {
      nodes,
      initializers,
      values: g.inputs.map((v) => g.values.get(v)!),
      metadata: { ...g.metadata, 'tinyvision.float': dtype },
    }),
  );
  return validateGraph(out);
}
