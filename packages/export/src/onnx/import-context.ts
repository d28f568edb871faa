// Import state shared by the ONNX op handlers: value names, constants, value infos and emitted graph nodes.
import {
  type Attrs,
  type Dim,
  FormatError,
  float16BitsToFloat32,
  type Initializer,
  inferNode,
  type Node,
  type QuantParams,
  UnsupportedOpError,
  type ValueInfo,
} from '@tinyvision/tensor';
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  type NodeProto,
  TensorProto_DataType,
} from './generated/onnx/onnx_pb.js';
import {
  constStorage,
  decodeTensor,
  type ExternalDataReader,
  hasSym,
  MAX_RANK,
  type OnnxConst,
  onnxToDType,
  onnxTypeName,
} from './import-tensor.js';

/**
 * The importer needs an operand (shape, axes, scales, pads, quantization parameters…) to be a constant, but the
 * model computes it at run time or takes it as a graph input. `value` names the ONNX value; binding it with
 * `importOnnx(bytes, { constants })` makes the model importable.
 * @internal
 */
export class ConstantInputError extends UnsupportedOpError {
  /**
   * @param message - what is wrong and where
   * @param value - the ONNX value that must be constant
   */
  constructor(
    message: string,
    readonly value: string,
  ) {
    super(message);
  }
}

/** Most attribute list entries read. */
const MAX_LIST = 1 << 16;

/** Whole-model import state. @internal */
export class ImportState {
  /** Emitted graph nodes, in order. */
  readonly nodes: Node[] = [];
  /** Value infos of every graph value. */
  readonly values = new Map<string, ValueInfo>();
  /** Materialised initializers. */
  readonly initializers = new Map<string, Initializer>();
  /** ONNX values known at import time. */
  readonly consts = new Map<string, OnnxConst>();
  /** ONNX value name → graph value name (Identity and no-op nodes). */
  readonly alias = new Map<string, string>();
  /** ONNX constants already materialised, by ONNX name. */
  readonly materialized = new Map<string, string>();
  /** Quant params to attach to materialised initializers (DequantizeLinear weights). */
  readonly constQuant = new Map<string, QuantParams>();
  /** Symbolic dim names by sentinel id (see `SYM_BASE`). */
  readonly symbols: string[] = [];
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private counter = 0;

  /**
   * @param opset - default-domain opset
   * @param reserved - every value name of the ONNX model (never reused for fresh names)
   * @param external - external-data reader
   */
  constructor(
    readonly opset: number,
    reserved: Iterable<string>,
    readonly external?: ExternalDataReader,
  ) {
    for (const r of reserved) this.used.add(r);
  }

  /** A fresh value name derived from `base`. */
  fresh(base: string): string {
    let name = `${base}__${this.counter++}`;
    while (this.used.has(name)) name = `${base}__${this.counter++}`;
    this.used.add(name);
    return name;
  }

  /** A unique node name derived from `base`. */
  nodeName(base: string): string {
    let name = base;
    while (this.nodeNames.has(name)) name = `${base}__${this.counter++}`;
    this.nodeNames.add(name);
    return name;
  }

  /** The graph value holding ONNX value `name`, materialising a constant as an initializer. */
  value(name: string, where: string): string {
    const a = this.alias.get(name);
    if (a !== undefined) return a;
    if (this.values.has(name)) return name;
    const done = this.materialized.get(name);
    if (done !== undefined) return done;
    const c = this.consts.get(name);
    if (!c) throw new FormatError(`${where}: value '${name}' is not defined before use`);
    const dtype = onnxToDType(c.type);
    if (!dtype)
      throw new UnsupportedOpError(
        `${where}: constant '${name}' has unsupported type ${onnxTypeName(c.type)}`,
      );
    if (hasSym(c)) {
      throw new UnsupportedOpError(
        `${where}: value '${name}' depends on a dynamic dim and cannot be a graph tensor`,
      );
    }
    const g = this.values.has(name) || this.initializers.has(name) ? this.fresh(name) : name;
    this.used.add(g);
    const quant = this.constQuant.get(name);
    const init: Initializer = {
      name: g,
      dtype,
      shape: [...c.shape],
      data: constStorage(c, dtype, where),
      ...(quant ? { quant } : {}),
    };
    this.initializers.set(g, init);
    this.values.set(g, { name: g, shape: [...c.shape], dtype, ...(quant ? { quant } : {}) });
    this.materialized.set(name, g);
    return g;
  }

  /** Value info of ONNX value `name` (a constant described without materialising it). */
  info(name: string, where: string): ValueInfo {
    const c = this.consts.get(name);
    if (c && !this.alias.has(name) && !this.materialized.has(name)) {
      const dtype = onnxToDType(c.type);
      if (!dtype)
        throw new UnsupportedOpError(
          `${where}: constant '${name}' has unsupported type ${onnxTypeName(c.type)}`,
        );
      const quant = this.constQuant.get(name);
      return quant ? { name, shape: c.shape, dtype, quant } : { name, shape: c.shape, dtype };
    }
    const v = this.values.get(this.value(name, where));
    if (!v) throw new FormatError(`${where}: value '${name}' is not defined before use`);
    return v;
  }

