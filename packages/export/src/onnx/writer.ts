// exportOnnx: Graph → ONNX ModelProto bytes (fp32 graphs, default domain, opset 13–17).
import { create, toBinary } from '@bufbuild/protobuf';
import {
  float32ToFloat16Bits,
  type Graph,
  type Initializer,
  InvalidArgumentError,
  type Node,
  UnsupportedOpError,
  type ValueInfo,
} from '@tinyvision/tensor';
import { OnnxBuilder, rawLE } from './builder.js';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from './generated/onnx/onnx_pb.js';
import { ONNX_CONVERTERS, ONNX_DTYPES } from './ops.js';
import { emitQOperator, type QOpPlan, qoperatorPlan } from './ops-quant.js';

/** Default ONNX opset of {@link exportOnnx}: 13 (ONNX 1.8, supported by every current runtime). */
export const DEFAULT_ONNX_OPSET = 13;
/** Lowest opset {@link exportOnnx} writes. */
export const MIN_ONNX_OPSET = 13;
/** Highest opset {@link exportOnnx} writes (17 adds `LayerNormalization`; 18 moves reduction axes to inputs). */
export const MAX_ONNX_OPSET = 17;
/** ONNX IR version written: 8 (ONNX 1.10+), which covers opsets 13–17. */
export const ONNX_IR_VERSION = 8;

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Default-domain opset, {@link MIN_ONNX_OPSET}–{@link MAX_ONNX_OPSET} (default {@link DEFAULT_ONNX_OPSET}). */
  readonly opset?: number;
  /** `ModelProto.producer_name` (default `'tinyvision'`). */
  readonly producerName?: string;
  /** `ModelProto.producer_version` (default `'0.1.0'`). */
  readonly producerVersion?: string;
  /** `ModelProto.model_version`, a non-negative integer (default 1). */
  readonly modelVersion?: number;
  /** Extra `metadata_props`, merged over the graph's own metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `ModelProto.doc_string`. */
  readonly docString?: string;
  /**
   * Weight precision: `'float32'` (default), or `'float16'`: float32 initializers are stored as FLOAT16 and
   * widened by a `Cast` node, so the file is about half the size while activations and arithmetic stay float32.
   */
  readonly dtype?: 'float32' | 'float16';
  /**
   * Quantized (QDQ, decision 0003) graphs: `'qdq'` (default) writes QuantizeLinear/DequantizeLinear around float
   * ops; `'qoperator'` fuses `DQ → Conv2D/FusedConv2D → Q` into QLinearConv and `DQ → MatMul → Q` into
   * QLinearMatMul, leaving every other quantized op in QDQ form.
   */
  readonly quantFormat?: 'qdq' | 'qoperator';
}

/**
 * The kernel names the ONNX writer can express (the op table's keys).
 * @returns sorted kernel names
 * @example
 * ```ts
 * onnxSupportedOps().includes('Conv2D'); // true
 * ```
 */
export function onnxSupportedOps(): string[] {
  return Object.keys(ONNX_CONVERTERS).sort();
}

