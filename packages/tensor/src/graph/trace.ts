import type { Attrs } from '../backend/backend-spec-v1.js';
import * as K from '../backend/kernel-names.js';
import { noGrad, readSync, type Storage, setTraceHook, type TraceHook, tidy } from '../engine.js';
import { GraphError, InvalidArgumentError } from '../errors/index.js';
import { Tensor } from '../tensor.js';
import { inferNode } from './infer.js';
import { fmtDims } from './infer-context.js';
import { SLICE_END_MAX } from './rules-movement.js';
import { type Dim, type Graph, type Initializer, makeGraph, type Node, type ValueInfo } from './types.js';
import { validateGraph } from './validate.js';

/** What a traced function may return. */
export type TraceOutput = Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** Options of {@link trace}. */
export interface TraceOptions {
  /** Graph input names (default `input_0`, `input_1`, …). */
  readonly inputNames?: readonly string[];
  /** Graph output names (default: the returned record's keys, else `output_0`, …). */
  readonly outputNames?: readonly string[];
  /** Model name stored in the graph. */
  readonly name?: string;
  /** Metadata stored in the graph. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Make dim 0 of every input symbolic (`true` → `'N'`, or the given symbol). Shape attributes that carry the
   * traced batch size (Reshape/Expand/StridedCopy `shape[0]`, a full-range Slice on dim 0) are rewritten so
   * the graph runs at any batch size.
   */
  readonly dynamicBatch?: boolean | string;
}

