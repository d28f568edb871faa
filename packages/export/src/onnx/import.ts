// importOnnx: ONNX ModelProto bytes → graph IR (default domain, opsets 1–18), with constant folding of shape math.
import { fromBinary } from '@bufbuild/protobuf';
import {
  type Dim,
  eliminateDeadCode,
  FormatError,
  type Graph,
  makeGraph,
  TinyVisionError,
  UnsupportedOpError,
  type ValueInfo,
  validateGraph,
} from '@tinyvision/tensor';
import { type GraphProto, type ModelProto, ModelProtoSchema } from './generated/onnx/onnx_pb.js';
import { ConstantInputError, ImportState, NodeCtx } from './import-context.js';
import { FOLDERS } from './import-fold.js';
import { ONNX_IMPORTERS } from './import-ops.js';
import {
  checkDims,
  decodeTensor,
  type ExternalDataReader,
  MAX_RANK,
  type OnnxConst,
  onnxToDType,
  onnxTypeName,
} from './import-tensor.js';

export type { ExternalDataReader } from './import-tensor.js';

/** Lowest default-domain opset {@link importOnnx} reads. */
export const MIN_IMPORT_OPSET = 1;
/** Highest default-domain opset {@link importOnnx} reads. */
export const MAX_IMPORT_OPSET = 18;
/** Largest model {@link importOnnx} decodes: 2 GiB, the protobuf limit (bigger weights go to external data). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** Most nodes a graph may have. */
const MAX_NODES = 1 << 20;

/** A value bound at import time (see {@link ImportOnnxOptions.constants}). */
export interface OnnxConstantInput {
  /** Dims. */
  readonly shape: readonly number[];
  /** Row-major values (int64 inputs as numbers). */
  readonly data: ArrayLike<number>;
}

/** Options of {@link importOnnx}. */
export interface ImportOnnxOptions {
  /**
   * Graph inputs to freeze as constants (by name). The graph IR keeps shapes, axes and similar operands
   * static, so an ONNX model that takes them as runtime inputs imports only with those inputs bound here.
   */
  readonly constants?: Readonly<Record<string, OnnxConstantInput>>;
  /** Reads tensors stored as external data (`loadOnnx` from `@tinyvision/export/node` provides one). */
  readonly readExternal?: ExternalDataReader;
}

