import { type Graph, InvalidArgumentError, type Node } from '@tinyvision/tensor';
import { type NodeView, type OpRule, TARGETS, type TargetName, type TargetSpec } from './targets.js';

/** Options of {@link checkCompatibility}. */
export interface CheckOptions {
  /** NNAPI only: the device's API level (default 30, Android 11). */
  readonly apiLevel?: number;
}

/** Where a node ends up. */
export type Placement = 'accelerator' | 'fallback';

/** The verdict for one node. */
export interface NodeCompatibility {
  /** Node name. */
  readonly name: string;
  /** Our kernel name. */
  readonly op: string;
  /** The target's op, when it has one. */
  readonly targetOp?: string;
  /** Whether the accelerator can run this node on its own terms. */
  readonly supported: boolean;
  /** Where it runs once the graph is partitioned (a supported node can still land on the fallback). */
  readonly placement: Placement;
  /** Why it is unsupported or placed on the fallback (empty when it runs on the accelerator). */
  readonly reasons: readonly string[];
  /** How it maps when the target has no single op for it (e.g. hard-swish as ADD + RELU6 + MUL). */
  readonly note?: string;
}

/** One contiguous run of nodes (topological order) with one placement. */
export interface Partition {
  /** Where the run executes. */
  readonly placement: Placement;
  /** First node name. */
  readonly first: string;
  /** Last node name. */
  readonly last: string;
  /** Number of nodes. */
  readonly nodes: number;
}

/** The result of {@link checkCompatibility}. */
export interface CompatibilityReport {
  /** Target name. */
  readonly target: TargetName;
  /** Target title. */
  readonly title: string;
  /** Where the target's constraints come from. */
  readonly source: string;
  /** Graph name. */
  readonly model: string;
  /** Counts. */
  readonly summary: {
    /** Number of nodes. */
    readonly nodes: number;
    /** Nodes the accelerator can run. */
    readonly supported: number;
    /** Nodes placed on the accelerator after partitioning. */
    readonly onAccelerator: number;
    /** Number of accelerator partitions (delegated subgraphs). */
    readonly acceleratorPartitions: number;
    /** Whether the whole graph runs on the accelerator. */
    readonly fullyOnAccelerator: boolean;
    /** Whether the graph is full-integer quantized (`'int8'`), float, or a mix. */
    readonly precision: 'int8' | 'float' | 'mixed';
  };
  /** Per-node verdicts, in topological order. */
  readonly nodes: readonly NodeCompatibility[];
  /** The graph split into runs, in order. */
  readonly partitions: readonly Partition[];
  /** What to change, most important first. */
  readonly suggestions: readonly string[];
}

const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);
const INT_OPS = new Set(['QConv2D', 'QMatMul']);
const INT_DTYPES = new Set(['int8', 'uint8']);

function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (i === null) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/**
 * Whether a node computes on integers: Q/DQ and int8 kernels do; a float op does when all its non-constant
 * inputs are dequantized (or already int8) and all its outputs are quantized again (the QDQ form of
 * docs/decisions/0003-quantized-graph.md).
 */
function isIntegerNode(
  graph: Graph,
  n: Node,
  producers: Map<string, Node>,
  uses: Map<string, Node[]>,
): boolean {
  if (QDQ_OPS.has(n.op) || INT_OPS.has(n.op)) return true;
  const dataInputs = n.inputs.filter((i): i is string => i !== null && !graph.initializers.has(i));
  const inputsOk = dataInputs.every((i) => {
    const p = producers.get(i);
    return p?.op === 'DequantizeLinear' || INT_DTYPES.has(graph.values.get(i)?.dtype ?? '');
  });
  const outputsOk = n.outputs.every((o) => {
    if (INT_DTYPES.has(graph.values.get(o)?.dtype ?? '')) return true;
    const us = uses.get(o) ?? [];
    return us.length > 0 && !graph.outputs.includes(o) && us.every((u) => u.op === 'QuantizeLinear');
  });
  return dataInputs.length > 0 && inputsOk && outputsOk;
}

