// Emission context shared by the op table: ONNX nodes, constant initializers and fresh value names.
import { create } from '@bufbuild/protobuf';
import type { Dim, Graph, Node, ValueInfo } from '@tinyvision/tensor';
import { UnsupportedOpError } from '@tinyvision/tensor';
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
} from './generated/onnx/onnx_pb.js';

/** An ONNX attribute value: numbers that are integers become INT(S) unless listed in `floats`. */
export type OnnxAttrValue = number | string | readonly number[];

/** A float attribute (`{ f: 0.5 }`) or float list (`{ f: [..] }`); plain numbers are ints. */
export interface FloatAttr {
  readonly f: number | readonly number[];
}

/** Attributes of one emitted ONNX node. */
export type OnnxAttrs = Readonly<Record<string, OnnxAttrValue | FloatAttr>>;

function attribute(name: string, v: OnnxAttrValue | FloatAttr): AttributeProto {
  const T = AttributeProto_AttributeType;
  if (typeof v === 'string') {
    return create(AttributeProtoSchema, { name, type: T.STRING, s: new TextEncoder().encode(v) });
  }
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: T.INT, i: BigInt(v) });
  if ('f' in v) {
    const f = v.f;
    return typeof f === 'number'
      ? create(AttributeProtoSchema, { name, type: T.FLOAT, f })
      : create(AttributeProtoSchema, { name, type: T.FLOATS, floats: [...f] });
  }
  return create(AttributeProtoSchema, { name, type: T.INTS, ints: (v as readonly number[]).map(BigInt) });
}

/** Little-endian raw bytes of a typed array (copy). */
export function rawLE(data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((x, i) => view.setFloat32(i * 4, x, true));
  else if (data instanceof Int32Array) data.forEach((x, i) => view.setInt32(i * 4, x, true));
  else if (data instanceof BigInt64Array) data.forEach((x, i) => view.setBigInt64(i * 8, x, true));
  else out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Builds the ONNX node list of one graph; converters in `ops.ts` call its methods. */
export class OnnxBuilder {
  /** Emitted nodes, in order. */
  readonly nodes: NodeProto[] = [];
  /** Constant initializers added by converters. */
  readonly initializers: TensorProto[] = [];
  private readonly used: Set<string>;
  private counter = 0;

  /**
   * @param graph - the source graph (its value names are reserved)
   * @param opset - the target default-domain opset
   */
  constructor(
    readonly graph: Graph,
    readonly opset: number,
  ) {
    this.used = new Set([...graph.values.keys(), ...graph.initializers.keys()]);
    for (const n of graph.nodes) for (const o of n.outputs) this.used.add(o);
  }

  /** A fresh value name derived from `base`. */
  fresh(base: string): string {
    let name = `${base}__${this.counter++}`;
    while (this.used.has(name)) name = `${base}__${this.counter++}`;
    this.used.add(name);
    return name;
  }

  /** Emits one node; returns its first output name. */
  emit(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: OnnxAttrs = {},
    name?: string,
  ): string {
    this.nodes.push(
      create(NodeProtoSchema, {
        name: name ?? this.fresh(`${opType.toLowerCase()}`),
        opType,
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs[0]!;
  }

  /** Emits a single-output node writing a fresh value; returns its name. */
  tmp(opType: string, inputs: readonly string[], attrs: OnnxAttrs = {}, base = 'tmp'): string {
    return this.emit(opType, inputs, [this.fresh(base)], attrs);
  }

  /** Adds an int64 constant initializer (1-D unless `dims` is given); returns its name. */
  int64(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(
      base,
      TensorProto_DataType.INT64,
      dims,
      rawLE(BigInt64Array.from(values.map(BigInt))),
    );
  }

  /** Adds a float32 constant initializer (a scalar when `dims` is `[]`); returns its name. */
  float32(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(base, TensorProto_DataType.FLOAT, dims, rawLE(Float32Array.from(values)));
  }

  /** Adds a constant initializer from raw little-endian bytes; returns its name. */
  constant(base: string, dataType: number, dims: readonly number[], raw: Uint8Array): string {
    const name = this.fresh(base);
    this.initializers.push(
      create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: raw }),
    );
    return name;
  }

  /** The value info of a graph value (throws when missing). */
  info(node: Node, value: string): ValueInfo {
    const v = this.graph.values.get(value);
    if (!v)
      throw new UnsupportedOpError(
        `exportOnnx: node '${node.name}' (${node.op}): no value info for '${value}'`,
      );
    return v;
  }

  /** The static shape of a graph value, or `undefined` where a dim is symbolic. */
  staticShape(node: Node, value: string): number[] | undefined {
    const shape: readonly Dim[] = this.info(node, value).shape;
    return shape.every((d) => typeof d === 'number') ? (shape as number[]) : undefined;
  }

  /** Throws the standard error for a node the table cannot express. */
  unsupported(node: Node, why: string): never {
    throw new UnsupportedOpError(`exportOnnx: op '${node.op}' (node '${node.name}') ${why}`);
  }
}
