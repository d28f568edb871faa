// exportTflite: Graph → .tflite bytes (schema v3, builtin ops, NHWC).
import {
  type Dim,
  type Graph,
  InvalidArgumentError,
  inferShapes,
  optimizeGraph,
  UnsupportedOpError,
  type ValueInfo,
  withGraph,
} from '@tinyvision/tensor';
import { type Layout, TflContext } from './context.js';
import type { TflModel } from './ir.js';
import { buildMetadata, labelsZip, TFLITE_METADATA_NAME, type TfliteMetadataOptions } from './metadata.js';
import { TFLITE_CONVERTERS } from './ops.js';
import { isQdqGraph, planQdq } from './qdq.js';
import { quantizeWeights } from './quantize-weights.js';
import { serializeTflite } from './serialize.js';

/**
 * Weight/activation precision of {@link exportTflite}:
 * `'none'` float32; `'fp16'` float16 weights + DEQUANTIZE (TFLite float16 quantization);
 * `'dynamic'` int8 weights (per-channel symmetric) with float activations (TFLite dynamic-range quantization).
 */
export type TfliteQuantization = 'none' | 'fp16' | 'dynamic';

/** Options of {@link exportTflite}. */
export interface ExportTfliteOptions {
  /**
   * Layout of rank-4 graph inputs and outputs (default `'nhwc'`, what TFLite users feed). `'nchw'` keeps the
   * graph's own NCHW interface (a TRANSPOSE is inserted after each input and before each output).
   */
  readonly layout?: 'nhwc' | 'nchw';
  /** Size given to symbolic dims (the dynamic batch `'N'`), default 1: TFLite tensors here are static. */
  readonly batchSize?: number;
  /** Weight precision (default `'none'`). */
  readonly quantization?: TfliteQuantization;
  /**
   * QDQ (int8) graphs only: make the model's inputs and outputs int8 (the graph's first QuantizeLinear and
   * last DequantizeLinear are left to the caller, as TFLite's `inference_input_type=int8` does). Default false:
   * float inputs/outputs with QUANTIZE / DEQUANTIZE operators.
   */
  readonly int8Io?: boolean;
  /** Run `optimizeGraph` first (BN folding, activation fusion; default true). */
  readonly optimize?: boolean;
  /** `Model.description` (default `'tinyvision'`). */
  readonly description?: string;
  /**
   * TFLite Support metadata (name, version, author, license, input normalization, labels). Labels are
   * written as `labels.txt` in a zip archive appended to the model, as TFLite Support does.
   */
  readonly metadata?: TfliteMetadataOptions;
}

/**
 * The kernel names the TFLite writer can express (float graphs).
 * @returns sorted kernel names
 * @example
 * ```ts
 * tfliteSupportedOps().includes('FusedConv2D'); // true
 * ```
 */
export function tfliteSupportedOps(): string[] {
  return Object.keys(TFLITE_CONVERTERS).sort();
}

/** Static shapes: symbolic dims of the inputs become `batchSize`, then shapes are re-inferred. */
function concretize(graph: Graph, batchSize: number): Graph {
  const values = new Map<string, ValueInfo>(graph.values);
  let symbolic = false;
  for (const name of graph.inputs) {
    const v = graph.values.get(name);
    if (!v) throw new UnsupportedOpError(`exportTflite: input '${name}' has no value info`);
    if (v.shape.some((d) => typeof d !== 'number')) {
      symbolic = true;
      values.set(name, { ...v, shape: v.shape.map((d: Dim) => (typeof d === 'number' ? d : batchSize)) });
    }
  }
  const g = symbolic ? inferShapes(withGraph(graph, { values })) : graph;
  for (const v of g.values.values()) {
    if (v.shape.some((d) => typeof d !== 'number')) {
      throw new UnsupportedOpError(
        `exportTflite: value '${v.name}' has a symbolic shape [${v.shape.join(', ')}] after fixing the batch`,
      );
    }
  }
  return g;
}

/**
 * Converts a graph to the in-memory TFLite model (float32 unless `quantization` says otherwise).
 * @internal
 */