  /** Appends a graph node after inferring its outputs' value infos. */
  addNode(node: Node): void {
    const ins = node.inputs.map((v) => (v === null ? null : this.values.get(v)!));
    const outs = inferNode(node, ins);
    node.outputs.forEach((o, i) => {
      const r = outs[i]!;
      this.used.add(o);
      this.values.set(o, { name: o, shape: r.shape, dtype: r.dtype, ...(r.quant ? { quant: r.quant } : {}) });
    });
    this.nodes.push(node);
  }
}

/** One ONNX node being imported: its inputs, attributes and helpers to emit graph nodes. @internal */
export class NodeCtx {
  /** The node's name for messages and as a base for graph node names. */
  readonly name: string;
  /** Its op type. */
  readonly op: string;
  private readonly attrs: Map<string, AttributeProto>;
  private emitted = 0;

  /**
   * @param s - the import state
   * @param n - the ONNX node
   * @param index - its index in the graph
   */
  constructor(
    readonly s: ImportState,
    readonly n: NodeProto,
    index: number,
  ) {
    this.op = n.opType;
    this.name = n.name || `${n.opType}_${index}`;
    this.attrs = new Map(n.attribute.map((a) => [a.name, a]));
  }

  /** Message prefix naming the node. */
  get where(): string {
    return `importOnnx: node '${this.name}' (${this.op})`;
  }

  /** The default-domain opset. */
  get opset(): number {
    return this.s.opset;
  }

  /** Throws the standard error for a node (or variant) the importer cannot express. */
  unsupported(why: string): never {
    throw new UnsupportedOpError(`${this.where} ${why}`);
  }

  /** Whether input `i` is given (present and not the empty name). */
  has(i: number): boolean {
    return (this.n.input[i] ?? '') !== '';
  }

  /** Number of inputs listed (including empty trailing names). */
  get nIn(): number {
    return this.n.input.length;
  }

  /** Whether output `i` is requested. */
  wants(i: number): boolean {
    return (this.n.output[i] ?? '') !== '';
  }

  /** The ONNX output name `i`. */
  out(i = 0): string {
    const o = this.n.output[i];
    if (!o) this.unsupported(`has no output ${i}`);
    return o;
  }

  /** The graph value of input `i` (throws when absent). */
  x(i = 0): string {
    const name = this.n.input[i];
    if (!name) this.unsupported(`needs input ${i}`);
    return this.s.value(name, this.where);
  }

  /** The graph value of input `i`, or null when absent. */
  opt(i: number): string | null {
    return this.has(i) ? this.x(i) : null;
  }

  /** Value info of input `i`. */
  info(i = 0): ValueInfo {
    const name = this.n.input[i];
    if (!name) this.unsupported(`needs input ${i}`);
    return this.s.info(name, this.where);
  }

  /** Dims of input `i`. */
  shape(i = 0): readonly Dim[] {
    return this.info(i).shape;
  }

  /** Static dims of input `i` (throws when a dim is symbolic). */
  staticShape(i = 0): number[] {
    const sh = this.shape(i);
    if (!sh.every((d) => typeof d === 'number')) this.unsupported(`needs a static shape for input ${i}`);
    return sh as number[];
  }

  /** The constant of input `i`, if it is known at import time. */
  konst(i: number): OnnxConst | undefined {
    const name = this.n.input[i];
    if (!name || this.s.alias.has(name)) return undefined;
    return this.s.consts.get(name);
  }

  /** The constant input `i` as numbers (throws when it is not a constant). */
  ints(i: number, what: string): number[] {
    const c = this.konst(i);
    if (!c) {
      throw new ConstantInputError(
        `${this.where} needs a constant '${what}' input (input ${i})`,
        this.n.input[i] ?? '',
      );
    }
    if (c.type === TensorProto_DataType.FLOAT16) return Array.from(c.data, float16BitsToFloat32);
    const v = Array.from(c.data as ArrayLike<number>);
    if (hasSym(c)) {
      this.unsupported(`needs a static '${what}' (it depends on a dynamic dim)`);
    }
    return v;
  }

  /**
   * A constant shape input `i` whose entries may be symbolic-dim sentinels (derived from a symbolic dim by
   * `Shape`), for Reshape targets.
   */
  dims(i: number, what: string): number[] {
    const c = this.konst(i);
    if (!c)
      throw new ConstantInputError(
        `${this.where} needs a constant '${what}' input (input ${i})`,
        this.n.input[i] ?? '',
      );
    return Array.from(c.data as ArrayLike<number>);
  }

  /** A constant scalar input `i` (the first element), or `def` when absent. */
  scalar(i: number, what: string, def?: number): number | undefined {
    if (!this.has(i)) return def;
    const v = this.ints(i, what);
    if (v.length !== 1) this.unsupported(`needs a scalar '${what}', got ${v.length} values`);
    return v[0];
  }