function view(graph: Graph, node: Node, apiLevel: number | undefined): NodeView {
  return {
    ...(apiLevel === undefined ? {} : { apiLevel }),
    node,
    graph,
    inputShapes: node.inputs.map((i) => (i === null ? undefined : graph.values.get(i)?.shape)),
    outputShape: node.outputs[0] === undefined ? undefined : graph.values.get(node.outputs[0])?.shape,
    constInputs: node.inputs.map((i) => i !== null && graph.initializers.has(i)),
  };
}

function nodeReasons(
  spec: TargetSpec,
  graph: Graph,
  node: Node,
  integer: boolean,
  constant: ReadonlySet<string>,
  opts: CheckOptions,
): { targetOp?: string; reasons: string[]; note?: string } {
  const api = opts.apiLevel ?? 30;
  const m = mapOp(spec, node.op, api);
  const v = view(graph, node, opts.apiLevel);
  const reasons: string[] = m.missing ? [m.missing] : [...(m.rule?.check?.(v) ?? [])];
  const notes: string[] = [];
  if (m.chain) notes.push(`${node.op} as ${m.chain.join(' + ')}`);
  // A fused activation becomes the target's fused activation or a separate op: that op must map too.
  const act = fusedActivationOp(node);
  if (act) {
    const a = mapOp(spec, act, api);
    if (a.missing) reasons.push(`fused activation: ${a.missing}`);
    else if (a.chain) notes.push(`fused ${act} as ${a.chain.join(' + ')}`);
  }
  if (spec.requiresInt8 && !integer) {
    reasons.push('float op: this accelerator runs only full-integer (int8) quantized ops');
  }
  // Shape rules apply to activations, not to weights (nor to values computed from weights only).
  const shapes = [...node.inputs, ...node.outputs].flatMap((i) => {
    const s = i === null || constant.has(i) ? undefined : graph.values.get(i)?.shape;
    return s ? [s] : [];
  });
  for (const s of shapes) {
    if (s.length > spec.maxRank)
      reasons.push(`rank-${s.length} tensor [${s.join(', ')}] (max rank ${spec.maxRank})`);
    const dyn = s.filter((d) => typeof d === 'string');
    if (spec.name === 'edgetpu' && dyn.length > 0) {
      reasons.push(`dynamic dim ${dyn.map((d) => `'${d}'`).join(', ')}: the Edge TPU needs static shapes`);
    }
    const t = spec.tensorCheck?.(s);
    if (t) reasons.push(t);
  }
  return {
    ...(m.rule ? { targetOp: m.rule.targetOp } : m.chain ? { targetOp: m.chain.join(' + ') } : {}),
    reasons: [...new Set(reasons)],
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/**
 * Ops a target without a direct equivalent still runs as a short chain of simpler ops (the exporter emits
 * the chain): hard-sigmoid = relu6(x + 3) / 6, hard-swish = x · hard-sigmoid(x), SiLU = x · sigmoid(x).
 */
const DECOMPOSITIONS: Readonly<Record<string, readonly string[]>> = {
  HardSigmoid: ['Add', 'Relu6', 'Mul'],
  HardSwish: ['Add', 'Relu6', 'Mul'],
  Silu: ['Sigmoid', 'Mul'],
};

/** How `op` maps on `spec`: its own rule, a decomposition, or nothing. */
function mapOp(
  spec: TargetSpec,
  op: string,
  api: number,
): { rule?: OpRule; chain?: readonly string[]; missing?: string } {
  const rule = spec.ops[op];
  if (rule && (rule.minApi === undefined || api >= rule.minApi)) return { rule };
  const chain = DECOMPOSITIONS[op];
  if (chain?.every((c) => spec.ops[c] && api >= (spec.ops[c]?.minApi ?? 0))) return { chain };
  if (rule)
    return { rule, missing: `${rule.targetOp} needs NNAPI API level ${rule.minApi} (device: ${api})` };
  return { missing: `op '${op}' has no ${spec.title} equivalent` };
}

const ACTIVATION_OPS: Readonly<Record<string, string>> = {
  relu: 'Relu',
  relu6: 'Relu6',
  hardSwish: 'HardSwish',
  hardSigmoid: 'HardSigmoid',
  sigmoid: 'Sigmoid',
  silu: 'Silu',
  tanh: 'Tanh',
};

/** The op a node's fused activation stands for (`'HardSwish'` for a FusedConv2D with hardSwish), if any. */
function fusedActivationOp(node: Node): string | undefined {
  const a = (node.attrs as { activation?: string }).activation;
  return a === undefined || a === 'none' ? undefined : ACTIVATION_OPS[a];
}

function splitRuns(flags: readonly boolean[]): [start: number, end: number, on: boolean][] {
  const runs: [number, number, boolean][] = [];
  for (let i = 0; i < flags.length; i++) {
    const last = runs[runs.length - 1];
    if (last && last[2] === flags[i]) last[1] = i;
    else runs.push([i, i, flags[i] as boolean]);
  }
  return runs;
}

/**
 * Checks, node by node, whether an accelerator can run a graph, where the runtime would split it, and what to
 * change. The constraints are data ({@link TARGETS}) with a source note each; the Edge TPU needs a
 * full-integer QDQ graph (as `@tinyvision/compress` writes), the others accept float too.
 * @param graph - the model's graph IR (shapes inferred, e.g. from `traceModule` + `optimizeGraph`)
 * @param target - `'edgetpu'`, `'nnapi'`, `'ane'` or `'webnn'`
 * @param opts - NNAPI API level
 * @returns the report
 * @throws {InvalidArgumentError} for an unknown target
 * @example
 * ```ts
 * const r = checkCompatibility(graph, 'edgetpu');
 * console.log(r.summary.fullyOnAccelerator, r.suggestions);
 * ```
 */
export function checkCompatibility(
  graph: Graph,
  target: TargetName,
  opts: CheckOptions = {},
): CompatibilityReport {
  const spec = (TARGETS as Record<string, TargetSpec | undefined>)[target];
  if (!spec) {
    throw new InvalidArgumentError(
      `checkCompatibility: unknown target '${target}'; expected one of ${Object.keys(TARGETS).join(', ')}`,
    );
  }
  const producers = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
  const uses = consumers(graph);

  const constant = new Set(graph.initializers.keys());
  for (const n of graph.nodes) {
    if (n.inputs.every((i) => i === null || constant.has(i))) for (const o of n.outputs) constant.add(o);
  }
  const integer = graph.nodes.map((n) => isIntegerNode(graph, n, producers, uses));
  const verdicts = graph.nodes.map((n, i) =>
    nodeReasons(spec, graph, n, integer[i] as boolean, constant, opts),
  );
  const supported = verdicts.map((v) => v.reasons.length === 0);

  // Placement: the Edge TPU compiler stops at the first unsupported op; delegates take every supported run,
  // keeping the largest ones when the runtime caps the number of partitions.
  const placed = [...supported];
  const extra: string[][] = graph.nodes.map(() => []);
  if (spec.partitioning === 'first-unsupported') {
    const first = supported.indexOf(false);
    if (first >= 0) {
      const at = graph.nodes[first] as Node;
      for (let i = first + 1; i < placed.length; i++) {
        if (placed[i]) {
          placed[i] = false;
          extra[i]?.push(
            `after the first unsupported op ('${at.name}', ${at.op}) everything runs on the CPU`,
          );
        }
      }
    }
  } else if (spec.maxPartitions !== undefined) {
    const onRuns = splitRuns(placed).filter(([, , on]) => on);
    const keep = new Set(
      [...onRuns]
        .sort((a, b) => b[1] - b[0] - (a[1] - a[0]))
        .slice(0, spec.maxPartitions)
        .map(([s]) => s),
    );
    for (const [s, e] of onRuns) {
      if (keep.has(s)) continue;
      for (let i = s; i <= e; i++) {
        placed[i] = false;
        extra[i]?.push(`beyond the delegate's ${spec.maxPartitions}-partition cap: runs on the CPU`);
      }
    }
  }

  const nodes: NodeCompatibility[] = graph.nodes.map((n, i) => {
    const v = verdicts[i] as { targetOp?: string; reasons: string[]; note?: string };
    return {
      name: n.name,
      op: n.op,
      ...(v.targetOp ? { targetOp: v.targetOp } : {}),
      ...(v.note ? { note: v.note } : {}),
      supported: supported[i] as boolean,
      placement: placed[i] ? 'accelerator' : 'fallback',
      reasons: [...v.reasons, ...(extra[i] ?? [])],
    };
  });
  const partitions: Partition[] = splitRuns(placed).map(([s, e, on]) => ({
    placement: on ? 'accelerator' : 'fallback',
    first: (graph.nodes[s] as Node).name,
    last: (graph.nodes[e] as Node).name,
    nodes: e - s + 1,
  }));

  const intCount = integer.filter(Boolean).length;
  const precision = intCount === graph.nodes.length ? 'int8' : intCount === 0 ? 'float' : 'mixed';
  const suggestions: string[] = [];
  if (spec.requiresInt8 && precision !== 'int8') {
    suggestions.push(
      `quantize the whole model to int8 (full-integer, per-channel weights): \`tinyvision compress --quant int8\`; ${spec.title} runs no float op`,
    );
  }
  const unsupportedOps = [
    ...new Set(
      graph.nodes
        .filter((_, i) => !supported[i])
        .flatMap((n) => {
          const act = fusedActivationOp(n);
          return act && mapOp(spec, act, opts.apiLevel ?? 30).missing ? [n.op, act] : [n.op];
        }),
    ),
  ];
  for (const op of unsupportedOps) {
    const advice = spec.advice[op];
    if (advice) suggestions.push(`${op}: ${advice}`);
    else if (!spec.ops[op])
      suggestions.push(`${op}: not available on ${spec.title}; it runs on the fallback`);
  }
  if (nodes.some((n) => n.reasons.some((r) => r.includes('dynamic dim')))) {
    suggestions.push('export with a fixed batch size of 1 (static shapes)');
  }
  if (nodes.some((n) => n.reasons.some((r) => r.startsWith('fused activation')))) {
    suggestions.push(
      'unfused activations are separate ops: prefer ReLU/ReLU6, which fuse into the convolution',
    );
  }
  const onAccelerator = placed.filter(Boolean).length;
  return {
    target: spec.name,
    title: spec.title,
    source: spec.source,
    model: graph.name ?? 'model',
    summary: {
      nodes: graph.nodes.length,
      supported: supported.filter(Boolean).length,
      onAccelerator,
      acceleratorPartitions: partitions.filter((p) => p.placement === 'accelerator').length,
      fullyOnAccelerator: onAccelerator === graph.nodes.length,
      precision,
    },
    nodes,
    partitions,
    suggestions,
  };
}

/**
 * Renders a {@link CompatibilityReport} as Markdown: summary, partitions, unsupported nodes, suggestions.
 * @param r - the report
 * @param maxNodes - how many problem nodes to list (default 40)
 * @returns Markdown text
 * @example
 * ```ts
 * console.log(formatCompatibilityReport(checkCompatibility(graph, 'nnapi')));
 * ```
 */
export function formatCompatibilityReport(r: CompatibilityReport, maxNodes = 40): string {
  const s = r.summary;
  const lines = [
    `## ${r.model} on ${r.title}`,
    '',
    `${s.onAccelerator}/${s.nodes} nodes on the accelerator in ${s.acceleratorPartitions} partition(s); ` +
      `${s.supported}/${s.nodes} supported; precision ${s.precision}; ` +
      (s.fullyOnAccelerator ? '**runs entirely on the accelerator**.' : '**graph is split**.'),
    '',
    `Constraints: ${r.source}`,
    '',
    '| # | placement | nodes | from | to |',
    '|---|---|---|---|---|',
    ...r.partitions.map((p, i) => `| ${i + 1} | ${p.placement} | ${p.nodes} | ${p.first} | ${p.last} |`),
  ];
  const problems = r.nodes.filter((n) => n.reasons.length > 0);
  if (problems.length > 0) {
    lines.push('', '| node | op | reasons |', '|---|---|---|');
    for (const n of problems.slice(0, maxNodes))
      lines.push(`| ${n.name} | ${n.op} | ${n.reasons.join('; ')} |`);
    if (problems.length > maxNodes) lines.push(`| … | | ${problems.length - maxNodes} more |`);
  }
  if (r.suggestions.length > 0) lines.push('', 'What to change:', '', ...r.suggestions.map((x) => `- ${x}`));
  return `${lines.join('\n')}\n`;
}