function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('importOnnx: expected the model as a Uint8Array');
  if (bytes.length === 0) throw new FormatError('importOnnx: empty input');
  if (bytes.length > MAX_ONNX_BYTES)
    throw new FormatError(`importOnnx: ${bytes.length} bytes exceed the 2 GiB limit`);
  try {
    return fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false });
  } catch (e) {
    // malformed wire data, or nesting deep enough to exhaust the stack (RangeError)
    throw new FormatError(
      `importOnnx: not a valid ONNX ModelProto (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!entry) throw new FormatError('importOnnx: the model imports no default-domain (ai.onnx) opset');
  const v = Number(entry.version);
  if (v < MIN_IMPORT_OPSET || v > MAX_IMPORT_OPSET) {
    throw new UnsupportedOpError(
      `importOnnx: opset ${v} is not supported (ai.onnx opsets ${MIN_IMPORT_OPSET}–${MAX_IMPORT_OPSET})`,
    );
  }
  return v;
}

function allNames(g: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) names.add(v.name);
  for (const t of g.initializer) names.add(t.name);
  for (const n of g.node) for (const v of [...n.input, ...n.output]) if (v) names.add(v);
  return names;
}

function inputInfo(g: GraphProto, name: string): ValueInfo {
  const v = g.input.find((i) => i.name === name)!;
  const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  if (!tt) throw new UnsupportedOpError(`importOnnx: graph input '${name}' is not a tensor`);
  const dtype = onnxToDType(tt.elemType);
  if (!dtype) {
    throw new UnsupportedOpError(
      `importOnnx: graph input '${name}' has unsupported type ${onnxTypeName(tt.elemType)}`,
    );
  }
  if (!tt.shape) throw new UnsupportedOpError(`importOnnx: graph input '${name}' has an unknown rank`);
  if (tt.shape.dim.length > MAX_RANK)
    throw new FormatError(`importOnnx: graph input '${name}' rank is too large`);
  const shape: Dim[] = tt.shape.dim.map((d, i) => {
    if (d.value.case === 'dimValue')
      return checkDims([d.value.value], `importOnnx: graph input '${name}'`)[0]!;
    if (d.value.case === 'dimParam' && d.value.value) return d.value.value;
    return `${name}_dim${i}`;
  });
  return { name, shape, dtype };
}

function frozen(g: GraphProto, name: string, c: OnnxConstantInput): OnnxConst {
  const v = g.input.find((i) => i.name === name);
  const tt = v?.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  if (!tt) throw new FormatError(`importOnnx: constant '${name}' is not a tensor input of the graph`);
  const shape = checkDims(c.shape, `importOnnx: constant '${name}'`);
  if (shape.reduce((a, d) => a * d, 1) !== c.data.length) {
    throw new FormatError(`importOnnx: constant '${name}' has ${c.data.length} values for shape [${shape}]`);
  }
  return { type: tt.elemType, shape, data: Float64Array.from(c.data) };
}

function importNode(s: ImportState, ctx: NodeCtx): void {
  const n = ctx.n;
  if (n.domain !== '' && n.domain !== 'ai.onnx') {
    throw new UnsupportedOpError(
      `importOnnx: node '${ctx.name}' has op '${n.domain}.${n.opType}' outside the default domain`,
    );
  }
  const handler = Object.hasOwn(ONNX_IMPORTERS, n.opType) ? ONNX_IMPORTERS[n.opType] : undefined;
  const folder = Object.hasOwn(FOLDERS, n.opType) ? FOLDERS[n.opType] : undefined;
  if (!handler && !folder) {
    throw new UnsupportedOpError(`importOnnx: node '${ctx.name}' has unsupported op type '${n.opType}'`);
  }
  if (folder && n.output.length === 1) {
    const ins: OnnxConst[] = [];
    let all = true;
    n.input.forEach((v, i) => {
      if (!v) return;
      const k = ctx.konst(i);
      if (k) ins[i] = k;
      else all = false;
    });
    if (all) {
      const r = folder(ctx, ins);
      if (r) {
        ctx.setConst(r);
        return;
      }
    }
  }
  if (!handler) {
    const i = n.input.findIndex((v, k) => v && !ctx.konst(k));
    throw new ConstantInputError(
      `importOnnx: node '${ctx.name}' (${n.opType}) needs constant inputs (it is only evaluated at import time)`,
      n.input[i] ?? '',
    );
  }
  handler(ctx);
  n.output.forEach((o) => {
    if (o && !s.values.has(o) && !s.alias.has(o) && !s.consts.has(o)) {
      throw new FormatError(`importOnnx: node '${ctx.name}' (${n.opType}) did not produce output '${o}'`);
    }
  });
}

function build(model: ModelProto, opts: ImportOnnxOptions): Graph {
  const g = model.graph;
  if (!g) throw new FormatError('importOnnx: the model has no graph');
  if (g.node.length > MAX_NODES) throw new FormatError(`importOnnx: ${g.node.length} nodes exceed the limit`);
  g.node.forEach((n, i) => {
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      throw new UnsupportedOpError(
        `importOnnx: node '${n.name || `${n.opType}_${i}`}' has op '${n.domain}.${n.opType}' outside the default domain`,
      );
    }
  });
  const s = new ImportState(defaultOpset(model), allNames(g), opts.readExternal);
  for (const t of g.initializer)
    s.consts.set(t.name, decodeTensor(t, 'importOnnx: initializer', opts.readExternal));
  const consts = opts.constants ?? {};
  for (const name of Object.keys(consts)) s.consts.set(name, frozen(g, name, consts[name]!));
  const inputs = g.input.map((v) => v.name).filter((name) => !s.consts.has(name));
  if (new Set(inputs).size !== inputs.length)
    throw new FormatError('importOnnx: duplicate graph input names');
  for (const name of inputs) s.values.set(name, inputInfo(g, name));
  g.node.forEach((n, i) => importNode(s, new NodeCtx(s, n, i)));
  const outputs = g.output.map((o) => o.name);
  if (new Set(outputs).size !== outputs.length)
    throw new FormatError('importOnnx: duplicate graph output names');
  for (const o of outputs) {
    const v = s.value(o, `importOnnx: graph output '${o}'`);
    if (v !== o) {
      s.nodes.push({
        name: `${o}/output`,
        op: 'Cast',
        inputs: [v],
        outputs: [o],
        attrs: { dtype: s.values.get(v)!.dtype },
      });
      s.values.set(o, { ...s.values.get(v)!, name: o });
    }
  }
  const metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  const graph = makeGraph({
    ...(g.name ? { name: g.name } : {}),
    inputs,
    outputs,
    nodes: s.nodes,
    values: inputs.map((i) => s.values.get(i)!),
    initializers: [...s.initializers.values()],
    metadata,
  });
  return validateGraph(eliminateDeadCode(graph));
}

/**
 * Reads an ONNX model into the graph IR. Each ONNX node becomes one graph node or a short decomposition
 * (see `docs/onnx-node-tests.md` for the op coverage); initializers and `Constant`s stay constants, and shape
 * arithmetic on them (`Shape → Gather → Concat → Reshape`) is evaluated at import time. int64 values become
 * int32; attributes take their ONNX defaults; shapes are inferred with `inferShapes`. `metadata_props` become
 * the graph's metadata.
 * @param bytes - the serialised `ModelProto`
 * @param opts - inputs to freeze as constants, an external-data reader
 * @returns the validated graph
 * @throws {FormatError} for bytes that are not a well-formed model (bad wire data, bad tensor sizes, undefined values)
 * @throws {UnsupportedOpError} for an op, dtype, opset or op variant the graph IR cannot express (naming the node and op)
 * @example
 * ```ts
 * const g = importOnnx(new Uint8Array(await (await fetch('model.onnx')).arrayBuffer()));
 * const { outputs: [y] } = runGraph(g, [x]);
 * ```
 */
export function importOnnx(bytes: Uint8Array, opts: ImportOnnxOptions = {}): Graph {
  const model = decodeModel(bytes);
  try {
    return build(model, opts);
  } catch (e) {
    if (TinyVisionError.isInstance(e)) throw e;
    // anything else is a malformed model the checks above did not name
    throw new FormatError(`importOnnx: malformed model (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * The ONNX op types {@link importOnnx} maps (default domain).
 * @returns sorted op types
 * @example
 * ```ts
 * onnxImportableOps().includes('Conv'); // true
 * ```
 */
export function onnxImportableOps(): string[] {
  return [...new Set([...Object.keys(ONNX_IMPORTERS), ...Object.keys(FOLDERS)])].sort();
}
