// Conversion state of the TFLite writer: tensors, buffers and operators being built, and the layout of every
// graph value. tinyvision graphs are NCHW; TFLite ops are NHWC. Each rank-4 value is stored either as NHWC
// (`'nhwc'`: the stored tensor is the graph value permuted by [0, 2, 3, 1]) or unchanged (`'plain'`).
// Layout-aware ops (conv, pooling, resize, elementwise, axis ops) keep values NHWC; ops that depend on memory
// order (Reshape, MatMul, Linear…) ask for the plain layout and a TRANSPOSE is inserted (once per value).
import {
  type DType,
  type Graph,
  type Initializer,
  type Node,
  type QuantParams,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { BuiltinOperator, BuiltinOptions, TensorType } from './generated/schema_generated.js';
import type { TflOperator, TflOptionValue, TflQuant, TflTensor } from './ir.js';

/** Storage layout of a graph value in the TFLite model. @internal */
export type Layout = 'nhwc' | 'plain';

/** NCHW → NHWC axis permutation. @internal */
export const TO_NHWC = [0, 2, 3, 1] as const;
/** NHWC → NCHW axis permutation. @internal */
export const TO_NCHW = [0, 3, 1, 2] as const;

/** Position of NCHW axis `a` in NHWC storage. @internal */
export function nhwcAxis(a: number): number {
  return [0, 3, 1, 2][a]!;
}

/** `shape` permuted: `out[i] = shape[perm[i]]`. @internal */
export function permute<T>(shape: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => shape[p]!);
}

