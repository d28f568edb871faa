import {
  eliminateDeadCode,
  type Graph,
  type Initializer,
  type Node,
  type QuantParams,
  validateGraph,
  withGraph,
} from '@tinyvision/tensor';
import { roundHalfToEven } from '@tinyvision/tensor/internal';
import { NameAllocator, readers } from './graph-util.js';

/** A lowered node, for the report of {@link lowerQdq}. */
export interface LoweredNode {
  /** The float op's node name. */
  readonly node: string;
  /** Its op. */
  readonly from: string;
  /** The int8 op that replaced it (`QConv2D` or `QMatMul`). */
  readonly to: 'QConv2D' | 'QMatMul';
}

/** Result of {@link lowerQdqWithReport}. */
export interface LowerQdqResult {
  /** The lowered graph. */
  readonly graph: Graph;
  /** The float nodes that became int8 kernels. */
  readonly lowered: LoweredNode[];
}

const QACT = new Set(['none', 'relu', 'relu6']);

function sameScales(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-6 * Math.abs(v));
}

/**
 * Rewrites the QDQ graph of `quantizeStatic` into the executable int8 form of decision 0003:
 * `DQ → Conv2D/FusedConv2D → Q` becomes `QConv2D` and `DQ → MatMul/Linear → Q` becomes `QMatMul` (Linear's
 * `[out, in]` weight is stored transposed as `[in, out]`, per column), reading the int8 values and int32 biases
 * directly; the now unused `DequantizeLinear` nodes are removed. A pattern is lowered only when the activation
 * is per-tensor int8, the weight is a symmetric int8 initializer, the bias (if any) an int32 initializer, the
 * float output feeds exactly one int8 `QuantizeLinear` and the fused activation is none/relu/relu6; other
 * nodes are left as they are (they still run, in float). A bias whose scale is not `inputScale × weightScale`
 * is requantized to it.
 * @param graph - a QDQ graph
 * @returns the lowered graph and which nodes were lowered
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const { graph: int8 } = lowerQdqWithReport(qdq);
 * int8.nodes.filter((n) => n.op === 'QConv2D').length;
 * ```
 */
