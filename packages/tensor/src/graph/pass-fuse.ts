import * as K from '../backend/kernel-names.js';
import { fromFloat32, toFloat32 } from '../dtype.js';
import { freshName, type GraphPass, useCounts, valueNames } from './edit.js';
import { inferShapes } from './infer.js';
import type { Initializer, Node } from './types.js';
import { withGraph } from './types.js';

/** Activation kernels that FusedConv2D can absorb, with their attr value. */
const ACTIVATIONS: Readonly<Record<string, K.Activation>> = {
  [K.Relu]: 'relu',
  [K.Relu6]: 'relu6',
  [K.HardSwish]: 'hardSwish',
  [K.HardSigmoid]: 'hardSigmoid',
  [K.Sigmoid]: 'sigmoid',
  [K.Silu]: 'silu',
  [K.Tanh]: 'tanh',
};

/** The activation a node computes, if FusedConv2D can absorb it (Clip(0, 6) is relu6, Clip(0) is relu). */
function activationOf(n: Node): K.Activation | undefined {
  if (Object.hasOwn(ACTIVATIONS, n.op)) return ACTIVATIONS[n.op];
  if (n.op === K.Clip && n.attrs.min === 0) {
    if (n.attrs.max === 6) return 'relu6';
    if (n.attrs.max === undefined) return 'relu';
  }
  return undefined;
}

/** A conv node with no activation yet, whose single output has `n` as its only consumer and is not a graph output. */
function convFeeding(nodes: readonly Node[], n: Node, uses: Map<string, number>): Node | undefined {
  for (const v of n.inputs) {
    if (v === null || uses.get(v) !== 1) continue;
    const p = nodes.find((m) => m.outputs.includes(v));
    if (p && (p.op === K.Conv2D || (p.op === K.FusedConv2D && p.attrs.activation === 'none'))) return p;
  }
  return undefined;
}

const f32 = (i: Initializer) => toFloat32(i.data, i.dtype);
const floaty = (i: Initializer | undefined): i is Initializer =>
  i !== undefined && (i.dtype === 'float32' || i.dtype === 'float16' || i.dtype === 'bfloat16');

/** Stores new weights under `name`, or a fresh name when `name` is read by other nodes too. */
function putInit(
  inits: Map<string, Initializer>,
  names: Set<string>,
  uses: Map<string, number>,
  name: string | undefined,
  base: string,
  init: Omit<Initializer, 'name'>,
): string {
  const n = name !== undefined && uses.get(name) === 1 ? name : freshName(names, base);
  inits.set(n, { ...init, name: n });
  return n;
}

/** Replaces `conv` and `next` by one node: `conv` with new inputs/attrs producing `next`'s outputs. */
function merge(nodes: Node[], conv: Node, next: Node, inputs: (string | null)[], attrs = conv.attrs): Node[] {
  const fused: Node = { ...conv, inputs, outputs: next.outputs, attrs };
  return nodes.filter((m) => m !== next).map((m) => (m === conv ? fused : m));
}

/**
 * Folds an inference BatchNorm into the preceding Conv2D/FusedConv2D (without activation) when the conv output
 * has no other consumer: `w' = w·γ/√(var+ε)`, `b' = (b−mean)·γ/√(var+ε)+β` (computed in float64).
 * @param graph - the graph
 * @returns the graph with the BatchNorm nodes folded away
 * @example
 * ```ts
 * const g2 = eliminateDeadCode(foldBatchNorm(g));
 * ```
 */
