import {
  type Graph,
  GraphError,
  type Initializer,
  InvalidArgumentError,
  inferShapes,
  type Node,
  type QuantParams,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { type CalibrationBatch, collectValues, NameAllocator } from './graph-util.js';
import { createObserver, type Observer, type ObserverOptions } from './observers.js';
import { int8Weight, int32Bias, type WeightRangeMethod } from './weights.js';

/** Ops quantized by default (decision 0003, item 3, plus the pass-through pooling and movement ops). */
export const DEFAULT_QUANTIZED_OPS: readonly string[] = [
  'Conv2D',
  'FusedConv2D',
  'MatMul',
  'Linear',
  'Add',
  'Mul',
  'HardSwish',
  'HardSigmoid',
  'Sigmoid',
  'Relu',
  'Relu6',
  'AvgPool2D',
  'MaxPool2D',
  'GlobalAvgPool',
  'GlobalMaxPool',
  'Mean',
  'Concat',
  'Reshape',
  'Transpose',
];

/** Ops whose output reuses the input's quantization (no requantization, as TFLite requires). */
const PASS_THROUGH = new Set(['Reshape', 'Transpose', 'MaxPool2D', 'GlobalMaxPool', 'Slice', 'Expand']);

/** Ops with fixed output parameters in the TFLite int8 spec. */
const FIXED_OUTPUT: Readonly<Record<string, QuantParams>> = {
  Sigmoid: { scale: [1 / 256], zeroPoint: [-128] },
};

/** Conv-like ops: input 1 is a weight (per output channel on axis 0), input 2 an optional bias. */
const CONV_OPS = new Set(['Conv2D', 'FusedConv2D']);

/** FusedConv2D activations kept fused in the QDQ form (decision 0003, item 6). */
const INT8_FUSABLE = new Set(['none', 'relu', 'relu6']);

/** Options of {@link quantizeStatic}. */
export interface QuantizeStaticOptions {
  /** Activation range estimator (default `{ kind: 'minmax' }`; a kind string is accepted). */
  readonly activationObserver?: ObserverOptions | ObserverOptions['kind'];
  /** Weight range method (default `'minmax'`: `max|w| / 127`). */
  readonly weightRange?: WeightRangeMethod;
  /** Per-output-channel weight scales (default true, as decision 0003 requires); false gives one scale. */
  readonly perChannel?: boolean;
  /** Ops to quantize (default {@link DEFAULT_QUANTIZED_OPS}). */
  readonly ops?: readonly string[];
  /** Node names left in float (e.g. from a sensitivity analysis). */
  readonly skipNodes?: readonly string[];
}

/** Weight roles: which inputs of an op are weights and their channel axis. */
function weightAxis(n: Node, index: number): number | undefined | null {
  if (CONV_OPS.has(n.op) || n.op === 'Linear') return index === 1 ? 0 : null;
  if (n.op === 'MatMul' && index === 1) return (n.attrs as { transposeB?: boolean }).transposeB ? 0 : 1;
  return null;
}

/**
 * Splits `FusedConv2D` nodes whose activation cannot stay fused in int8 (hardSwish, sigmoid, …) into a
 * `FusedConv2D` without activation followed by the activation op, so each gets its own Q/DQ.
 * @internal
 */
export function splitUnfusableActivations(graph: Graph): Graph {
  const ACT_OPS: Readonly<Record<string, string>> = {
    hardSwish: 'HardSwish',
    hardSigmoid: 'HardSigmoid',
    sigmoid: 'Sigmoid',
    silu: 'Silu',
    tanh: 'Tanh',
  };
  if (!graph.nodes.some((n) => n.op === 'FusedConv2D' && !INT8_FUSABLE.has(String(n.attrs.activation)))) {
    return graph;
  }
  const names = new NameAllocator(graph);
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    const act = String(n.attrs.activation);
    if (n.op !== 'FusedConv2D' || INT8_FUSABLE.has(act)) {
      nodes.push(n);
      continue;
    }
    const op = ACT_OPS[act];
    if (!op) throw new GraphError(`quantizeStatic: node '${n.name}' has unknown activation '${act}'`);
    const pre = names.fresh(`${n.outputs[0]}_preact`);
    nodes.push({ ...n, outputs: [pre], attrs: { ...n.attrs, activation: 'none' } });
    nodes.push({
      name: names.fresh(`${n.name}_${act}`),
      op,
      inputs: [pre],
      outputs: [n.outputs[0]!],
      attrs: {},
    });
  }
  return inferShapes(withGraph(graph, { nodes, values: graph.inputs.map((v) => graph.values.get(v)!) }));
}

/** Per-tensor parameters from an observed float constant (its min and max). */
function constantParams(init: Initializer): QuantParams {
  const obs = createObserver();
  obs.observe(init.data as ArrayLike<number>, init.shape);
  return obs.qparams();
}

