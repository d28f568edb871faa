import {
  createGraphRunner,
  type Graph,
  type GraphInputs,
  InvalidArgumentError,
  type Node,
  type Tensor,
  withGraph,
} from '@tinyvision/tensor';

/** One calibration batch: the single input tensor, one tensor per graph input, or tensors by input name. */
export type CalibrationBatch = Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>>;

/**
 * Allocates unique value/node names.
 * @internal
 */
export class NameAllocator {
  private readonly used: Set<string>;
  /** @param graph - the graph whose names are taken */
  constructor(graph: Graph) {
    this.used = new Set([
      ...graph.inputs,
      ...graph.initializers.keys(),
      ...graph.values.keys(),
      ...graph.nodes.flatMap((n) => [n.name, ...n.outputs]),
    ]);
  }
  /**
   * A fresh name based on `base`.
   * @param base - preferred name
   * @returns an unused name (now reserved)
   */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/**
 * Normalises a calibration batch into graph inputs.
 * @internal
 */
export function batchInputs(graph: Graph, batch: CalibrationBatch): GraphInputs {
  if (Array.isArray(batch)) return batch as readonly Tensor[];
  if (typeof batch === 'object' && batch !== null && 'shape' in batch && 'dtype' in batch) {
    return [batch as Tensor];
  }
  if (graph.inputs.length === 0) throw new InvalidArgumentError('calibration: the graph has no inputs');
  return batch as Readonly<Record<string, Tensor>>;
}

/**
 * Runs `graph` on every batch and hands the float data of the requested values to `visit`.
 * Graph inputs among `values` are read from the batch itself.
 * @returns the number of batches
 * @throws {InvalidArgumentError} when `batches` is empty
 * @internal
 */
export function collectValues(
  graph: Graph,
  batches: Iterable<CalibrationBatch>,
  values: readonly string[],
  visit: (name: string, data: Float32Array, shape: readonly number[]) => void,
  where: string,
): number {
  const inner = values.filter((v) => !graph.inputs.includes(v));
  const probe = withGraph(graph, { outputs: [...new Set([...graph.outputs, ...inner])] });
  const runner = createGraphRunner(probe);
  let count = 0;
  try {
    for (const batch of batches) {
      const inputs = batchInputs(graph, batch);
      const list = Array.isArray(inputs)
        ? (inputs as readonly Tensor[])
        : graph.inputs.map((n) => (inputs as Record<string, Tensor>)[n]!);
      const { named, outputs } = runner.run(inputs);
      try {
        for (const v of values) {
          const i = graph.inputs.indexOf(v);
          const t = i >= 0 ? list[i] : named[v];
          if (!t) continue;
          visit(v, t.toFloat32(), t.shape);
        }
      } finally {
        for (const t of outputs) t.dispose();
      }
      count++;
    }
  } finally {
    runner.dispose();
  }
  if (count === 0) throw new InvalidArgumentError(`${where}: the calibration set is empty`);
  return count;
}

/**
 * Maps each value to the nodes that read it.
 * @internal
 */
export function readers(nodes: readonly Node[]): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const v of n.inputs) {
      if (v === null) continue;
      const list = m.get(v);
      if (list) {
        if (!list.includes(n)) list.push(n);
      } else m.set(v, [n]);
    }
  }
  return m;
}