export function lowerQdqWithReport(graph: Graph): LowerQdqResult {
  const g = validateGraph(graph);
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((v) => [v, n] as const)));
  const reads = readers(g.nodes);
  const names = new NameAllocator(g);
  const inits = new Map(g.initializers);
  const replace = new Map<string, Node | null>(); // node name → replacement (null: drop)
  const lowered: LoweredNode[] = [];

  /** The int8/int32 value a DQ output reads, when `v` is produced by a DequantizeLinear. */
  const dqSource = (v: string | null | undefined) => {
    if (!v) return undefined;
    const p = producer.get(v);
    if (p?.op !== 'DequantizeLinear') return undefined;
    const src = p.inputs[0]!;
    const info = g.values.get(src);
    return info?.quant ? { name: src, info, init: g.initializers.get(src) } : undefined;
  };

  for (const n of g.nodes) {
    const isConv = n.op === 'Conv2D' || n.op === 'FusedConv2D';
    const isMat = n.op === 'MatMul' || n.op === 'Linear';
    if (!isConv && !isMat) continue;
    const activation = n.op === 'FusedConv2D' ? String(n.attrs.activation) : 'none';
    if (!QACT.has(activation)) continue;
    if (n.op === 'MatMul' && n.attrs.transposeA) continue;
    const out = n.outputs[0]!;
    const users = reads.get(out) ?? [];
    if (users.length !== 1 || g.outputs.includes(out)) continue;
    const q = users[0]!;
    if (q.op !== 'QuantizeLinear' || q.attrs.dtype !== 'int8') continue;
    const outQuant = q.attrs.quant as QuantParams;
    if (outQuant.axis !== undefined) continue;
    const x = dqSource(n.inputs[0]);
    const w = dqSource(n.inputs[1]);
    if (x?.info.dtype !== 'int8' || x.info.quant!.axis !== undefined) continue;
    if (w?.init?.dtype !== 'int8' || w.init.quant!.zeroPoint.some((z) => z !== 0)) continue;
    const wq = w.init.quant!;
    const bIn = n.inputs[2] ?? null;
    const b = bIn ? dqSource(bIn) : undefined;
    if (bIn && b?.init?.dtype !== 'int32') continue;

    let weight = w.init;
    if (isConv) {
      if (wq.axis !== undefined && wq.axis !== 0) continue;
    } else {
      const transpose = n.op === 'Linear' || n.attrs.transposeB === true;
      if (weight.shape.length !== 2) continue;
      const wantAxis = transpose ? 0 : 1;
      if (wq.axis !== undefined && wq.axis !== wantAxis) continue;
      if (transpose) weight = transposeInt8(names.fresh(`${w.name}_t`), weight);
    }
    if (weight !== w.init) inits.set(weight.name, weight);
    const xs = x.info.quant!.scale[0]!;
    let bias: string | null = null;
    if (b?.init) {
      const want = weight.quant!.scale.map((s) => Math.fround(xs * s));
      const bq = b.init.quant!;
      const nOut = b.init.shape[0] ?? 1;
      const expand = (s: readonly number[]) => (s.length === 1 ? new Array<number>(nOut).fill(s[0]!) : s);
      if (sameScales(expand(bq.scale), expand(want)) && bq.zeroPoint.every((z) => z === 0)) bias = b.name;
      else {
        const nb = requantizeBias(names.fresh(`${b.name}_requantized`), b.init, want);
        inits.set(nb.name, nb);
        bias = nb.name;
      }
    }
    const attrs = isConv
      ? {
          strides: n.attrs.strides,
          pads: n.attrs.pads,
          dilations: n.attrs.dilations,
          groups: n.attrs.groups,
          outQuant,
          activation,
        }
      : { outQuant, activation };
    const to = isConv ? 'QConv2D' : 'QMatMul';
    replace.set(n.name, {
      name: names.fresh(`${n.name}_${to}`),
      op: to,
      inputs: [x.name, weight.name, bias],
      outputs: [q.outputs[0]!],
      attrs,
    });
    replace.set(q.name, null);
    lowered.push({ node: n.name, from: n.op, to });
  }
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const r = replace.get(n.name);
    if (r === undefined) nodes.push(n);
    else if (r !== null) nodes.push(r);
  }
  const result = eliminateDeadCode(
    withGraph(g, { nodes, initializers: [...inits.values()], values: g.inputs.map((v) => g.values.get(v)!) }),
  );
  return { graph: validateGraph(result), lowered };
}

/**
 * {@link lowerQdqWithReport} without the report: the QDQ graph with its quantized convolutions and matrix
 * products running as `QConv2D` / `QMatMul` int8 kernels.
 * @param graph - a QDQ graph (from `quantizeStatic`)
 * @returns the lowered graph
 * @throws {GraphError} when the graph is invalid
 * @example
 * ```ts
 * const int8 = lowerQdq(quantizeStatic(g, batches));
 * const { outputs } = runGraph(int8, [x]);
 * ```
 */
export function lowerQdq(graph: Graph): Graph {
  return lowerQdqWithReport(graph).graph;
}

/** `[R, C]` int8 → `[C, R]`, moving a per-channel axis 0 to axis 1. */
function transposeInt8(name: string, w: Initializer): Initializer {
  const [r, c] = w.shape as [number, number];
  const src = w.data as Int8Array;
  const data = new Int8Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = src[i * c + j]!;
  const q = w.quant!;
  const quant: QuantParams = q.axis === undefined ? q : { ...q, axis: 1 };
  return { name, dtype: 'int8', shape: [c, r], data, quant };
}

/** An int32 bias requantized to the scales `want` (dequantized with its own parameters first). */
function requantizeBias(name: string, b: Initializer, want: readonly number[]): Initializer {
  const q = b.quant!;
  const src = b.data as Int32Array;
  const n = src.length;
  const data = new Int32Array(n);
  const scales = want.length === 1 ? Array.from({ length: n }, () => want[0]!) : [...want];
  for (let c = 0; c < n; c++) {
    const s = q.scale.length === 1 ? q.scale[0]! : q.scale[c]!;
    const z = q.zeroPoint.length === 1 ? q.zeroPoint[0]! : q.zeroPoint[c]!;
    data[c] = Math.max(-2147483648, Math.min(2147483647, roundHalfToEven(((src[c]! - z) * s) / scales[c]!)));
  }
  return {
    name,
    dtype: 'int32',
    shape: [n],
    data,
    quant: { scale: scales, zeroPoint: scales.map(() => 0), axis: 0 },
  };
}