/** Row-major transpose of `data` (element size = typed-array element) by `perm`. @internal */
export function transposeData<A extends ArrayLike<number> & { length: number }>(
  data: A,
  shape: readonly number[],
  perm: readonly number[],
  make: (n: number) => A & { [i: number]: number },
): A {
  const rank = shape.length;
  const out = make(data.length);
  const outShape = permute(shape, perm);
  const inStrides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1]! * shape[d + 1]!;
  const strides = perm.map((p) => inStrides[p]!);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < data.length; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += idx[d]! * strides[d]!;
    out[i] = data[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** TFLite tensor type of a tinyvision dtype. @internal */
export const TFL_TYPES: Readonly<Record<DType, TensorType | undefined>> = {
  float32: TensorType.FLOAT32,
  float16: TensorType.FLOAT16,
  bfloat16: undefined,
  int8: TensorType.INT8,
  uint8: TensorType.UINT8,
  int32: TensorType.INT32,
  bool: TensorType.BOOL,
};

interface Slot {
  readonly tensor: number;
  readonly layout: Layout;
}

/** Builtin options of an operator: its options table type and field values. @internal */
export interface OpOptions {
  readonly type: BuiltinOptions;
  readonly values?: Readonly<Record<string, TflOptionValue>>;
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** The graph-to-TFLite conversion state (see the file comment for the layout rules). @internal */
export class TflContext {
  readonly tensors: TflTensor[] = [];
  readonly operators: TflOperator[] = [];
  readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  private readonly slots = new Map<string, Slot>();
  private readonly converted = new Map<string, number>();
  private readonly names = new Set<string>();
  /** QDQ form: float value read through DequantizeLinear → the quantized value it reads. */
  readonly alias = new Map<string, string>();
  /** QDQ form: float op output quantized by a single QuantizeLinear → that quantized value. */
  readonly requant = new Map<string, string>();
  constructor(readonly graph: Graph) {}

  /** The value actually stored for `name` (through QDQ aliases). */
  resolve(name: string): string {
    return this.alias.get(name) ?? name;
  }

  /** An UnsupportedOpError naming the node (for `throw`). */
  unsupported(node: Node, why: string): UnsupportedOpError {
    return new UnsupportedOpError(`exportTflite: op '${node.op}' (node '${node.name}') ${why}`);
  }

  /** Static NCHW (graph) shape of a value. */
  shape(name: string): number[] {
    const v = this.graph.values.get(name);
    if (!v) throw new UnsupportedOpError(`exportTflite: value '${name}' has no value info`);
    return v.shape as number[];
  }

  /** dtype of a value. */
  dtype(name: string): DType {
    const v = this.graph.values.get(name);
    if (!v) throw new UnsupportedOpError(`exportTflite: value '${name}' has no value info`);
    return v.dtype;
  }

  /** Quantization of a value, if any. */
  quant(name: string): QuantParams | undefined {
    return this.graph.values.get(name)?.quant;
  }

  /** The initializer of a constant value. */
  init(name: string | null | undefined): Initializer | undefined {
    return name ? this.graph.initializers.get(this.resolve(name)) : undefined;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds a tensor (with a new buffer when `data` is given) and returns its index. */
  addTensor(
    name: string,
    shape: readonly number[],
    type: TensorType,
    data?: ArrayBufferView,
    quant?: TflQuant,
  ): number {
    let buffer = 0;
    if (data) buffer = this.buffers.push(bytesOf(data)) - 1;
    const t: TflTensor = quant
      ? { name: this.uniqueName(name), shape: [...shape], type, buffer, quant }
      : { name: this.uniqueName(name), shape: [...shape], type, buffer };
    return this.tensors.push(t) - 1;
  }

  /** A float32 constant. */
  constF32(name: string, data: Float32Array | readonly number[], shape: readonly number[]): number {
    return this.addTensor(name, shape, TensorType.FLOAT32, Float32Array.from(data));
  }

  /** An int32 constant. */
  constI32(name: string, data: readonly number[], shape: readonly number[] = [data.length]): number {
    return this.addTensor(name, shape, TensorType.INT32, Int32Array.from(data));
  }

  /** An activation tensor (no buffer) of the given stored shape. */
  tmp(
    name: string,
    shape: readonly number[],
    type: TensorType = TensorType.FLOAT32,
    quant?: TflQuant,
  ): number {
    return this.addTensor(name, shape, type, undefined, quant);
  }

  /** Appends an operator. */
  op(
    code: BuiltinOperator,
    inputs: readonly number[],
    outputs: readonly number[],
    options?: OpOptions,
    version = 1,
  ): void {
    this.operators.push({
      code,
      version,
      inputs: [...inputs],
      outputs: [...outputs],
      optionsType: options?.type ?? BuiltinOptions.NONE,
      options: options?.values ?? {},
    });
  }

  /** Binds a graph value to a tensor in a layout. */
  define(name: string, tensor: number, layout: Layout): void {
    this.slots.set(name, { tensor, layout });
  }

  /** Whether a value is a graph initializer. */
  isConst(name: string): boolean {
    return this.graph.initializers.has(this.resolve(name));
  }

  /** The layout a value is currently stored in (constants: 'plain'; materialised on demand). */
  layoutOf(name: string): Layout {
    return this.slots.get(this.resolve(name))?.layout ?? 'plain';
  }

  /** Stored shape of a value in a layout. */
  storedShape(name: string, layout: Layout): number[] {
    const s = this.shape(name);
    return layout === 'nhwc' && s.length === 4 ? permute(s, TO_NHWC) : s;
  }

  /** The quantization of a value in TFLite form, its axis moved with the layout. */
  tflQuant(name: string, layout: Layout): TflQuant | undefined {
    const q = this.quant(name);
    if (!q) return undefined;
    const rank = this.shape(name).length;
    const axis = q.axis ?? 0;
    return {
      scale: [...q.scale],
      zeroPoint: [...q.zeroPoint],
      axis: layout === 'nhwc' && rank === 4 && q.axis !== undefined ? nhwcAxis(axis) : axis,
    };
  }

  /** The tensor type of a value. */
  tflType(name: string): TensorType {
    const dt = this.dtype(name);
    const t = TFL_TYPES[dt];
    if (t === undefined) throw new UnsupportedOpError(`exportTflite: value '${name}' has dtype ${dt}`);
    return t;
  }

  /** Creates the tensor of a node output in a layout and binds it. */
  out(name: string, layout: Layout): number {
    const rank = this.shape(name).length;
    const l: Layout = rank === 4 ? layout : 'plain';
    const q = this.requant.get(name);
    const typed = q ?? name;
    const t = this.tmp(typed, this.storedShape(name, l), this.tflType(typed), this.tflQuant(typed, l));
    this.define(name, t, l);
    if (q) this.define(q, t, l);
    return t;
  }

  /**
   * The tensor holding a value in the requested layout: a constant is materialised (permuted for NHWC), a
   * computed value in the other layout goes through one cached TRANSPOSE.
   */
  get(name: string, layout: Layout): number {
    name = this.resolve(name);
    const rank = this.shape(name).length;
    const want: Layout = rank === 4 ? layout : 'plain';
    const slot = this.slots.get(name);
    if (slot && slot.layout === want) return slot.tensor;
    const key = `${name}\u0000${want}`;
    const cached = this.converted.get(key);
    if (cached !== undefined) return cached;
    let t: number;
    const init = this.graph.initializers.get(name);
    if (init && !slot) {
      t = this.constant(init, want);
      if (want === 'plain') this.define(name, t, 'plain');
    } else if (slot) {
      const perm = want === 'nhwc' ? TO_NHWC : TO_NCHW;
      t = this.tmp(
        `${name}:${want}`,
        this.storedShape(name, want),
        this.tflType(name),
        this.tflQuant(name, want),
      );
      this.op(BuiltinOperator.TRANSPOSE, [slot.tensor, this.constI32(`${name}:perm`, perm)], [t], {
        type: BuiltinOptions.TransposeOptions,
      });
    } else {
      throw new UnsupportedOpError(`exportTflite: value '${name}' is read before it is computed`);
    }
    this.converted.set(key, t);
    return t;
  }

  /** Writes an initializer as a constant tensor in a layout. */
  constant(init: Initializer, layout: Layout): number {
    const type = TFL_TYPES[init.dtype];
    if (type === undefined) {
      throw new UnsupportedOpError(`exportTflite: initializer '${init.name}' has dtype ${init.dtype}`);
    }
    let data = init.data as ArrayBufferView & ArrayLike<number>;
    let shape = [...init.shape];
    if (layout === 'nhwc' && shape.length === 4) {
      const Ctor = data.constructor as new (n: number) => typeof data & { [i: number]: number };
      data = transposeData(data, shape, TO_NHWC, (n) => new Ctor(n));
      shape = permute(shape, TO_NHWC);
    }
    const q = init.quant;
    const quant = q
      ? {
          scale: [...q.scale],
          zeroPoint: [...q.zeroPoint],
          axis: layout === 'nhwc' && init.shape.length === 4 ? nhwcAxis(q.axis ?? 0) : (q.axis ?? 0),
        }
      : undefined;
    return this.addTensor(init.name, shape, type, data, quant);
  }

  /**
   * A constant viewed as `view` (same element count), transposed by `perm`, keeping its dtype; per-channel
   * quantization moves to `quantAxis` (the output-channel axis of the new layout).
   */
  permutedConstant(
    init: Initializer,
    view: readonly number[],
    perm: readonly number[],
    quantAxis: number,
    finalShape?: readonly number[],
  ): number {
    const data = init.data as ArrayBufferView & ArrayLike<number>;
    const Ctor = data.constructor as new (n: number) => typeof data & { [i: number]: number };
    const out = transposeData(data, view, perm, (n) => new Ctor(n));
    const shape = finalShape ?? permute(view, perm);
    const type = TFL_TYPES[init.dtype];
    if (type === undefined)
      throw new UnsupportedOpError(`exportTflite: initializer '${init.name}' has dtype ${init.dtype}`);
    const q = init.quant;
    const quant = q
      ? { scale: [...q.scale], zeroPoint: [...q.zeroPoint], axis: q.axis === undefined ? 0 : quantAxis }
      : undefined;
    return this.addTensor(init.name, shape, type, out, quant);
  }

  /**
   * A constant broadcast-compatible with a rank-4 NHWC operand: padded with leading 1s to rank 4, then
   * permuted to NHWC.
   */
  constantNhwc(init: Initializer): number {
    if (init.shape.length === 4) return this.constant(init, 'nhwc');
    const shape = [...new Array<number>(4 - init.shape.length).fill(1), ...init.shape];
    return this.constant({ ...init, shape }, 'nhwc');
  }
}