function valueInfo(v: ValueInfo): ValueInfoProto {
  const dtype = ONNX_DTYPES[v.dtype];
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: dtype,
          shape: create(TensorShapeProtoSchema, {
            dim: v.shape.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value:
                  typeof d === 'number'
                    ? { case: 'dimValue', value: BigInt(d) }
                    : { case: 'dimParam', value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

function initializer(init: Initializer): TensorProto {
  const data = init.data;
  if (
    !(
      data instanceof Float32Array ||
      data instanceof Int32Array ||
      data instanceof Uint8Array ||
      data instanceof Int8Array
    )
  ) {
    throw new UnsupportedOpError(
      `exportOnnx: initializer '${init.name}' has dtype ${init.dtype}; only float32 graphs (with int32/int8/uint8/bool constants) are exported`,
    );
  }
  return create(TensorProtoSchema, {
    name: init.name,
    dataType: ONNX_DTYPES[init.dtype],
    dims: init.shape.map(BigInt),
    rawData: rawLE(data),
  });
}

function checkFloat(graph: Graph): void {
  for (const v of graph.values.values()) {
    if (v.dtype === 'float16' || v.dtype === 'bfloat16') {
      throw new UnsupportedOpError(
        `exportOnnx: value '${v.name}' is ${v.dtype}; this writer exports float32 (and int8 QDQ) graphs only`,
      );
    }
    if (v.quant && v.dtype !== 'int8' && v.dtype !== 'uint8' && v.dtype !== 'int32') {
      throw new UnsupportedOpError(
        `exportOnnx: value '${v.name}' is a quantized ${v.dtype}; expected int8/uint8/int32`,
      );
    }
  }
}

/** FLOAT16 copies of the float32 initializers, each widened back to float32 by a Cast node. */
function halfWeights(
  b: OnnxBuilder,
  inits: readonly TensorProto[],
): { inits: TensorProto[]; casts: NodeProto[] } {
  const casts: NodeProto[] = [];
  const out = inits.map((t) => {
    if (t.dataType !== TensorProto_DataType.FLOAT) return t;
    const f32 = new Float32Array(
      t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + t.rawData.byteLength),
    );
    const half = new Uint16Array(f32.length);
    for (let i = 0; i < f32.length; i++) half[i] = float32ToFloat16Bits(f32[i]!);
    const name = b.fresh(`${t.name}/fp16`);
    casts.push(
      create(NodeProtoSchema, {
        name: `${t.name}/cast`,
        opType: 'Cast',
        input: [name],
        output: [t.name],
        attribute: [
          create(AttributeProtoSchema, { name: 'to', type: AttributeProto_AttributeType.INT, i: 1n }),
        ],
      }),
    );
    return create(TensorProtoSchema, {
      name,
      dataType: TensorProto_DataType.FLOAT16,
      dims: t.dims,
      rawData: rawLE16(half),
    });
  });
  return { inits: out, casts };
}

function rawLE16(data: Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  data.forEach((x, i) => view.setUint16(i * 2, x, true));
  return out;
}

/**
 * Writes a graph as an ONNX model (`ModelProto` bytes): one ONNX node or a short decomposition per graph node
 * (see the op table in `onnx/ops.ts`), initializers as little-endian `raw_data`, value infos for every value with
 * symbolic dims (the dynamic batch `'N'`) as `dim_param`, and the graph's metadata as `metadata_props`.
 * @param graph - a float32 graph (from `trace`, optionally `optimizeGraph`d)
 * @param opts - opset (default 13), producer name/version, model version, extra metadata, doc string
 * @returns the serialised model
 * @throws {UnsupportedOpError} for an op without an ONNX mapping (naming the op and node), or non-float32 values
 * @throws {InvalidArgumentError} for an opset outside 13–17 or a bad model version
 * @example
 * ```ts
 * const g = trace((x) => softmax(linear(x, w)), [randn([1, 8])], { dynamicBatch: true });
 * const bytes = exportOnnx(g, { producerName: 'my-app', metadata: { license: 'MIT' } });
 * ```
 */
export function exportOnnx(graph: Graph, opts: ExportOnnxOptions = {}): Uint8Array {
  return toBinary(ModelProtoSchema, buildOnnxModel(graph, opts));
}

/**
 * The `ModelProto` that {@link exportOnnx} serialises (for writers that post-process it, e.g. external data).
 * @param graph - the graph
 * @param opts - export options
 * @returns the model message
 * @throws {UnsupportedOpError} / {InvalidArgumentError} as {@link exportOnnx}
 * @internal
 */
export function buildOnnxModel(graph: Graph, opts: ExportOnnxOptions = {}): ModelProto {
  const opset = opts.opset ?? DEFAULT_ONNX_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_ONNX_OPSET || opset > MAX_ONNX_OPSET) {
    throw new InvalidArgumentError(
      `exportOnnx: 'opset' ${opset} is not supported; expected an integer in [${MIN_ONNX_OPSET}, ${MAX_ONNX_OPSET}]`,
    );
  }
  const modelVersion = opts.modelVersion ?? 1;
  if (!Number.isSafeInteger(modelVersion) || modelVersion < 0) {
    throw new InvalidArgumentError(
      `exportOnnx: 'modelVersion' ${modelVersion} must be a non-negative integer`,
    );
  }
  checkFloat(graph);
  const b = new OnnxBuilder(graph, opset);
  const fused = opts.quantFormat === 'qoperator' ? qoperatorPlan(graph) : new Map<Node, QOpPlan>();
  const skip = new Set<Node>();
  for (const p of fused.values()) for (const n of p.absorbed) skip.add(n);
  for (const node of graph.nodes) {
    const plan = fused.get(node);
    if (plan) {
      emitQOperator(b, plan);
      continue;
    }
    if (skip.has(node)) continue;
    const convert = Object.hasOwn(ONNX_CONVERTERS, node.op) ? ONNX_CONVERTERS[node.op] : undefined;
    if (!convert) {
      throw new UnsupportedOpError(`exportOnnx: op '${node.op}' (node '${node.name}') has no ONNX mapping`);
    }
    convert(b, node);
  }
  let inits = [...[...graph.initializers.values()].map(initializer), ...b.initializers];
  let nodes = b.nodes;
  if (opts.dtype === 'float16') {
    const half = halfWeights(b, [...graph.initializers.values()].map(initializer));
    inits = [...half.inits, ...b.initializers];
    nodes = [...half.casts, ...b.nodes];
  } else if (opts.dtype !== undefined && opts.dtype !== 'float32') {
    throw new InvalidArgumentError(
      `exportOnnx: 'dtype' ${String(opts.dtype)} must be 'float32' or 'float16'`,
    );
  }
  const info = (name: string): ValueInfoProto => {
    const v = graph.values.get(name);
    if (!v) throw new UnsupportedOpError(`exportOnnx: graph value '${name}' has no value info`);
    return valueInfo(v);
  };
  const io = new Set([...graph.inputs, ...graph.outputs, ...graph.initializers.keys()]);
  const written = new Set(nodes.flatMap((n) => n.output));
  const inner = graph.nodes
    .flatMap((n) => n.outputs)
    .filter((o) => !io.has(o) && graph.values.has(o) && written.has(o));
  const metadata = { ...graph.metadata, ...(opts.metadata ?? {}) };
  return create(ModelProtoSchema, {
    irVersion: BigInt(ONNX_IR_VERSION),
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    producerName: opts.producerName ?? 'tinyvision',
    producerVersion: opts.producerVersion ?? '0.1.0',
    modelVersion: BigInt(modelVersion),
    ...(opts.docString !== undefined ? { docString: opts.docString } : {}),
    metadataProps: Object.entries(metadata).map(([key, value]) =>
      create(StringStringEntryProtoSchema, { key, value }),
    ),
    graph: create(GraphProtoSchema, {
      name: graph.name ?? 'tinyvision',
      node: nodes,
      initializer: inits,
      input: graph.inputs.map(info),
      output: graph.outputs.map(info),
      valueInfo: inner.map(info),
    }),
  });
}