  private attr(name: string, type: AttributeProto_AttributeType): AttributeProto | undefined {
    const a = this.attrs.get(name);
    if (!a) return undefined;
    if (a.refAttrName) this.unsupported(`attribute '${name}' refers to a function attribute`);
    if (a.type !== type && a.type !== AttributeProto_AttributeType.UNDEFINED) {
      throw new FormatError(
        `${this.where}: attribute '${name}' has type ${AttributeProto_AttributeType[a.type] ?? a.type}, expected ${AttributeProto_AttributeType[type]}`,
      );
    }
    return a;
  }

  /** Whether attribute `name` is set. */
  hasAttr(name: string): boolean {
    return this.attrs.has(name);
  }

  /** An INT attribute. */
  int(name: string, def: number): number {
    const a = this.attr(name, AttributeProto_AttributeType.INT);
    if (!a) return def;
    const v = Number(a.i);
    if (!Number.isSafeInteger(v))
      throw new FormatError(`${this.where}: attribute '${name}' ${a.i} is out of range`);
    return v;
  }

  /** An INTS attribute (undefined when absent). */
  intList(name: string): number[] | undefined {
    const a = this.attr(name, AttributeProto_AttributeType.INTS);
    if (!a) return undefined;
    if (a.ints.length > MAX_LIST) throw new FormatError(`${this.where}: attribute '${name}' is too long`);
    return a.ints.map((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n))
        throw new FormatError(`${this.where}: attribute '${name}' value ${v} is out of range`);
      return n;
    });
  }

  /** A FLOAT attribute. */
  float(name: string, def: number): number {
    const a = this.attr(name, AttributeProto_AttributeType.FLOAT);
    return a ? a.f : def;
  }

  /** A FLOATS attribute (undefined when absent). */
  floatList(name: string): number[] | undefined {
    return this.attr(name, AttributeProto_AttributeType.FLOATS)?.floats;
  }

  /** A STRING attribute. */
  str(name: string, def: string): string {
    const a = this.attr(name, AttributeProto_AttributeType.STRING);
    return a ? new TextDecoder().decode(a.s) : def;
  }

  /** A TENSOR attribute decoded as a constant (undefined when absent). */
  tensorAttr(name: string): OnnxConst | undefined {
    const a = this.attr(name, AttributeProto_AttributeType.TENSOR);
    if (!a) return undefined;
    if (!a.t) throw new FormatError(`${this.where}: attribute '${name}' has no tensor`);
    return decodeTensor(a.t, `${this.where} attribute '${name}'`, this.s.external);
  }

  /** Normalises a possibly negative axis against `rank`. */
  axis(a: number, rank: number, what = 'axis'): number {
    const r = Math.max(rank, 1);
    if (!Number.isInteger(a) || a < -r || a >= r)
      this.unsupported(`'${what}' ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + r : a;
  }

  /**
   * Emits one graph node. `outs` are graph value names (default: one fresh name); returns the output names.
   */
  emit(
    op: string,
    inputs: readonly (string | null)[],
    attrs: Attrs = {},
    outs?: readonly string[],
  ): string[] {
    const outputs = outs ? [...outs] : [this.s.fresh(this.n.output[0] || this.name)];
    const name = this.s.nodeName(this.emitted++ === 0 ? this.name : `${this.name}/${op}`);
    this.s.addNode({ name, op, inputs: [...inputs], outputs, attrs });
    return outputs;
  }

  /** Emits a single-output node writing a fresh value; returns its name. */
  tmp(op: string, inputs: readonly (string | null)[], attrs: Attrs = {}): string {
    return this.emit(op, inputs, attrs)[0]!;
  }

  /** Emits a single-output node writing ONNX output `i`. */
  final(op: string, inputs: readonly (string | null)[], attrs: Attrs = {}, i = 0): string {
    return this.emit(op, inputs, attrs, [this.out(i)])[0]!;
  }

  /** ONNX output `i` is the existing graph value `v` (no node). */
  alias(v: string, i = 0): void {
    this.s.alias.set(this.out(i), v);
  }

  /** ONNX output `i` is a constant. */
  setConst(c: OnnxConst, i = 0): void {
    if (c.shape.length > MAX_RANK)
      throw new FormatError(`${this.where}: folded rank ${c.shape.length} is too large`);
    this.s.consts.set(this.out(i), c);
  }

  /** A float32 scalar/vector constant as a graph value (dtype follows `like` when given as 'float16'). */
  f32(values: readonly number[], shape: readonly number[] = []): string {
    const name = this.s.fresh(`${this.name}/const`);
    this.s.consts.set(name, { type: TensorProto_DataType.FLOAT, shape, data: Float32Array.from(values) });
    return this.s.value(name, this.where);
  }

  /** An int32 constant as a graph value. */
  i32(values: readonly number[], shape: readonly number[] = [values.length]): string {
    const name = this.s.fresh(`${this.name}/const`);
    this.s.consts.set(name, { type: TensorProto_DataType.INT32, shape, data: Int32Array.from(values) });
    return this.s.value(name, this.where);
  }
}
