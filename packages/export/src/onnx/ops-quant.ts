// int8 export: QDQ converters (QuantizeLinear/DequantizeLinear) and the QOperator fusion
// DQ → Conv2D/FusedConv2D/MatMul → Q ⇒ QLinearConv / QLinearMatMul (decision 0003).
import type { Graph, Node, QuantizeAttrs, QuantParams } from '@tinyvision/tensor';
import type { OnnxBuilder } from './builder.js';
import { TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import { type Converter, input } from './ops-nn.js';

const ZP_TYPES = {
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  int32: TensorProto_DataType.INT32,
} as const;

/** Scale (float32) and zero-point (storage dtype) constants of `q`; per-channel ones are 1-D. */
function qConsts(b: OnnxBuilder, node: Node, q: QuantParams, dtype: string): [string, string] {
  const type = ZP_TYPES[dtype as keyof typeof ZP_TYPES];
  if (type === undefined) b.unsupported(node, `has quantized dtype ${dtype} (int8/uint8/int32 only)`);
  const dims = q.axis === undefined ? [] : [q.scale.length];
  const scale = b.float32('scale', [...q.scale], dims);
  const zp =
    type === TensorProto_DataType.INT32
      ? b.constant('zero_point', type, dims, new Uint8Array(Int32Array.from(q.zeroPoint).buffer))
      : b.constant('zero_point', type, dims, new Uint8Array(Int8Array.from(q.zeroPoint).buffer));
  return [scale, zp];
}

const axisAttr = (q: QuantParams): Record<string, number> => (q.axis === undefined ? {} : { axis: q.axis });

const quantize: Converter = (b, node) => {
  const a = node.attrs as unknown as QuantizeAttrs;
  if (a.dtype === 'int32') b.unsupported(node, 'quantizes to int32 (ONNX QuantizeLinear writes int8/uint8)');
  const [s, z] = qConsts(b, node, a.quant, a.dtype);
  b.emit('QuantizeLinear', [input(b, node, 0), s, z], [node.outputs[0]!], axisAttr(a.quant));
};

const dequantize: Converter = (b, node) => {
  const x = input(b, node, 0);
  const info = b.info(node, x);
  const q = info.quant ?? b.graph.initializers.get(x)?.quant;
  if (!q) return b.unsupported(node, `reads '${x}', which has no quantization parameters`);
  const [s, z] = qConsts(b, node, q, info.dtype);
  b.emit('DequantizeLinear', [x, s, z], [node.outputs[0]!], axisAttr(q));
};

/** QDQ converters for the op table. @internal */
export const QUANT_CONVERTERS: Readonly<Record<string, Converter>> = {
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
};

/** One `DQ → op → Q` chain to write as a QLinear op. @internal */
export interface QOpPlan {
  /** The float op (Conv2D, FusedConv2D or MatMul). */
  readonly op: Node;
  /** The QuantizeLinear writing the chain's output. */
  readonly q: Node;
  /** The DequantizeLinear nodes feeding x, w and (conv) the bias. */
  readonly dq: readonly (Node | null)[];
  /** Graph nodes the fused op replaces (the float op and DQ nodes read by nothing else). */
  readonly absorbed: readonly Node[];
}

/**
 * Finds the `DQ → Conv2D/FusedConv2D(none|relu|relu6)/MatMul → Q` chains of a QDQ graph, keyed by their Q node.
 * @internal
 */
export function qoperatorPlan(graph: Graph): Map<Node, QOpPlan> {
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
  const dqOf = (v: string | null | undefined): Node | null => {
    const p = v ? producer.get(v) : undefined;
    return p?.op === 'DequantizeLinear' ? p : null;
  };
  const plans = new Map<Node, QOpPlan>();
  for (const q of graph.nodes) {
    if (q.op !== 'QuantizeLinear' || (q.attrs as unknown as QuantizeAttrs).dtype === 'int32') continue;
    const f = producer.get(q.inputs[0] ?? '');
    if (!f || uses.get(f.outputs[0]!) !== 1) continue;
    const a = f.attrs as Record<string, unknown>;
    let ok = false;
    if (f.op === 'Conv2D') ok = true;
    else if (f.op === 'FusedConv2D') ok = ['none', 'relu', 'relu6'].includes(a.activation as string);
    else if (f.op === 'MatMul') ok = !a.transposeA && !a.transposeB;
    if (!ok) continue;
    const dq = [dqOf(f.inputs[0]), dqOf(f.inputs[1]), f.inputs[2] ? dqOf(f.inputs[2]) : null];
    if (!dq[0] || !dq[1] || (f.inputs[2] && !dq[2])) continue;
    const xv = graph.values.get(dq[0].inputs[0]!);
    if (xv?.dtype !== 'int8' && xv?.dtype !== 'uint8') continue;
    const absorbed = [f, ...dq.filter((d): d is Node => !!d && uses.get(d.outputs[0]!) === 1)];
    plans.set(q, { op: f, q, dq, absorbed });
  }
  return plans;
}

/** Writes one planned chain as QLinearConv (plus an int8 Clip for relu/relu6) or QLinearMatMul. @internal */
export function emitQOperator(b: OnnxBuilder, p: QOpPlan): void {
  const qa = p.q.attrs as unknown as QuantizeAttrs;
  const operand = (d: Node): [string, string, string] => {
    const v = d.inputs[0]!;
    const info = b.info(d, v);
    const q = info.quant ?? b.graph.initializers.get(v)?.quant;
    if (!q) return b.unsupported(d, `reads '${v}', which has no quantization parameters`);
    const [s, z] = qConsts(b, d, q, info.dtype);
    return [v, s, z];
  };
  const [x, xs, xz] = operand(p.dq[0]!);
  const [w, ws, wz] = operand(p.dq[1]!);
  const [ys, yz] = qConsts(b, p.q, qa.quant, qa.dtype);
  const out = p.q.outputs[0]!;
  if (p.op.op === 'MatMul') {
    b.emit('QLinearMatMul', [x, xs, xz, w, ws, wz, ys, yz], [out], {}, p.op.name);
    return;
  }
  const a = p.op.attrs as Record<string, unknown>;
  const attrs = {
    strides: a.strides as number[],
    pads: a.pads as number[],
    dilations: a.dilations as number[],
    group: a.groups as number,
  };
  const ins = [x, xs, xz, w, ws, wz, ys, yz, ...(p.dq[2] ? [p.dq[2].inputs[0]!] : [])];
  const act = p.op.op === 'FusedConv2D' ? (a.activation as string) : 'none';
  if (act === 'none') {
    b.emit('QLinearConv', ins, [out], attrs, p.op.name);
    return;
  }
  // relu/relu6 clamp the quantized output to q(0)…q(6), as TFLite's fused activations do
  const [lo, hi] = qa.dtype === 'int8' ? [-128, 127] : [0, 255];
  const s = qa.quant.scale[0]!;
  const z = qa.quant.zeroPoint[0]!;
  const min = Math.max(lo, z);
  const max = act === 'relu6' ? Math.min(hi, z + Math.round(6 / s)) : hi;
  const type = ZP_TYPES[qa.dtype];
  const y = b.fresh(`${out}/conv`);
  b.emit('QLinearConv', ins, [y], attrs, p.op.name);
  const c = (v: number) => b.constant('clip', type, [], new Uint8Array(Int8Array.of(v).buffer));
  b.emit('Clip', [y, c(min), c(max)], [out]);
}
