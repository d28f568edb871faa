import { type Graph, inferShapes, type Node, validateGraph, withGraph } from '@tinyvision/tensor';
import { NameAllocator } from './graph-util.js';
import { quantizeWeights } from './weight-only.js';

/** Options of {@link quantizeDynamic}. */
export interface QuantizeDynamicOptions {
  /** Node names to leave in float. */
  readonly skipNodes?: readonly string[];
}

const DYNAMIC_OPS = new Set(['Conv2D', 'FusedConv2D', 'Linear', 'MatMul']);

/**
 * Dynamic quantization: conv/linear/matmul weights become symmetric per-channel int8 (read through
 * `DequantizeLinear`, as {@link quantizeWeights}), and each of these ops' activation input is quantized to int8
 * at run time with a per-tensor affine range taken from the batch itself (ONNX `DynamicQuantizeLinear`
 * semantics on a signed range: `scale = (max(x,0) − min(x,0)) / 255`, `zp = clamp(−128 − round(min/scale))`),
 * written with standard ops (`Min`, `Max`, `Div`, `Round`, `Clip`, …) so the graph runs anywhere and needs no
 * calibration data. This is the float simulation of dynamic int8; outputs stay float.
 * @param graph - a float graph
 * @param opts - nodes to skip
 * @returns the dynamically quantized graph
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const dyn = quantizeDynamic(g);
 * runGraph(dyn, [x]);
 * ```
 */
export function quantizeDynamic(graph: Graph, opts: QuantizeDynamicOptions = {}): Graph {
  const skip = new Set(opts.skipNodes ?? []);
  const { graph: wq } = quantizeWeights(graph, { bits: 8, skipNodes: opts.skipNodes });
  const names = new NameAllocator(wq);
  const consts = new Map<number, string>();
  const inits = [...wq.initializers.values()];
  const scalar = (v: number): string => {
    const hit = consts.get(v);
    if (hit) return hit;
    const name = names.fresh(`dynamic_quant_const_${String(v).replace(/[^0-9a-z]/gi, '_')}`);
    inits.push({ name, dtype: 'float32', shape: [], data: new Float32Array([v]) });
    consts.set(v, name);
    return name;
  };
  const nodes: Node[] = [];
  const done = new Map<string, string>();
  const emit = (base: string, op: string, inputs: string[], attrs: Record<string, unknown> = {}): string => {
    const out = names.fresh(`${base}_${op}`);
    nodes.push({ name: names.fresh(`${base}_${op}_node`), op, inputs, outputs: [out], attrs });
    return out;
  };
  const dynamicQdq = (x: string): string => {
    const rank = wq.values.get(x)!.shape.length;
    const axes = Array.from({ length: rank }, (_, i) => i);
    const b = `${x}_dyn`;
    const lo = emit(b, 'Minimum', [emit(b, 'Min', [x], { axes, keepDims: false }), scalar(0)]);
    const hi = emit(b, 'Maximum', [emit(b, 'Max', [x], { axes, keepDims: false }), scalar(0)]);
    const scale = emit(b, 'Maximum', [
      emit(b, 'Div', [emit(b, 'Sub', [hi, lo]), scalar(255)]),
      scalar(2 ** -23),
    ]);
    const zp = emit(
      b,
      'Clip',
      [emit(b, 'Sub', [scalar(-128), emit(b, 'Round', [emit(b, 'Div', [lo, scale])])])],
      {
        min: -128,
        max: 127,
      },
    );
    const q = emit(b, 'Clip', [emit(b, 'Add', [emit(b, 'Round', [emit(b, 'Div', [x, scale])]), zp])], {
      min: -128,
      max: 127,
    });
    return emit(b, 'Mul', [emit(b, 'Sub', [q, zp]), scale]);
  };
  for (const n of wq.nodes) {
    const x = n.inputs[0];
    if (
      !DYNAMIC_OPS.has(n.op) ||
      skip.has(n.name) ||
      !x ||
      wq.initializers.has(x) ||
      wq.values.get(x)?.dtype !== 'float32'
    ) {
      nodes.push(n);
      continue;
    }
    let dq = done.get(x);
    if (!dq) {
      dq = dynamicQdq(x);
      done.set(x, dq);
    }
    nodes.push({ ...n, inputs: [dq, ...n.inputs.slice(1)] });
  }
  const out = inferShapes(
    withGraph(wq, {
      nodes,
      initializers: inits,
      values: wq.inputs.map((v) => wq.values.get(v)!),
      metadata: { ...wq.metadata, 'tinyvision.quantization': 'int8-dynamic' },
    }),
  );
  return validateGraph(out);
}