/**
 * Post-training static quantization to the int8 QDQ form of decision 0003: calibrates activation ranges on
 * `calibration` with the chosen observer, then wraps every quantizable node in `DequantizeLinear` inputs and a
 * `QuantizeLinear` output (activations per-tensor affine int8), stores conv/linear weights as symmetric
 * per-output-channel int8 (`[-127, 127]`) and biases as int32 with `scale = inputScale × weightScale[c]`.
 * `FusedConv2D` with relu/relu6 stays fused; other fused activations become separate quantized ops. Graph
 * inputs and outputs stay float32. Running the result with `runGraph` is the float simulation; `lowerQdq`
 * turns it into int8 kernels.
 * @param graph - a float graph, typically `optimizeGraph(traceModule(model, …))` (BN folded, FusedConv2D)
 * @param calibration - calibration batches (representative inputs; labels are not needed)
 * @param opts - observer, weight range method, per-channel, which ops, nodes to skip
 * @returns the QDQ graph (metadata `tinyvision.quantization` = `'int8-qdq'`)
 * @throws {InvalidArgumentError} when the calibration set is empty or an option is invalid
 * @throws {GraphError} when the graph is already quantized or invalid
 * @example
 * ```ts
 * const g = optimizeGraph(traceModule(model, [x], { dynamicBatch: true }));
 * const qdq = quantizeStatic(g, calibrationBatches, { activationObserver: 'percentile' });
 * const int8 = lowerQdq(qdq);
 * ```
 */
export function quantizeStatic(
  graph: Graph,
  calibration: Iterable<CalibrationBatch>,
  opts: QuantizeStaticOptions = {},
): Graph {
  const where = 'quantizeStatic';
  const obsOpts: ObserverOptions =
    typeof opts.activationObserver === 'string'
      ? { kind: opts.activationObserver }
      : (opts.activationObserver ?? {});
  if (obsOpts.axis !== undefined) {
    throw new InvalidArgumentError(`${where}: activation observers are per-tensor; drop 'axis'`);
  }
  createObserver(obsOpts); // validates the options before any work
  if (opts.weightRange !== undefined && opts.weightRange !== 'minmax' && opts.weightRange !== 'mse') {
    throw new InvalidArgumentError(
      `${where}: 'weightRange' must be 'minmax' or 'mse', got ${opts.weightRange}`,
    );
  }
  validateGraph(graph);
  for (const n of graph.nodes) {
    if (
      n.op === 'QuantizeLinear' ||
      n.op === 'DequantizeLinear' ||
      n.op === 'QConv2D' ||
      n.op === 'QMatMul'
    ) {
      throw new GraphError(`${where}: graph is already quantized (node '${n.name}' is ${n.op})`);
    }
  }
  const g = splitUnfusableActivations(graph);
  const ops = new Set(opts.ops ?? DEFAULT_QUANTIZED_OPS);
  const skip = new Set(opts.skipNodes ?? []);
  const isFloat = (v: string) => g.values.get(v)?.dtype === 'float32';
  const quantNodes = g.nodes.filter(
    (n) =>
      ops.has(n.op) &&
      !skip.has(n.name) &&
      n.outputs.length === 1 &&
      isFloat(n.outputs[0]!) &&
      n.inputs.every((v) => v === null || isFloat(v)),
  );
  const qset = new Set(quantNodes.map((n) => n.name));

  // Activation values to quantize: non-constant inputs and outputs of quantized nodes.
  const act = new Set<string>();
  const constInputs = new Set<string>();
  for (const n of quantNodes) {
    n.inputs.forEach((v, i) => {
      if (v === null) return;
      if (g.initializers.has(v)) {
        if (weightAxis(n, i) === null) constInputs.add(v);
      } else act.add(v);
    });
    act.add(n.outputs[0]!);
  }
  const order = [...g.inputs, ...g.nodes.flatMap((n) => n.outputs)].filter((v) => act.has(v));
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((v) => [v, n] as const)));
  const observed = order.filter((v) => {
    const p = producer.get(v);
    return !(p && qset.has(p.name) && (PASS_THROUGH.has(p.op) || FIXED_OUTPUT[p.op]));
  });
  const observers = new Map<string, Observer>(observed.map((v) => [v, createObserver(obsOpts)]));
  collectValues(g, calibration, observed, (v, data, shape) => observers.get(v)!.observe(data, shape), where);

  // Activation parameters, in topological order so pass-through ops can copy their input's.
  const params = new Map<string, QuantParams>();
  for (const v of order) {
    const p = producer.get(v);
    if (p && qset.has(p.name) && PASS_THROUGH.has(p.op)) {
      params.set(v, params.get(p.inputs[0]!)!);
      continue;
    }
    if (p && qset.has(p.name) && FIXED_OUTPUT[p.op]) {
      params.set(v, FIXED_OUTPUT[p.op]!);
      continue;
    }
    const obs = observers.get(v)!;
    if (p?.op === 'FusedConv2D' && (p.attrs.activation === 'relu' || p.attrs.activation === 'relu6')) {
      const [[lo, hi]] = obs.ranges() as [[number, number]];
      const cap = p.attrs.activation === 'relu6' ? 6 : Number.POSITIVE_INFINITY;
      const o = createObserver(obsOpts);
      o.observe([Math.max(lo, 0), Math.min(hi, cap)], [2]);
      params.set(v, o.qparams());
    } else params.set(v, obs.qparams());
  }
  return emitQdq(g, quantNodes, qset, params, constInputs, opts);
}