export const foldBatchNorm: GraphPass = (graph) => {
  const g = inferShapes(graph);
  let nodes = [...g.nodes];
  const inits = new Map(g.initializers);
  const names = valueNames(g);
  for (const bn of g.nodes) {
    if (bn.op !== K.BatchNorm) continue;
    const uses = useCounts(g, nodes);
    const conv = convFeeding(nodes, bn, uses);
    if (!conv || bn.inputs[0] !== conv.outputs[0]) continue;
    const [mean, v, gamma, beta] = [1, 2, 3, 4].map((i) => {
      const x = bn.inputs[i];
      return x ? inits.get(x) : null;
    });
    const w = inits.get(conv.inputs[1] ?? '');
    const b = conv.inputs[2] ? inits.get(conv.inputs[2]) : null;
    if (!floaty(w) || !floaty(mean ?? undefined) || !floaty(v ?? undefined)) continue;
    if (b === undefined || gamma === undefined || beta === undefined) continue;
    const o = w.shape[0]!;
    const eps = bn.attrs.epsilon as number;
    const [mv, vv, gv, bv] = [mean!, v!, gamma, beta].map((i) => (i ? f32(i) : null));
    const scale = Array.from({ length: o }, (_, c) => (gv ? gv[c]! : 1) / Math.sqrt(vv![c]! + eps));
    const wv = f32(w);
    const per = wv.length / Math.max(o, 1);
    const nw = Float64Array.from(wv, (x, i) => x * scale[Math.floor(i / per)]!);
    const bOld = b ? f32(b) : null;
    const nb = scale.map((s, c) => ((bOld ? bOld[c]! : 0) - mv![c]!) * s + (bv ? bv[c]! : 0));
    const base = conv.inputs[1]!.replace(/\.weight$/, '');
    const wName = putInit(inits, names, uses, conv.inputs[1]!, `${base}.weight_bn`, {
      dtype: w.dtype,
      shape: w.shape,
      data: fromFloat32(nw, w.dtype),
    });
    const bDtype = b ? b.dtype : w.dtype;
    const bName = putInit(inits, names, uses, b ? conv.inputs[2]! : undefined, `${base}.bias`, {
      dtype: bDtype,
      shape: [o],
      data: fromFloat32(nb, bDtype),
    });
    nodes = merge(nodes, conv, bn, [conv.inputs[0]!, wName, bName]);
  }
  return inferShapes(withGraph(g, { nodes, initializers: inits }));
};

/** A per-channel bias constant `[O,1,1]` / `[1,O,1,1]` (or a scalar) as O values, else null. */
function channelBias(init: Initializer | undefined, o: number): Float32Array | null {
  if (!floaty(init)) return null;
  const s = init.shape;
  const v = f32(init);
  if (v.length === 1) return new Float32Array(o).fill(v[0]!);
  const perChannel =
    (s.length === 3 && s[0] === o && s[1] === 1 && s[2] === 1) ||
    (s.length === 4 && s[0] === 1 && s[1] === o && s[2] === 1 && s[3] === 1);
  return perChannel ? v : null;
}

/**
 * Fuses conv epilogues: a following Add of a per-channel constant is absorbed into the conv bias, and a
 * following activation (Relu, Relu6, HardSwish, HardSigmoid, Sigmoid, Silu, Tanh, Clip(0,6)) turns
 * Conv2D/FusedConv2D into FusedConv2D with that `activation`. Only when the conv output has no other consumer.
 * @param graph - the graph
 * @returns the fused graph
 * @example
 * ```ts
 * const g2 = fuseActivations(foldBatchNorm(g));
 * ```
 */
export const fuseActivations: GraphPass = (graph) => {
  const g = inferShapes(graph);
  let nodes = [...g.nodes];
  const inits = new Map(g.initializers);
  const names = valueNames(g);
  for (const n of g.nodes) {
    const uses = useCounts(g, nodes);
    const conv = convFeeding(nodes, n, uses);
    if (!conv) continue;
    const act = activationOf(n);
    if (act && n.inputs[0] === conv.outputs[0]) {
      nodes = merge(nodes, conv, n, [...conv.inputs], { ...conv.attrs, activation: act });
      nodes = nodes.map((m) => (m.name === conv.name ? { ...m, op: K.FusedConv2D } : m));
      continue;
    }
    if (n.op !== K.Add) continue;
    const other = n.inputs[0] === conv.outputs[0] ? n.inputs[1] : n.inputs[0];
    const w = inits.get(conv.inputs[1] ?? '');
    const c = inits.get(other ?? '');
    const y = g.values.get(conv.outputs[0]!)!;
    const sum = g.values.get(n.outputs[0]!)!;
    const sameShape = sum.shape.length === y.shape.length && sum.shape.every((d, i) => d === y.shape[i]);
    if (!w || !c || c.dtype !== y.dtype || !sameShape) continue;
    const o = w.shape[0]!;
    const add = channelBias(c, o);
    const b = conv.inputs[2] ? inits.get(conv.inputs[2]) : null;
    if (!add || b === undefined || (b && !floaty(b))) continue;
    const old = b ? f32(b) : new Float32Array(o);
    const dtype = b ? b.dtype : c.dtype;
    const base = conv.inputs[1]!.replace(/\.weight$/, '');
    const bName = putInit(inits, names, uses, b ? conv.inputs[2]! : undefined, `${base}.bias`, {
      dtype,
      shape: [o],
      data: fromFloat32(
        Array.from(old, (x, i) => x + add[i]!),
        dtype,
      ),
    });
    nodes = merge(nodes, conv, n, [conv.inputs[0]!, conv.inputs[1]!, bName]);
  }
  return inferShapes(withGraph(g, { nodes, initializers: inits }));
};