function plain(v: unknown): unknown {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Rewrites shape attrs that bake the traced batch size, for a dynamic-batch trace. */
function dynamicAttrs(
  op: string,
  attrs: Record<string, unknown>,
  inShape: readonly Dim[],
  batch: number,
): void {
  if (inShape.length === 0 || typeof inShape[0] === 'number') return;
  const shape = attrs.shape as number[] | undefined;
  if ((op === K.Reshape || op === K.StridedCopy) && shape?.[0] === batch && !shape.includes(-1))
    shape[0] = -1;
  if (op === K.Expand && shape) {
    const off = shape.length - inShape.length;
    if (shape[off] === batch) shape[off] = -1;
  }
  if (op === K.Slice) {
    const [b, e, s] = [attrs.begin, attrs.end, attrs.steps] as number[][];
    if (b?.[0] === 0 && e?.[0] === batch && s?.[0] === 1) e[0] = SLICE_END_MAX;
  }
}

class Recorder implements TraceHook {
  readonly names = new Map<Tensor, string>();
  readonly values = new Map<string, ValueInfo>();
  readonly initializers = new Map<string, Initializer>();
  readonly nodes: Node[] = [];
  /** Storages of traced (non-constant) values: an unnamed tensor sharing one escaped the trace. */
  readonly traced = new Set<Storage>();
  private readonly usedValues = new Set<string>();
  private readonly usedNodes = new Set<string>();
  private constCount = 0;

  constructor(
    readonly symbol: string | null,
    readonly batch: number,
  ) {}

  /** A fresh value name (or node name with `node`) based on `base`. */
  unique(base: string, node = false): string {
    const used = node ? this.usedNodes : this.usedValues;
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  }

  addInput(t: Tensor, name: string): void {
    if (this.names.has(t)) throw new InvalidArgumentError(`trace: the same tensor is passed as two inputs`);
    const n = this.unique(name);
    const shape: Dim[] = [...t.shape];
    if (this.symbol !== null) shape[0] = this.symbol;
    this.names.set(t, n);
    this.traced.add(t.storage);
    this.values.set(
      n,
      t.quant ? { name: n, shape, dtype: t.dtype, quant: t.quant } : { name: n, shape, dtype: t.dtype },
    );
  }

  nameOf(t: Tensor, where: string): string {
    const known = this.names.get(t);
    if (known !== undefined) return known;
    if (this.traced.has(t.storage)) {
      throw new GraphError(
        `trace: ${where} uses a tensor that shares data with a traced value but was not made by a recorded op (detach() or a view made outside the ops?)`,
      );
    }
    const name = this.unique(t.name ?? `const_${this.constCount++}`);
    const init: Initializer = t.quant
      ? { name, dtype: t.dtype, shape: [...t.shape], data: readSync(t), quant: t.quant }
      : { name, dtype: t.dtype, shape: [...t.shape], data: readSync(t) };
    this.initializers.set(name, init);
    this.values.set(name, {
      name,
      shape: [...t.shape],
      dtype: t.dtype,
      ...(t.quant ? { quant: t.quant } : {}),
    });
    this.names.set(t, name);
    return name;
  }

  record(kernel: string, inputs: readonly (Tensor | null)[], outputs: readonly Tensor[], attrs: Attrs): void {
    const name = this.unique(`${kernel}_${this.nodes.length}`, true);
    const ins = inputs.map((t, i) => (t ? this.nameOf(t, `node '${name}' input ${i}`) : null));
    const a = plain(attrs) as Record<string, unknown>;
    const inInfos = ins.map((v) => (v === null ? null : this.values.get(v)!));
    if (this.symbol !== null && inInfos[0]) dynamicAttrs(kernel, a, inInfos[0].shape, this.batch);
    const outs = outputs.map((_, i) => this.unique(outputs.length === 1 ? name : `${name}:${i}`));
    const node: Node = { name, op: kernel, inputs: ins, outputs: outs, attrs: a };
    const inferred = inferNode(node, inInfos);
    outputs.forEach((t, i) => {
      const info = inferred[i]!;
      const concrete = info.shape.map((d) => (d === this.symbol ? this.batch : d));
      const ok =
        info.dtype === t.dtype &&
        concrete.length === t.rank &&
        concrete.every((d, j) => typeof d === 'string' || d === t.shape[j]);
      if (!ok) {
        throw new GraphError(
          `trace: node '${name}' (${kernel}) produced ${t.dtype}${fmtDims(t.shape)} but its shape rule gives ${info.dtype}${fmtDims(info.shape)}`,
        );
      }
      this.names.set(t, outs[i]!);
      this.traced.add(t.storage);
      const quant = t.quant ?? info.quant;
      this.values.set(
        outs[i]!,
        quant
          ? { name: outs[i]!, shape: info.shape, dtype: t.dtype, quant }
          : { name: outs[i]!, shape: info.shape, dtype: t.dtype },
      );
    });
    this.nodes.push(node);
  }
}

function listOutputs(out: TraceOutput): { tensors: Tensor[]; keys?: string[] } {
  if (out instanceof Tensor) return { tensors: [out] };
  if (Array.isArray(out)) return { tensors: [...(out as Tensor[])] };
  if (out && typeof out === 'object') {
    const entries = Object.entries(out as Record<string, Tensor>);
    return { tensors: entries.map(([, t]) => t), keys: entries.map(([k]) => k) };
  }
  throw new InvalidArgumentError(`trace: fn must return a Tensor, an array or a record of Tensors`);
}

/**
 * Records the ops `fn` runs on `exampleInputs` into a {@link Graph} (under `noGrad`). Tensors the ops read
 * that are neither inputs nor produced by a recorded op become initializers, named by `tensor.name` when set
 * (parameters carry their state-dict names). Composite ops (Linear, BatchNorm, …) appear as one node. Tensors
 * created while tracing are disposed.
 * @param fn - the model function, called with the example inputs
 * @param exampleInputs - one tensor per graph input
 * @param opts - names, dynamic batch, metadata
 * @returns the validated graph
 * @throws {GraphError} when a value escapes the trace or a shape rule disagrees with an op
 * @throws {InvalidArgumentError} on bad inputs or outputs
 * @example
 * ```ts
 * const g = trace((x) => relu(linear(x, w, b)), [randn([1, 16])], { dynamicBatch: true });
 * g.values.get('input_0')?.shape; // ['N', 16]
 * ```
 */
export function trace(
  fn: (...inputs: Tensor[]) => TraceOutput,
  exampleInputs: readonly Tensor[],
  opts: TraceOptions = {},
): Graph {
  if (!Array.isArray(exampleInputs) || !exampleInputs.every((t) => t instanceof Tensor)) {
    throw new InvalidArgumentError('trace: exampleInputs must be an array of Tensors');
  }
  const symbol = opts.dynamicBatch ? (typeof opts.dynamicBatch === 'string' ? opts.dynamicBatch : 'N') : null;
  const batch = exampleInputs[0]?.shape[0] ?? 0;
  if (symbol !== null && exampleInputs.some((t) => t.rank === 0 || t.shape[0] !== batch)) {
    throw new InvalidArgumentError(
      `trace: dynamicBatch needs every input to have the same dim 0, got ${exampleInputs.map((t) => fmtDims(t.shape)).join(', ')}`,
    );
  }
  if (symbol !== null && batch === 1) {
    throw new InvalidArgumentError(
      'trace: dynamicBatch needs an example batch size > 1 to tell the batch dim apart',
    );
  }
  const rec = new Recorder(symbol, batch);
  const inputNames = exampleInputs.map((t, i) => {
    const name = opts.inputNames?.[i] ?? `input_${i}`;
    rec.addInput(t, name);
    return rec.names.get(t)!;
  });
  const outputNames: string[] = [];
  const prev = setTraceHook(rec);
  try {
    tidy(() => {
      const { tensors, keys } = listOutputs(noGrad(() => fn(...exampleInputs)));
      const produced = new Set(rec.nodes.flatMap((n) => n.outputs));
      const renames = new Map<string, string>();
      tensors.forEach((t, i) => {
        if (!(t instanceof Tensor)) throw new InvalidArgumentError(`trace: output ${i} is not a Tensor`);
        const name = rec.nameOf(t, `output ${i}`);
        const want = opts.outputNames?.[i] ?? keys?.[i] ?? `output_${i}`;
        if (produced.has(name) && !renames.has(name) && !rec.values.has(want)) {
          renames.set(name, rec.unique(want));
          outputNames.push(renames.get(name)!);
        } else outputNames.push(renames.get(name) ?? name);
      });
      renameValues(rec, renames);
    });
  } finally {
    setTraceHook(prev);
  }
  const graph = makeGraph({
    name: opts.name,
    inputs: inputNames,
    outputs: outputNames,
    nodes: rec.nodes,
    values: rec.values,
    initializers: rec.initializers,
    metadata: opts.metadata,
  });
  return validateGraph(graph);
}

function renameValues(rec: Recorder, renames: ReadonlyMap<string, string>): void {
  if (renames.size === 0) return;
  const r = (v: string | null) => (v === null ? null : (renames.get(v) ?? v));
  rec.nodes.forEach((n, i) => {
    rec.nodes[i] = { ...n, inputs: n.inputs.map(r), outputs: n.outputs.map((v) => r(v)!) };
  });
  for (const [from, to] of renames) {
    const info = rec.values.get(from)!;
    rec.values.delete(from);
    rec.values.set(to, { ...info, name: to });
  }
}