/** Builds the QDQ graph from the chosen parameters. */
function emitQdq(
  g: Graph,
  quantNodes: readonly Node[],
  qset: ReadonlySet<string>,
  params: ReadonlyMap<string, QuantParams>,
  constInputs: ReadonlySet<string>,
  opts: QuantizeStaticOptions,
): Graph {
  const names = new NameAllocator(g);
  const nodes: Node[] = [];
  const inits = new Map(g.initializers);
  const rename = new Map<string, string>(); // graph input → its dequantized value
  const dqOf = new Map<string, string>(); // initializer (+ role) → dequantized value name

  const qdq = (src: string, base: string, p: QuantParams, out?: string): string => {
    const q = names.fresh(`${base}_quantized`);
    const dq = out ?? names.fresh(`${base}_dequantized`);
    nodes.push({
      name: names.fresh(`${base}_QuantizeLinear`),
      op: 'QuantizeLinear',
      inputs: [src],
      outputs: [q],
      attrs: { quant: p, dtype: 'int8' },
    });
    nodes.push({
      name: names.fresh(`${base}_DequantizeLinear`),
      op: 'DequantizeLinear',
      inputs: [q],
      outputs: [dq],
      attrs: {},
    });
    return dq;
  };
  const dequantInit = (init: Initializer, key: string): string => {
    const cached = dqOf.get(key);
    if (cached) return cached;
    inits.set(init.name, init);
    const out = names.fresh(`${init.name.replace(/_quantized$/, '')}_dequantized`);
    nodes.push({
      name: names.fresh(`${init.name}_DequantizeLinear`),
      op: 'DequantizeLinear',
      inputs: [init.name],
      outputs: [out],
      attrs: {},
    });
    dqOf.set(key, out);
    return out;
  };

  for (const v of g.inputs) {
    const p = params.get(v);
    if (p) rename.set(v, qdq(v, v, p));
  }
  const perChannel = opts.perChannel ?? true;
  const usedQuant = quantNodes.length > 0;
  for (const n of g.nodes) {
    const inputs = n.inputs.map((v) => (v === null ? null : (rename.get(v) ?? v)));
    if (qset.has(n.name)) {
      const inScale = params.get(n.inputs[0]!)?.scale[0];
      let wScale: readonly number[] | undefined;
      n.inputs.forEach((v, i) => {
        if (v === null || !g.initializers.has(v)) return;
        const init = g.initializers.get(v)!;
        const axis = weightAxis(n, i);
        if (axis !== null && axis !== undefined) {
          const qw = int8Weight(
            names.fresh(`${v}_quantized`),
            init,
            perChannel ? axis : undefined,
            opts.weightRange,
          );
          wScale = qw.quant!.scale;
          inputs[i] = dequantInit(qw, `w:${v}:${axis}:${perChannel}`);
        } else if (i === 2 && (CONV_OPS.has(n.op) || n.op === 'Linear') && wScale && inScale !== undefined) {
          const qb = int32Bias(names.fresh(`${v}_quantized`), init, inScale, wScale);
          inputs[i] = dequantInit(qb, `b:${v}:${n.name}`);
        } else if (constInputs.has(v) && init.dtype === 'float32') {
          const p = constantParams(init);
          const qc = quantizeConstant(names.fresh(`${v}_quantized`), init, p);
          inputs[i] = dequantInit(qc, `c:${v}`);
        }
      });
    }
    const outs = n.outputs.map((v) => (params.has(v) ? names.fresh(`${v}_float`) : v));
    nodes.push({ ...n, inputs, outputs: outs });
    n.outputs.forEach((v, k) => {
      const p = params.get(v);
      if (p) qdq(outs[k]!, v, p, v);
    });
  }
  const live = new Set(nodes.flatMap((n) => n.inputs.filter((v): v is string => v !== null)));
  const initializers = [...inits.values()].filter((i) => live.has(i.name) || g.outputs.includes(i.name));
  const out = inferShapes(
    withGraph(g, {
      nodes,
      initializers,
      values: g.inputs.map((v) => g.values.get(v)!),
      metadata: usedQuant ? { ...g.metadata, 'tinyvision.quantization': 'int8-qdq' } : g.metadata,
    }),
  );
  return validateGraph(out);
}

/** A per-tensor int8 copy of a float constant. */
function quantizeConstant(name: string, init: Initializer, p: QuantParams): Initializer {
  const s = p.scale[0]!;
  const z = p.zeroPoint[0]!;
  const src = init.data as ArrayLike<number>;
  const data = new Int8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    data[i] = Math.max(-128, Math.min(127, Math.round(Math.fround(src[i]! * Math.fround(1 / s))) + z));
  }
  return { name, dtype: 'int8', shape: [...init.shape], data, quant: p };
}
