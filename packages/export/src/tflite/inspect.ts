// inspectTflite: a summary of a .tflite file (operators, parameters, inputs/outputs, metadata) without
// building a graph; used by `tinyvision info`.
import { BuiltinOperator, TensorType } from './generated/schema_generated.js';
import { readTfliteModel } from './parse.js';

/** One input or output tensor of a TFLite model. */
export interface TfliteTensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** Static shape. */
  readonly shape: readonly number[];
  /** Element type (`FLOAT32`, `INT8`, …). */
  readonly type: string;
  /** Per-tensor quantization, if any. */
  readonly quantization?: {
    /** Scale: `real = scale · (q − zeroPoint)`. */
    readonly scale: number;
    /** Zero point. */
    readonly zeroPoint: number;
  };
}

/** What {@link inspectTflite} reports. */
export interface TfliteSummary {
  /** Schema version (3). */
  readonly version: number;
  /** `Model.description`. */
  readonly description: string;
  /** Operator count by builtin name, e.g. `{ CONV_2D: 27 }`. */
  readonly ops: Readonly<Record<string, number>>;
  /** Number of operators. */
  readonly operators: number;
  /** Elements of all constant tensors (weights, biases, shape constants). */
  readonly params: number;
  /** Bytes of all buffers. */
  readonly weightBytes: number;
  /** Subgraph inputs. */
  readonly inputs: readonly TfliteTensorInfo[];
  /** Subgraph outputs. */
  readonly outputs: readonly TfliteTensorInfo[];
  /** `Model.metadata` names with their buffer sizes in bytes. */
  readonly metadata: Readonly<Record<string, number>>;
}

/**
 * Summarises a `.tflite` file (bounds-checked parse; no graph is built).
 * @param bytes - the file
 * @returns operators by name, parameter count, inputs, outputs and metadata entries
 * @throws {FormatError} on a malformed file
 * @example
 * ```ts
 * inspectTflite(exportTflite(g)).ops; // { CONV_2D: 14, DEPTHWISE_CONV_2D: 13, … }
 * ```
 */
export function inspectTflite(bytes: Uint8Array): TfliteSummary {
  const p = readTfliteModel(bytes);
  const m = p.model;
  const ops: Record<string, number> = {};
  for (const op of m.operators) {
    const name = BuiltinOperator[op.code] ?? `BUILTIN_${op.code}`;
    ops[name] = (ops[name] ?? 0) + 1;
  }
  let params = 0;
  for (const t of m.tensors) {
    if (t.buffer !== 0 && (p.buffers[t.buffer]?.length ?? 0) > 0)
      params += t.shape.reduce((a, b) => a * b, 1);
  }
  const info = (i: number): TfliteTensorInfo => {
    const t = m.tensors[i]!;
    const base = { name: t.name, shape: t.shape, type: TensorType[t.type] ?? String(t.type) };
    return t.quant && t.quant.scale.length === 1
      ? { ...base, quantization: { scale: t.quant.scale[0]!, zeroPoint: t.quant.zeroPoint[0]! } }
      : base;
  };
  return {
    version: p.version,
    description: m.description,
    ops,
    operators: m.operators.length,
    params,
    weightBytes: p.buffers.reduce((s, b) => s + b.length, 0),
    inputs: m.inputs.map(info),
    outputs: m.outputs.map(info),
    metadata: Object.fromEntries(m.metadata.map((md) => [md.name, p.buffers[md.buffer]?.length ?? 0])),
  };
}