export function buildTfliteModel(graph: Graph, opts: ExportTfliteOptions = {}): TflModel {
  const batch = opts.batchSize ?? 1;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new InvalidArgumentError(`exportTflite: 'batchSize' must be a positive integer, got ${batch}`);
  }
  const layout = opts.layout ?? 'nhwc';
  if (layout !== 'nhwc' && layout !== 'nchw') {
    throw new InvalidArgumentError(
      `exportTflite: 'layout' must be 'nhwc' or 'nchw', got '${String(layout)}'`,
    );
  }
  const qdq = isQdqGraph(graph);
  // optimizeGraph would fold the DequantizeLinear of constant weights: QDQ graphs are exported as they are
  const g = concretize(opts.optimize === false || qdq ? graph : optimizeGraph(graph), batch);
  const c = new TflContext(g);
  const skip = qdq ? planQdq(c, g) : new Set<string>();
  const io: Layout = layout === 'nhwc' ? 'nhwc' : 'plain';
  if (opts.int8Io && !qdq) {
    throw new InvalidArgumentError("exportTflite: 'int8Io' needs a QDQ (int8) graph");
  }
  // int8 I/O: the graph input's QuantizeLinear and the output's DequantizeLinear become the model boundary
  const inputNames = g.inputs.map((name) => {
    if (!opts.int8Io) return name;
    const q = g.nodes.filter((n) => n.inputs.includes(name));
    if (q.length !== 1 || q[0]!.op !== 'QuantizeLinear' || c.dtype(q[0]!.outputs[0]!) !== 'int8') {
      throw new UnsupportedOpError(
        `exportTflite: int8Io: input '${name}' is not read by one int8 QuantizeLinear`,
      );
    }
    skip.add(q[0]!.name);
    return q[0]!.outputs[0]!;
  });
  const outputNames = g.outputs.map((name) => {
    if (!opts.int8Io) return name;
    const dq = g.nodes.find((n) => n.outputs.includes(name));
    if (dq?.op !== 'DequantizeLinear') {
      throw new UnsupportedOpError(
        `exportTflite: int8Io: output '${name}' is not written by DequantizeLinear`,
      );
    }
    skip.add(dq.name);
    return dq.inputs[0]!;
  });
  const inputs = inputNames.map((name) => {
    const dt = c.dtype(name);
    const l: Layout = c.shape(name).length === 4 && (dt === 'float32' || dt === 'int8') ? io : 'plain';
    const t = c.tmp(name, c.storedShape(name, l), c.tflType(name), c.tflQuant(name, l));
    c.define(name, t, l);
    return t;
  });
  for (const node of g.nodes) {
    if (skip.has(node.name)) continue;
    const convert = TFLITE_CONVERTERS[node.op];
    if (!convert) {
      throw new UnsupportedOpError(
        `exportTflite: op '${node.op}' (node '${node.name}') has no TFLite mapping`,
      );
    }
    convert(c, node);
  }
  const outputs = outputNames.map((name) => {
    const t = c.get(name, io);
    if (c.tensors[t]!.name !== name) {
      // the graph output is a converted copy: give it the graph's name
      const i = c.tensors.findIndex((x) => x.name === name);
      if (i >= 0) c.tensors[i] = { ...c.tensors[i]!, name: `${name}:internal` };
      c.tensors[t] = { ...c.tensors[t]!, name };
    }
    return t;
  });
  let model: TflModel = {
    description: opts.description ?? 'tinyvision',
    subgraphName: g.name ?? 'main',
    tensors: c.tensors,
    operators: c.operators,
    inputs,
    outputs,
    buffers: c.buffers,
    metadata: [],
  };
  if (opts.metadata) {
    const first = g.inputs[0];
    const s = first === undefined ? [] : c.shape(first);
    const image =
      s.length === 4 && first !== undefined
        ? { name: first, channels: s[1]!, height: s[2]!, width: s[3]! }
        : undefined;
    const bytes = buildMetadata(
      opts.metadata,
      image,
      first ?? '',
      g.outputs[0] ?? '',
      g.name ?? 'tinyvision',
    );
    const buffer = model.buffers.length;
    model = {
      ...model,
      buffers: [...model.buffers, bytes],
      metadata: [{ name: TFLITE_METADATA_NAME, buffer }],
    };
  }
  const q = opts.quantization ?? 'none';
  if (q !== 'none') {
    if (q !== 'fp16' && q !== 'dynamic') {
      throw new InvalidArgumentError(
        `exportTflite: 'quantization' must be none, fp16 or dynamic, got '${q}'`,
      );
    }
    model = quantizeWeights(model, q);
  }
  return model;
}

/**
 * Writes a graph as a TFLite flatbuffer (schema version 3, identifier `TFL3`, one subgraph, builtin ops only).
 * The graph is optimised (BN folding, conv + activation fusion), symbolic batch dims are fixed to `batchSize`,
 * and the NCHW graph is converted to TFLite's NHWC: conv weights OHWI, depthwise weights `[1, H, W, C·M]`,
 * rank-4 activations NHWC with TRANSPOSE only where an op depends on memory order (Reshape, MatMul…).
 * @param graph - a float32 graph (from `trace`/`traceModule`)
 * @param opts - layout of rank-4 inputs/outputs (default NHWC), batch size, quantization, description, metadata
 * @returns the `.tflite` bytes
 * @throws {UnsupportedOpError} for an op without a TFLite mapping (naming the node and op) or an unsupported
 *   attribute combination
 * @throws {InvalidArgumentError} for bad options
 * @example
 * ```ts
 * const g = traceModule(model, [randn([1, 3, 224, 224])]);
 * const bytes = exportTflite(g); // input [1, 224, 224, 3]
 * ```
 */
export function exportTflite(graph: Graph, opts: ExportTfliteOptions = {}): Uint8Array {
  const flat = serializeTflite(buildTfliteModel(graph, opts));
  const labels = opts.metadata?.labels;
  if (!labels) return flat;
  const zip = labelsZip(labels);
  const out = new Uint8Array(flat.length + zip.length);
  out.set(flat);
  out.set(zip, flat.length);
  return out;
}
