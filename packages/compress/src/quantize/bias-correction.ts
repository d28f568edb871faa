import {
  conv2d,
  eliminateDeadCode,
  type Graph,
  type Initializer,
  matmul,
  type Node,
  type QuantParams,
  tensor,
  tidy,
  transpose,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { roundHalfToEven } from '@tinyvision/tensor/internal';
import { type CalibrationBatch, collectValues, NameAllocator } from './graph-util.js';

/** One corrected layer, for {@link BiasCorrectionResult.layers}. */
export interface CorrectedLayer {
  /** Node name. */
  readonly node: string;
  /** Largest absolute per-channel shift subtracted from the bias (in output units). */
  readonly maxShift: number;
}

/** Result of {@link correctBias}. */
export interface BiasCorrectionResult {
  /** The QDQ graph with corrected int32 biases. */
  readonly graph: Graph;
  /** The corrected layers. */
  readonly layers: CorrectedLayer[];
}

const f32 = (d: ArrayLike<number>) => Float32Array.from(d);

function dequant(init: Initializer): Float32Array {
  const q = init.quant!;
  const out = new Float32Array(init.data.length);
  const n = q.axis === undefined ? 1 : init.shape[q.axis]!;
  const inner = q.axis === undefined ? 1 : init.shape.slice(q.axis + 1).reduce((x, y) => x * y, 1);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % n;
    out[i] = (Number(init.data[i]) - q.zeroPoint[c]!) * q.scale[c]!;
  }
  return out;
}

/**
 * Empirical bias correction (Nagel et al. 2019; Finkelstein et al. 2019) of a QDQ graph: for each quantized
 * `Conv2D`/`FusedConv2D`/`Linear` whose float weight is in `floatGraph` (as the int8 initializer's name minus
 * `_quantized`), the expected output shift caused by weight quantization, `E[conv(x, W_q − W)]` per output
 * channel over the calibration inputs `x` that layer sees in the quantized graph, is subtracted from the
 * bias (requantized with the same int32 scales; a bias is added when the layer had none).
 * @param qdq - the QDQ graph from `quantizeStatic`
 * @param floatGraph - the float graph it was made from
 * @param calibration - calibration batches
 * @returns the corrected graph and per-layer shifts
 * @throws {InvalidArgumentError} when the calibration set is empty
 * @throws {GraphError} when a graph is invalid
 * @example
 * ```ts
 * const { graph } = correctBias(quantizeStatic(g, batches), g, batches);
 * ```
 */
export function correctBias(
  qdq: Graph,
  floatGraph: Graph,
  calibration: Iterable<CalibrationBatch>,
): BiasCorrectionResult {
  const g = validateGraph(qdq);
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((v) => [v, n] as const)));
  const srcInit = (v: string | null | undefined) => {
    const p = v ? producer.get(v) : undefined;
    return p?.op === 'DequantizeLinear' ? g.initializers.get(p.inputs[0]!) : undefined;
  };
  interface Target {
    node: Node;
    delta: Float32Array; // W_q − W, float
    wShape: readonly number[];
    sums: Float64Array;
    count: number;
  }
  const targets: Target[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'Conv2D' && n.op !== 'FusedConv2D' && n.op !== 'Linear') continue;
    const wq = srcInit(n.inputs[1]);
    if (!wq?.quant || wq.dtype !== 'int8') continue;
    const wf = floatGraph.initializers.get(wq.name.replace(/_quantized$/, ''));
    if (wf?.dtype !== 'float32' || wf.data.length !== wq.data.length) continue;
    const dq = dequant(wq);
    const delta = dq.map((v, i) => v - Number(wf.data[i]));
    targets.push({ node: n, delta, wShape: wq.shape, sums: new Float64Array(wq.shape[0]!), count: 0 });
  }
  const inputsOf = [...new Set(targets.map((t) => t.node.inputs[0]!))];
  collectValues(
    g,
    calibration,
    inputsOf,
    (v, data, shape) => {
      for (const t of targets.filter((x) => x.node.inputs[0] === v)) {
        tidy(() => {
          const x = tensor(f32(data), shape);
          const w = tensor(t.delta, t.wShape);
          const a = t.node.attrs;
          const y =
            t.node.op === 'Linear'
              ? matmul(x, transpose(w, [1, 0]))
              : conv2d(x, w, null, {
                  stride: a.strides as [number, number],
                  padding: a.pads as [number, number, number, number],
                  dilation: a.dilations as [number, number],
                  groups: a.groups as number,
                });
          const o = t.wShape[0]!;
          const yd = y.toFloat32();
          const per = yd.length / (y.shape[0]! * o);
          for (let i = 0; i < yd.length; i++) t.sums[Math.floor(i / per) % o]! += yd[i]!;
          t.count += yd.length / o;
        });
      }
    },
    'correctBias',
  );
  const names = new NameAllocator(g);
  const inits = new Map(g.initializers);
  const extraNodes = new Map<string, Node>();
  const replaced = new Map<string, Node>();
  const layers: CorrectedLayer[] = [];
  for (const t of targets) {
    if (t.count === 0) continue;
    const shift = Array.from(t.sums, (s) => s / t.count);
    const n = t.node;
    const bq = srcInit(n.inputs[2]);
    const xq = g.values.get(producer.get(n.inputs[0]!)?.inputs[0] ?? '')?.quant;
    const wq = srcInit(n.inputs[1])!.quant!;
    let scales: number[];
    let old: Float32Array;
    if (bq?.quant && bq.dtype === 'int32') {
      const q = bq.quant;
      scales = shift.map((_, c) => (q.scale.length === 1 ? q.scale[0]! : q.scale[c]!));
      old = dequant(bq);
    } else if (xq) {
      scales = shift.map((_, c) =>
        Math.fround(xq.scale[0]! * (wq.scale.length === 1 ? wq.scale[0]! : wq.scale[c]!)),
      );
      old = new Float32Array(shift.length);
    } else continue;
    const data = new Int32Array(shift.length);
    for (let c = 0; c < shift.length; c++) {
      data[c] = Math.max(
        -2147483648,
        Math.min(2147483647, roundHalfToEven((old[c]! - shift[c]!) / scales[c]!)),
      );
    }
    const quant: QuantParams = { scale: scales, zeroPoint: scales.map(() => 0), axis: 0 };
    const name = names.fresh(`${n.name}_bias_corrected_quantized`);
    inits.set(name, { name, dtype: 'int32', shape: [shift.length], data, quant });
    const dqOut = names.fresh(`${n.name}_bias_corrected`);
    extraNodes.set(n.name, {
      name: names.fresh(`${name}_DequantizeLinear`),
      op: 'DequantizeLinear',
      inputs: [name],
      outputs: [dqOut],
      attrs: {},
    });
    const inputs = [...n.inputs];
    inputs[2] = dqOut;
    replaced.set(n.name, { ...n, inputs });
    layers.push({ node: n.name, maxShift: Math.max(...shift.map(Math.abs)) });
  }
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const extra = extraNodes.get(n.name);
    if (extra) nodes.push(extra);
    nodes.push(replaced.get(n.name) ?? n);
  }
  const out = eliminateDeadCode(
    withGraph(g, { nodes, initializers: [...inits.values()], values: g.inputs.map((v) => g.values.get(v)!) }),
  );
  return {
    graph: validateGraph(out),
    layers,
  };
}
