import {
  type Graph,
  type Initializer,
  InvalidArgumentError,
  inferShapes,
  type Node,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { NameAllocator } from './graph-util.js';
import { quantizeSymmetric, type WeightRangeMethod } from './weights.js';

/** Options of {@link quantizeWeights}. */
export interface QuantizeWeightsOptions {
  /** Bits per weight: 8 (`[-127, 127]`) or 4 (`[-7, 7]`, held one per int8 element, counted packed). Default 8. */
  readonly bits?: 4 | 8;
  /**
   * Weights per scale along the input dimension (group-wise quantization, e.g. 32 or 128); each output
   * channel's `I·kH·kW` (conv) or `in` (linear) values are split into groups of this size. Default: one scale per
   * output channel. Layers whose input size is not a multiple fall back to per-channel scales.
   */
  readonly groupSize?: number;
  /** Range method (default `'minmax'`). */
  readonly method?: WeightRangeMethod;
  /** Node names to leave in float. */
  readonly skipNodes?: readonly string[];
  /** Skip weights with fewer elements than this (default 0: quantize all). */
  readonly minElements?: number;
}

/** One quantized weight, for {@link WeightOnlyResult.layers}. */
export interface WeightOnlyLayer {
  /** The node reading the weight. */
  readonly node: string;
  /** The float weight's name. */
  readonly weight: string;
  /** Bits per weight. */
  readonly bits: 4 | 8;
  /** Weights per scale (the per-channel size when no grouping was applied). */
  readonly groupSize: number;
  /** Number of scales. */
  readonly scales: number;
}

/** Result of {@link quantizeWeights}. */
export interface WeightOnlyResult {
  /** The graph: int8 weights read through `DequantizeLinear` (and a `Reshape` for grouped weights). */
  readonly graph: Graph;
  /** What was quantized. */
  readonly layers: WeightOnlyLayer[];
}

/** Metadata key listing the int8 initializers that hold 4-bit values (comma-separated). */
export const INT4_METADATA_KEY = 'tinyvision.int4Initializers';

/**
 * Weight-only quantization: conv (`Conv2D`, `FusedConv2D`), `Linear` and `MatMul` weights become int8 or int4
 * (in int8 storage) integers with symmetric per-output-channel or group-wise scales, read through
 * `DequantizeLinear`; activations stay float. Grouped weights are stored as `[O·G, size]` quantized per row
 * (axis 0) and reshaped back after dequantization, so the graph uses only standard ops. Int4 initializers are
 * listed in metadata `tinyvision.int4Initializers` so sizes can count them at 4 bits.
 * @param graph - a float graph
 * @param opts - bits, group size, range method, nodes to skip
 * @returns the graph and the quantized layers
 * @throws {InvalidArgumentError} on bits other than 4/8 or a non-positive group size
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const { graph } = quantizeWeights(g, { bits: 4, groupSize: 32 });
 * runGraph(graph, [x]);
 * ```
 */
export function quantizeWeights(graph: Graph, opts: QuantizeWeightsOptions = {}): WeightOnlyResult {
  const bits = opts.bits ?? 8;
  if (bits !== 4 && bits !== 8)
    throw new InvalidArgumentError(`quantizeWeights: 'bits' must be 4 or 8, got ${bits}`);
  const gs = opts.groupSize;
  if (gs !== undefined && (!Number.isInteger(gs) || gs < 1)) {
    throw new InvalidArgumentError(`quantizeWeights: 'groupSize' must be a positive integer, got ${gs}`);
  }
  const g = validateGraph(graph);
  const qmax = bits === 8 ? 127 : 7;
  const skip = new Set(opts.skipNodes ?? []);
  const names = new NameAllocator(g);
  const inits = new Map(g.initializers);
  const nodes: Node[] = [];
  const layers: WeightOnlyLayer[] = [];
  const int4: string[] = [];
  const done = new Map<string, string>();
  for (const n of g.nodes) {
    const isConv = n.op === 'Conv2D' || n.op === 'FusedConv2D' || n.op === 'Linear';
    const isMat = n.op === 'MatMul' && !n.attrs.transposeB;
    const wName = n.inputs[1];
    const w = wName ? g.initializers.get(wName) : undefined;
    if (
      (!isConv && !isMat) ||
      skip.has(n.name) ||
      w?.dtype !== 'float32' ||
      w.data.length < (opts.minElements ?? 0)
    ) {
      nodes.push(n);
      continue;
    }
    const cached = done.get(w.name);
    if (cached) {
      nodes.push({ ...n, inputs: n.inputs.map((v, i) => (i === 1 ? cached : v)) });
      continue;
    }
    const o = isConv ? w.shape[0]! : w.shape[1]!;
    const k = w.data.length / o;
    const grouped = isConv && gs !== undefined && gs < k && k % gs === 0;
    let stored: Initializer;
    let size: number;
    if (grouped) {
      const rows = (o * k) / gs;
      const { q, scale } = quantizeSymmetric(w.data as Float32Array, [rows, gs], 0, {
        qmax,
        method: opts.method,
      });
      stored = {
        name: names.fresh(`${w.name}_quantized`),
        dtype: 'int8',
        shape: [rows, gs],
        data: q,
        quant: { scale, zeroPoint: scale.map(() => 0), axis: 0 },
      };
      size = gs;
    } else {
      const axis = isConv ? 0 : 1;
      const { q, scale } = quantizeSymmetric(w.data as Float32Array, w.shape, axis, {
        qmax,
        method: opts.method,
      });
      stored = {
        name: names.fresh(`${w.name}_quantized`),
        dtype: 'int8',
        shape: [...w.shape],
        data: q,
        quant: { scale, zeroPoint: scale.map(() => 0), axis },
      };
      size = k;
    }
    inits.set(stored.name, stored);
    if (bits === 4) int4.push(stored.name);
    let out = names.fresh(`${w.name}_dequantized`);
    nodes.push({
      name: names.fresh(`${w.name}_DequantizeLinear`),
      op: 'DequantizeLinear',
      inputs: [stored.name],
      outputs: [out],
      attrs: {},
    });
    if (grouped) {
      const flat = out;
      out = names.fresh(`${w.name}_reshaped`);
      nodes.push({
        name: names.fresh(`${w.name}_Reshape`),
        op: 'Reshape',
        inputs: [flat],
        outputs: [out],
        attrs: { shape: [...w.shape] },
      });
    }
    done.set(w.name, out);
    nodes.push({ ...n, inputs: n.inputs.map((v, i) => (i === 1 ? out : v)) });
    layers.push({ node: n.name, weight: w.name, bits, groupSize: size, scales: stored.quant!.scale.length });
  }
  const live = new Set(nodes.flatMap((m) => m.inputs.filter((v): v is string => v !== null)));
  const metadata = { ...g.metadata };
  if (int4.length) {
    metadata[INT4_METADATA_KEY] = [...(g.metadata[INT4_METADATA_KEY]?.split(',') ?? []), ...int4].join(',');
  }
  const result = inferShapes(
    withGraph(g, {
      nodes,
      initializers: [...inits.values()].filter((i) => live.has(i.name) || g.outputs.includes(i.name)),
      values: g.inputs.map((v) => g.values.get(v)!),
      metadata,
    }),
  );
  return { graph: validateGraph(result), layers };
}

/**
 * Bytes of a graph's constant data: each initializer's elements times its dtype size, with the int4
 * initializers named in metadata `tinyvision.int4Initializers` counted at half a byte (packed two per byte,
 * as a file would store them), plus 4 bytes per quantization scale and zero point.
 * @param graph - the graph
 * @returns the byte count
 * @example
 * ```ts
 * weightBytes(quantizeWeights(g, { bits: 4 }).graph) < weightBytes(g) / 6; // true for large layers
 * ```
 */
export function weightBytes(graph: Graph): number {
  const int4 = new Set(graph.metadata[INT4_METADATA_KEY]?.split(',') ?? []);
  let total = 0;
  for (const i of graph.initializers.values()) {
    const n = i.data.length;
    total += int4.has(i.name) ? Math.ceil(n / 2) : n * i.data.BYTES_PER_ELEMENT;
    if (i.quant) total += 8 * i.quant.scale.length;
  }
  return total;
}
