// The state of importTflite: tensor names, initializers, nodes, and the QDQ wrapping of quantized tensors.
import {
  type Attrs,
  type DType,
  FormatError,
  float16BitsToFloat32,
  type Initializer,
  type Node,
  type QuantParams,
  UnsupportedOpError,
  type ValueInfo,
} from '@tinyvision/tensor';
import { TensorType } from './generated/schema_generated.js';
import { TENSOR_TYPE_BYTES, type TflTensor } from './ir.js';

/** Most elements a tensor may declare (caps allocations from hostile shapes). */
const MAX_ELEMENTS = 1 << 28;

const DTYPES: Partial<Record<TensorType, DType>> = {
  [TensorType.FLOAT32]: 'float32',
  [TensorType.FLOAT16]: 'float16',
  [TensorType.INT32]: 'int32',
  [TensorType.INT8]: 'int8',
  [TensorType.UINT8]: 'uint8',
  [TensorType.BOOL]: 'bool',
};

function typedArray(dtype: DType, bytes: Uint8Array, n: number): Initializer['data'] {
  const copy = bytes.slice(0, n * (TENSOR_TYPE_BYTES[TFL_OF[dtype]] ?? 1));
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'float16':
      return new Uint16Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

const TFL_OF: Record<DType, TensorType> = {
  float32: TensorType.FLOAT32,
  float16: TensorType.FLOAT16,
  bfloat16: TensorType.BFLOAT16,
  int32: TensorType.INT32,
  int8: TensorType.INT8,
  uint8: TensorType.UINT8,
  bool: TensorType.BOOL,
};

/** Builds the graph while walking the operators (used by importTflite). @internal */
export class Importer {
  readonly nodes: Node[] = [];
  readonly inits = new Map<string, Initializer>();
  readonly inputInfos: ValueInfo[] = [];
  private readonly names: string[];
  private readonly used = new Set<string>();
  private readonly dq = new Map<number, string>();
  private count = 0;

  constructor(
    readonly tensors: readonly TflTensor[],
    readonly buffers: readonly Uint8Array[],
  ) {
    this.names = tensors.map((t, i) => this.unique(t.name || `t${i}`));
  }

  unique(base: string): string {
    let n = base;
    for (let i = 1; this.used.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }

  fresh(base: string): string {
    return this.unique(`${base}_${this.count++}`);
  }

  tensor(i: number): TflTensor {
    const t = this.tensors[i];
    if (!t) throw new FormatError(`tflite: tensor index ${i} out of range`);
    return t;
  }

  dtype(i: number): DType {
    const t = this.tensor(i);
    const d = DTYPES[t.type];
    if (!d)
      throw new UnsupportedOpError(
        `importTflite: tensor '${t.name}' has unsupported type ${TensorType[t.type] ?? t.type}`,
      );
    return d;
  }

  shape(i: number): number[] {
    const s = this.tensor(i).shape;
    let n = 1;
    for (const d of s) {
      if (!Number.isInteger(d) || d < 0) throw new FormatError(`tflite: tensor ${i} has dim ${d}`);
      n *= d;
    }
    if (s.length > 8 || n > MAX_ELEMENTS)
      throw new FormatError(`tflite: tensor ${i} shape [${s}] is too large`);
    return [...s];
  }

  quant(i: number): QuantParams | undefined {
    const q = this.tensor(i).quant;
    if (!q || q.scale.length === 0) return undefined;
    if (q.zeroPoint.length !== q.scale.length || q.scale.some((s) => !(s > 0) || !Number.isFinite(s))) {
      throw new FormatError(`tflite: tensor ${i} has invalid quantization parameters`);
    }
    const shape = this.shape(i);
    if (q.scale.length > 1 && (q.axis < 0 || q.axis >= shape.length || shape[q.axis] !== q.scale.length)) {
      throw new FormatError(
        `tflite: tensor ${i} has ${q.scale.length} scales for axis ${q.axis} of [${shape}]`,
      );
    }
    return q.scale.length > 1
      ? { scale: [...q.scale], zeroPoint: [...q.zeroPoint], axis: q.axis }
      : { scale: [...q.scale], zeroPoint: [...q.zeroPoint] };
  }

  isConst(i: number): boolean {
    const t = this.tensor(i);
    return (t.buffer !== 0 && (this.buffers[t.buffer]?.length ?? 0) > 0) || this.folded(i) !== undefined;
  }

  /** The float32 initializer a DEQUANTIZE of an fp16 constant was folded into. */
  folded(i: number): Initializer | undefined {
    return this.tensor(i).buffer === 0 ? this.inits.get(this.names[i]!) : undefined;
  }

  /** Constant data of tensor i (checked against its shape). */
  data(i: number): Initializer['data'] {
    const f = this.folded(i);
    if (f) return f.data;
    const t = this.tensor(i);
    const dtype = this.dtype(i);
    const n = this.shape(i).reduce((a, b) => a * b, 1);
    const bytes = this.buffers[t.buffer]!;
    const need = n * (TENSOR_TYPE_BYTES[t.type] ?? 1);
    if (bytes.length !== need) {
      throw new FormatError(`tflite: tensor '${t.name}' needs ${need} bytes, its buffer has ${bytes.length}`);
    }
    return typedArray(dtype, bytes, n);
  }

  /** Registers tensor i as an initializer (once) and returns its name. */
  constName(i: number): string {
    const name = this.names[i]!;
    if (!this.inits.has(name)) {
      const q = this.quant(i);
      let dtype = this.dtype(i);
      let data = this.data(i);
      if (dtype === 'float16') {
        data = Float32Array.from(data as Uint16Array, (b) => float16BitsToFloat32(b));
        dtype = 'float32';
      }
      const init: Initializer = { name, dtype, shape: this.shape(i), data, ...(q ? { quant: q } : {}) };
      this.inits.set(name, init);
    }
    return name;
  }

  /** A new initializer (e.g. a permuted weight). */
  addInit(base: string, init: Omit<Initializer, 'name'>): string {
    const name = this.fresh(base);
    this.inits.set(name, { ...init, name });
    return name;
  }

  /** Appends a node; returns its first output. */
  node(op: string, inputs: (string | null)[], outputs: string[], attrs: Attrs = {}): string {
    this.nodes.push({ name: this.fresh(op), op, inputs, outputs, attrs });
    return outputs[0]!;
  }

  /** The float value of tensor i: quantized tensors are read through DequantizeLinear. */
  input(i: number): string {
    if (i < 0) throw new FormatError('tflite: a required operator input is omitted (-1)');
    const name = this.isConst(i) ? this.constName(i) : this.names[i]!;
    if (!this.quant(i) || this.dtype(i) === 'float32') return name;
    const cached = this.dq.get(i);
    if (cached) return cached;
    const f = this.fresh(`${name}_dequant`);
    this.node('DequantizeLinear', [name], [f]);
    this.dq.set(i, f);
    return f;
  }

  /** A float initializer-or-value through DequantizeLinear when `name` is a quantized initializer. */
  floatOf(name: string): string {
    const init = this.inits.get(name);
    if (!init?.quant || init.dtype === 'float32') return name;
    const f = this.fresh(`${name}_dequant`);
    this.node('DequantizeLinear', [name], [f]);
    return f;
  }

  /** The float value an op writes for tensor i (quantized outputs get a QuantizeLinear). */
  output(i: number): string {
    const name = this.names[i]!;
    const q = this.quant(i);
    if (!q || this.dtype(i) === 'float32') return name;
    const f = this.fresh(`${name}_float`);
    const dtype = this.dtype(i);
    if (dtype !== 'int8' && dtype !== 'uint8')
      throw new UnsupportedOpError(`importTflite: quantized ${dtype} output`);
    this.pending.push(() =>
      this.node('QuantizeLinear', [f], [name], { quant: q, dtype } as unknown as Attrs),
    );
    return f;
  }
  readonly pending: (() => void)[] = [];

  /** Constant int32 values of tensor i. */
  ints(i: number, what: string): number[] {
    if (i < 0 || !this.isConst(i) || this.dtype(i) !== 'int32') {
      throw new UnsupportedOpError(`importTflite: ${what} must be a constant int32 tensor`);
    }
    return Array.from(this.data(i) as Int32Array);
  }

  name(i: number): string {
    return this.names[i]!;
  }
}
