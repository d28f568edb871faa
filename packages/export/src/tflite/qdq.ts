// The int8 QDQ form (docs/decisions/0003-quantized-graph.md) → TFLite full-integer ops. `DQ → op → Q` chains
// collapse: the float op reads the int8 tensors behind its DequantizeLinear inputs (activations and int8/int32
// constants, aliased) and writes the int8 tensor of its QuantizeLinear (requantized output), so every op
// converter emits the same builtin op with int8 tensors and their scales. Q/DQ nodes that do not collapse
// (graph inputs and outputs, ops left in float) become QUANTIZE / DEQUANTIZE operators.
import type { Graph, Node } from '@tinyvision/tensor';
import type { TflContext } from './context.js';
import { BuiltinOperator } from './generated/schema_generated.js';
import type { TflConverter } from './ops-common.js';

/** Whether a graph is in QDQ form (has QuantizeLinear / DequantizeLinear nodes). @internal */
export function isQdqGraph(graph: Graph): boolean {
  return graph.nodes.some((n) => n.op === 'QuantizeLinear' || n.op === 'DequantizeLinear');
}

/**
 * Fills the context's QDQ alias and requant maps.
 * @param c - the conversion context
 * @param g - the graph
 * @returns the names of the Q/DQ nodes that collapsed (emit nothing)
 * @internal
 */
export function planQdq(c: TflContext, g: Graph): Set<string> {
  const producers = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producers.set(o, n);
    for (const i of n.inputs) if (i !== null) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const outputs = new Set(g.outputs);
  const skip = new Set<string>();
  for (const n of g.nodes) {
    if (n.op !== 'QuantizeLinear') continue;
    const src = n.inputs[0]!;
    const p = producers.get(src);
    if (
      p &&
      p.op !== 'DequantizeLinear' &&
      p.op !== 'QuantizeLinear' &&
      p.outputs.length === 1 &&
      consumers.get(src)?.length === 1 &&
      !outputs.has(src)
    ) {
      c.requant.set(src, n.outputs[0]!);
      skip.add(n.name);
    }
  }
  const quantized = (n: Node) => n.outputs.length > 0 && n.outputs.every((o) => c.requant.has(o));
  for (const n of g.nodes) {
    if (n.op !== 'DequantizeLinear') continue;
    const out = n.outputs[0]!;
    const cons = consumers.get(out) ?? [];
    if (!outputs.has(out) && cons.length > 0 && cons.every(quantized)) {
      c.alias.set(out, n.inputs[0]!);
      skip.add(n.name);
    }
  }
  return skip;
}

/** QuantizeLinear that did not collapse → QUANTIZE. @internal */
export const quantize: TflConverter = (c, node) => {
  const x = node.inputs[0]!;
  const layout = c.layoutOf(x);
  if (c.dtype(node.outputs[0]!) !== 'int8') throw c.unsupported(node, 'quantizes to a dtype other than int8');
  c.op(BuiltinOperator.QUANTIZE, [c.get(x, layout)], [c.out(node.outputs[0]!, layout)]);
};

/** DequantizeLinear that did not collapse → DEQUANTIZE. @internal */
export const dequantize: TflConverter = (c, node) => {
  const x = node.inputs[0]!;
  const layout = c.layoutOf(x);
  c.op(BuiltinOperator.DEQUANTIZE, [c.get(x, layout)], [c.out(node.outputs[0]!, layout)], undefined, 2);
};
