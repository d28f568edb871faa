// importMLPackage: Core ML ML Program package (the ops exportMLPackage writes) → Graph.
import {
  FormatError,
  type Graph,
  type Initializer,
  inferNode,
  inferShapes,
  makeGraph,
  type Node,
  toFloat32,
  UnsupportedOpError,
  type ValueInfo,
} from '@tinyvision/tensor';
import { DataType, type Operation, type Value, type ValueType } from './generated/MIL_pb.js';
import type { Model } from './generated/Model_pb.js';
import { BLOB_DTYPES, blobBytes, readBlob, WEIGHT_BIN_REF } from './mlprogram-blob.js';
import { type MLPackage, MLPROGRAM_LABELS_KEY } from './mlprogram-writer.js';
import { decodeCoreMLModel } from './nn-reader.js';

const MAX_DIM = 1 << 24;
const MAX_ELEMENTS = 1 << 28;

/** A decoded constant. */
interface Const {
  readonly dataType: DataType;
  readonly shape: number[];
  readonly num?: Float32Array | Int32Array;
  readonly bools?: boolean[];
  readonly strings?: string[];
}

/** Shape of a tensor ValueType, checked. @internal */
export function shapeOfType(
  t: ValueType | undefined,
  where: string,
): { dataType: DataType; shape: number[] } {
  if (t?.type.case !== 'tensorType') throw new FormatError(`mlpackage: ${where}: not a tensor type`);
  const tt = t.type.value;
  const shape = tt.dimensions.map((d) => {
    if (d.dimension.case !== 'constant') throw new FormatError(`mlpackage: ${where}: non-constant dimension`);
    const s = Number(d.dimension.value.size);
    if (!Number.isInteger(s) || s < 0 || s > MAX_DIM)
      throw new FormatError(`mlpackage: ${where}: bad dimension ${s}`);
    return s;
  });
  if (Number(tt.rank) !== shape.length) {
    throw new FormatError(`mlpackage: ${where}: rank ${tt.rank} but ${shape.length} dimensions`);
  }
  if (shape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS)
    throw new FormatError(`mlpackage: ${where}: tensor too large`);
  return { dataType: tt.dataType, shape };
}

/**
 * Decodes a const `Value` (immediate or weight.bin blob) with all bounds checks.
 * @internal
 */
export function constValue(v: Value | undefined, weights: Uint8Array, where: string): Const {
  if (!v) throw new FormatError(`mlpackage: ${where}: const without a value`);
  const { dataType, shape } = shapeOfType(v.type, where);
  const count = shape.reduce((a, b) => a * b, 1);
  const check = (n: number) => {
    if (n !== count)
      throw new FormatError(`mlpackage: ${where}: ${n} values for shape [${shape.join(', ')}]`);
  };
  const V = v.value;
  if (V.case === 'blobFileValue') {
    if (V.value.fileName !== WEIGHT_BIN_REF) {
      throw new FormatError(
        `mlpackage: ${where}: blob file '${V.value.fileName}', expected '${WEIGHT_BIN_REF}'`,
      );
    }
    const b = readBlob(weights, V.value.offset, where);
    const want = { [DataType.FLOAT16]: 1, [DataType.FLOAT32]: 2, [DataType.UINT8]: 3, [DataType.INT8]: 4 }[
      dataType as number
    ];
    if (want !== b.dtype) {
      throw new FormatError(
        `mlpackage: ${where}: blob dtype ${BLOB_DTYPES[b.dtype]?.name ?? b.dtype} does not match the declared type ${DataType[dataType] ?? dataType}`,
      );
    }
    const raw = blobBytes(weights, b);
    let num: Float32Array | Int32Array;
    if (b.dtype === 2) num = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    else if (b.dtype === 1)
      num = toFloat32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2), 'float16');
    else if (b.dtype === 4) num = Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    else num = Int32Array.from(raw);
    check(num.length);
    return { dataType, shape, num };
  }
  if (V.case !== 'immediateValue' || V.value.value.case !== 'tensor') {
    throw new FormatError(`mlpackage: ${where}: unsupported const value '${V.case ?? 'unset'}'`);
  }
  const t = V.value.value.value.value;
  switch (t.case) {
    case 'floats':
      check(t.value.values.length);
      return { dataType, shape, num: Float32Array.from(t.value.values) };
    case 'ints':
      check(t.value.values.length);
      return { dataType, shape, num: Int32Array.from(t.value.values) };
    case 'bools':
      check(t.value.values.length);
      return { dataType, shape, bools: [...t.value.values] };
    case 'strings':
      check(t.value.values.length);
      return { dataType, shape, strings: [...t.value.values] };
    default:
      throw new FormatError(`mlpackage: ${where}: unsupported immediate '${t.case ?? 'unset'}'`);
  }
}

/**
 * Parses Manifest.json and checks it names the root model at the standard path.
 * @internal
 */
export function parseManifest(text: string): {
  rootPath: string;
  entries: Record<string, Record<string, unknown>>;
} {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new FormatError(
      `mlpackage: Manifest.json is not JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (typeof m !== 'object' || m === null) throw new FormatError('mlpackage: Manifest.json is not an object');
  const o = m as Record<string, unknown>;
  if (o.fileFormatVersion !== '1.0.0') {
    throw new FormatError(
      `mlpackage: Manifest.json fileFormatVersion '${String(o.fileFormatVersion)}', expected '1.0.0'`,
    );
  }
  const entries = o.itemInfoEntries;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw new FormatError('mlpackage: Manifest.json has no itemInfoEntries object');
  }
  for (const [id, e] of Object.entries(entries as Record<string, unknown>)) {
    const it = e as Record<string, unknown> | null;
    for (const k of ['path', 'name', 'author', 'description']) {
      if (typeof it?.[k] !== 'string')
        throw new FormatError(`mlpackage: Manifest.json entry '${id}': '${k}' is not a string`);
    }
    const path = it?.path as string;
    if (path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '')) {
      throw new FormatError(`mlpackage: Manifest.json entry '${id}': path '${path}' escapes the package`);
    }
  }
  const root = (entries as Record<string, Record<string, unknown>>)[String(o.rootModelIdentifier)];
  if (!root)
    throw new FormatError(
      `mlpackage: Manifest.json rootModelIdentifier '${String(o.rootModelIdentifier)}' names no entry`,
    );
  return {
    rootPath: `Data/${root.path as string}`,
    entries: entries as Record<string, Record<string, unknown>>,
  };
}

type Attrs = Record<string, unknown>;

class Reader {
  readonly nodes: Node[] = [];
  readonly inits = new Map<string, Initializer>();
  readonly consts = new Map<string, Const>();
  readonly infos = new Map<string, ValueInfo>();
  private k = 0;
  constructor(readonly weights: Uint8Array) {}

  where(op: Operation): string {
    return `op '${op.outputs[0]?.name ?? '?'}' (${op.type})`;
  }

  /** Names bound to input `key` of `op`. */
  names(op: Operation, key: string, required: boolean): string[] {
    const a = op.inputs[key];
    if (!a || a.arguments.length === 0) {
      if (required) throw new FormatError(`mlpackage: ${this.where(op)}: missing input '${key}'`);
      return [];
    }
    return a.arguments.map((b, i) => {
      if (b.binding.case === 'name') return b.binding.value;
      if (b.binding.case === 'value') {
        const name = `${key}__v${this.k++}`;
        this.consts.set(name, constValue(b.binding.value, this.weights, `${this.where(op)} input '${key}'`));
        return name;
      }
      throw new FormatError(`mlpackage: ${this.where(op)}: input '${key}' binding ${i} is empty`);
    });
  }

  constOf(op: Operation, key: string): Const | undefined {
    const [n] = this.names(op, key, false);
    if (n === undefined) return undefined;
    const c = this.consts.get(n);
    if (!c) throw new UnsupportedOpError(`mlpackage: ${this.where(op)}: input '${key}' must be a constant`);
    return c;
  }
  ints(op: Operation, key: string, dflt?: number[]): number[] {
    const c = this.constOf(op, key);
    if (!c) {
      if (dflt) return dflt;
      throw new FormatError(`mlpackage: ${this.where(op)}: missing input '${key}'`);
    }
    if (!(c.num instanceof Int32Array))
      throw new FormatError(`mlpackage: ${this.where(op)}: input '${key}' is not int32`);
    return [...c.num];
  }
  float(op: Operation, key: string, dflt?: number): number {
    const c = this.constOf(op, key);
    if (!c) {
      if (dflt !== undefined) return dflt;
      throw new FormatError(`mlpackage: ${this.where(op)}: missing input '${key}'`);
    }
    const v = c.num?.[0];
    if (c.num?.length !== 1 || v === undefined)
      throw new FormatError(`mlpackage: ${this.where(op)}: input '${key}' is not a scalar`);
    return v;
  }
  bool(op: Operation, key: string, dflt: boolean): boolean {
    const c = this.constOf(op, key);
    if (!c) return dflt;
    if (c.bools?.length !== 1)
      throw new FormatError(`mlpackage: ${this.where(op)}: input '${key}' is not a bool`);
    return c.bools[0] as boolean;
  }
  str(op: Operation, key: string, dflt: string): string {
    const c = this.constOf(op, key);
    if (!c) return dflt;
    if (c.strings?.length !== 1)
      throw new FormatError(`mlpackage: ${this.where(op)}: input '${key}' is not a string`);
    return c.strings[0] as string;
  }

  /** A float tensor operand: an activation, or a float const turned into an initializer. */
  tensor(op: Operation, key: string, required = true): string | null {
    const [n] = this.names(op, key, required);
    if (n === undefined) return null;
    if (this.infos.has(n)) return n;
    const c = this.consts.get(n);
    if (!c) throw new FormatError(`mlpackage: ${this.where(op)}: input '${n}' is not defined before it`);
    if (!(c.num instanceof Float32Array))
      throw new UnsupportedOpError(`mlpackage: ${this.where(op)}: constant '${n}' is not float`);
    const init: Initializer = { name: n, dtype: 'float32', shape: c.shape, data: c.num };
    this.inits.set(n, init);
    this.infos.set(n, { name: n, shape: c.shape, dtype: 'float32' });
    return n;
  }

  node(op: Operation, kind: string, inputs: (string | null)[], attrs: Attrs = {}, out?: string): string {
    const y = out ?? (op.outputs[0]?.name as string);
    const n: Node = {
      name: `${kind}_${this.k++}`,
      op: kind,
      inputs,
      outputs: [y],
      attrs: attrs as Node['attrs'],
    };
    const ins = inputs.map((i) => (i === null ? null : (this.infos.get(i) as ValueInfo)));
    inferNode(n, ins).forEach((o, k) => {
      const name = n.outputs[k] as string;
      this.infos.set(name, { name, ...o });
    });
    this.nodes.push(n);
    return y;
  }

  rank(name: string | null): number {
    return (this.infos.get(name ?? '')?.shape.length ?? 0) || 1;
  }
}

const UNARY: Readonly<Record<string, string>> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  silu: 'Silu',
  tanh: 'Tanh',
};
const BINARY: Readonly<Record<string, string>> = { add: 'Add', mul: 'Mul', sub: 'Sub' };
const pads4 = (p: number[]): [number, number, number, number] => [p[0] ?? 0, p[2] ?? 0, p[1] ?? 0, p[3] ?? 0];

function readOp(r: Reader, op: Operation): void {
  const where = r.where(op);
  if (op.outputs.length !== 1 || !op.outputs[0]?.name)
    throw new FormatError(`mlpackage: ${where}: expected one named output`);
  const y = op.outputs[0].name;
  if (r.infos.has(y) || r.consts.has(y))
    throw new FormatError(`mlpackage: ${where}: output '${y}' is defined twice`);
  const t = op.type;
  if (t === 'const') {
    r.consts.set(y, constValue(op.attributes.val, r.weights, where));
    return;
  }
  if (t === 'cast') {
    const src = r.constOf(op, 'x');
    if (
      !src ||
      src.dataType !== DataType.FLOAT16 ||
      r.str(op, 'dtype', '') !== 'fp32' ||
      !(src.num instanceof Float32Array)
    ) {
      throw new UnsupportedOpError(`mlpackage: ${where}: only fp16 → fp32 casts of constants are supported`);
    }
    r.consts.set(y, { dataType: DataType.FLOAT32, shape: src.shape, num: src.num });
    return;
  }
  if (t === 'constexpr_affine_dequantize') {
    const q = r.constOf(op, 'quantized_data');
    const zp = r.constOf(op, 'zero_point');
    const sc = r.constOf(op, 'scale');
    const axis = r.ints(op, 'axis')[0] ?? 0;
    if (!(q?.num instanceof Int32Array) || !zp?.num || !(sc?.num instanceof Float32Array)) {
      throw new FormatError(`mlpackage: ${where}: quantized_data/zero_point/scale have the wrong types`);
    }
    if (axis < 0 || axis >= q.shape.length)
      throw new FormatError(`mlpackage: ${where}: axis ${axis} out of range`);
    const dim = q.shape[axis] as number;
    const inner = q.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const per = (v: Float32Array | Int32Array, i: number) =>
      v.length === 1 ? (v[0] as number) : (v[Math.floor(i / inner) % dim] as number);
    if ((sc.num.length !== 1 && sc.num.length !== dim) || (zp.num.length !== 1 && zp.num.length !== dim)) {
      throw new FormatError(
        `mlpackage: ${where}: scale/zero_point size does not match axis ${axis} (${dim})`,
      );
    }
    const out = new Float32Array(q.num.length);
    for (let i = 0; i < out.length; i++) out[i] = per(sc.num, i) * ((q.num[i] as number) - per(zp.num, i));
    r.consts.set(y, { dataType: DataType.FLOAT32, shape: q.shape, num: out });
    return;
  }
  const unary = UNARY[t];
  if (unary) {
    r.node(op, unary, [r.tensor(op, 'x')]);
    return;
  }
  const bin = BINARY[t];
  if (bin) {
    r.node(op, bin, [r.tensor(op, 'x'), r.tensor(op, 'y')]);
    return;
  }
  switch (t) {
    case 'clip': {
      const x = r.tensor(op, 'x');
      const min = r.float(op, 'alpha');
      const max = r.float(op, 'beta');
      if (min === 0 && max === 6) r.node(op, 'Relu6', [x]);
      else r.node(op, 'Clip', [x], { min, max });
      return;
    }
    case 'sigmoid_hard': {
      const x = r.tensor(op, 'x');
      if (Math.abs(r.float(op, 'alpha') - 1 / 6) > 1e-7 || r.float(op, 'beta') !== 0.5) {
        throw new UnsupportedOpError(
          `mlpackage: ${where}: only sigmoid_hard(alpha 1/6, beta 0.5) is supported`,
        );
      }
      r.node(op, 'HardSigmoid', [x]);
      return;
    }
    case 'conv': {
      const x = r.tensor(op, 'x');
      const w = r.tensor(op, 'weight');
      const pt = r.str(op, 'pad_type', 'valid');
      if (pt !== 'custom' && pt !== 'valid')
        throw new UnsupportedOpError(`mlpackage: ${where}: pad_type '${pt}'`);
      r.node(op, 'Conv2D', [x, w, r.tensor(op, 'bias', false)], {
        strides: r.ints(op, 'strides', [1, 1]),
        pads: pt === 'custom' ? pads4(r.ints(op, 'pad', [0, 0, 0, 0])) : [0, 0, 0, 0],
        dilations: r.ints(op, 'dilations', [1, 1]),
        groups: r.ints(op, 'groups', [1])[0] ?? 1,
      });
      return;
    }
    case 'reduce_mean': {
      const x = r.tensor(op, 'x');
      const rank = r.rank(x);
      const axes = r
        .ints(op, 'axes')
        .map((a) => (a + rank) % rank)
        .sort((p, q) => p - q);
      const keepDims = r.bool(op, 'keep_dims', false);
      if (rank === 4 && keepDims && axes.join() === '2,3') r.node(op, 'GlobalAvgPool', [x]);
      else r.node(op, 'Mean', [x], { axes, keepDims });
      return;
    }
    case 'reshape':
      r.node(op, 'Reshape', [r.tensor(op, 'x')], { shape: r.ints(op, 'shape') });
      return;
    case 'linear':
      r.node(op, 'Linear', [r.tensor(op, 'x'), r.tensor(op, 'weight'), r.tensor(op, 'bias', false)]);
      return;
    case 'matmul':
      r.node(op, 'MatMul', [r.tensor(op, 'x'), r.tensor(op, 'y')], {
        transposeA: r.bool(op, 'transpose_x', false),
        transposeB: r.bool(op, 'transpose_y', false),
      });
      return;
    case 'softmax': {
      const x = r.tensor(op, 'x');
      const rank = r.rank(x);
      r.node(op, 'Softmax', [x], { axis: (((r.ints(op, 'axis', [-1])[0] ?? -1) % rank) + rank) % rank });
      return;
    }
    case 'transpose':
      r.node(op, 'Transpose', [r.tensor(op, 'x')], { perm: r.ints(op, 'perm') });
      return;
    case 'concat': {
      if (r.bool(op, 'interleave', false))
        throw new UnsupportedOpError(`mlpackage: ${where}: interleaved concat`);
      const values = r.names(op, 'values', true).map((n) => {
        if (!r.infos.has(n)) throw new UnsupportedOpError(`mlpackage: ${where}: concat of constant '${n}'`);
        return n;
      });
      const rank = r.rank(values[0] ?? null);
      r.node(op, 'Concat', values, { axis: (((r.ints(op, 'axis')[0] ?? 0) % rank) + rank) % rank });
      return;
    }
    case 'slice_by_index': {
      const x = r.tensor(op, 'x');
      for (const m of ['begin_mask', 'end_mask', 'squeeze_mask']) {
        const c = r.constOf(op, m);
        if (c?.bools?.some(Boolean))
          throw new UnsupportedOpError(`mlpackage: ${where}: slice masks are not supported`);
      }
      const begin = r.ints(op, 'begin');
      r.node(op, 'Slice', [x], {
        begin,
        end: r.ints(op, 'end'),
        steps: r.ints(
          op,
          'stride',
          begin.map(() => 1),
        ),
      });
      return;
    }
    case 'layer_norm': {
      const x = r.tensor(op, 'x');
      const rank = r.rank(x);
      const axes = r
        .ints(op, 'axes')
        .map((a) => (a + rank) % rank)
        .sort((p, q) => p - q);
      if (axes.some((a, i) => a !== rank - axes.length + i)) {
        throw new UnsupportedOpError(
          `mlpackage: ${where}: layer_norm over non-trailing axes [${axes.join(', ')}]`,
        );
      }
      r.node(op, 'LayerNorm', [x, r.tensor(op, 'gamma', false), r.tensor(op, 'beta', false)], {
        epsilon: r.float(op, 'epsilon', 1e-5),
        normalizedDims: axes.length,
      });
      return;
    }
    case 'max_pool':
    case 'avg_pool': {
      const x = r.tensor(op, 'x');
      const pt = r.str(op, 'pad_type', '');
      if (pt !== 'custom' && pt !== 'valid')
        throw new UnsupportedOpError(`mlpackage: ${where}: pad_type '${pt}'`);
      r.node(op, t === 'max_pool' ? 'MaxPool2D' : 'AvgPool2D', [x], {
        kernelSize: r.ints(op, 'kernel_sizes'),
        strides: r.ints(op, 'strides', [1, 1]),
        pads: pt === 'custom' ? pads4(r.ints(op, 'pad', [0, 0, 0, 0])) : [0, 0, 0, 0],
        dilations: [1, 1],
        ceilMode: r.bool(op, 'ceil_mode', false),
        countIncludePad: !r.bool(op, 'exclude_padding_from_average', false),
      });
      return;
    }
    case 'upsample_nearest_neighbor':
    case 'upsample_bilinear': {
      const x = r.tensor(op, 'x');
      const xs = r.infos.get(x ?? '')?.shape;
      if (xs?.length !== 4) throw new FormatError(`mlpackage: ${where}: upsample input must be rank 4`);
      const sh = r.float(op, 'scale_factor_height', 1);
      const sw = r.float(op, 'scale_factor_width', 1);
      const size = [Math.floor((xs[2] as number) * sh), Math.floor((xs[3] as number) * sw)];
      if (!(size[0] && size[1] && size[0] > 0 && size[1] > 0 && size[0] <= MAX_DIM && size[1] <= MAX_DIM)) {
        throw new FormatError(`mlpackage: ${where}: bad scale factors ${sh}×${sw}`);
      }
      const nearest = t === 'upsample_nearest_neighbor';
      r.node(op, 'Resize', [x], {
        size,
        mode: nearest ? 'nearest' : 'bilinear',
        coordinateMode: nearest
          ? 'asymmetric'
          : r.bool(op, 'align_corners', false)
            ? 'align_corners'
            : 'half_pixel',
      });
      return;
    }
    default:
      throw new UnsupportedOpError(`mlpackage: ${where}: op type '${t}' is not supported by importMLPackage`);
  }
}

/** The ML Program of a decoded model, checked for the `main` function and its active block. @internal */
export function mainBlock(model: Model) {
  if (model.Type.case !== 'mlProgram') {
    throw new UnsupportedOpError(
      `mlpackage: model type '${model.Type.case ?? 'unset'}' is not an ML Program`,
    );
  }
  const fn = model.Type.value.functions.main;
  if (!fn) throw new FormatError("mlpackage: the ML Program has no function 'main'");
  const block = fn.blockSpecializations[fn.opset];
  if (!block) throw new FormatError(`mlpackage: function 'main' has no block for its opset '${fn.opset}'`);
  return { fn, block };
}

/**
 * Reads a Core ML ML Program package (the ops {@link exportMLPackage} writes) into a graph. Weight blobs are read
 * from `weights` with bounds checks; fp16 blobs behind a `cast` and int8 blobs behind
 * `constexpr_affine_dequantize` become float32 initializers. The labels of a classifier written by
 * {@link exportMLPackage} go to `metadata.labels` (JSON).
 * @param pkg - the package files (Manifest.json text, model.mlmodel bytes, weight.bin bytes)
 * @returns the graph (shapes inferred)
 * @throws {FormatError} for a malformed manifest, model or weight file (naming the op, byte offset)
 * @throws {UnsupportedOpError} for an op or option the reader does not map
 * @example
 * ```ts
 * const g = importMLPackage(exportMLPackage(graph));
 * ```
 */
export function importMLPackage(pkg: MLPackage): Graph {
  parseManifest(pkg.manifest);
  const model = decodeCoreMLModel(pkg.model);
  const { fn, block } = mainBlock(model);
  if (fn.inputs.length !== 1)
    throw new FormatError(`mlpackage: function 'main' has ${fn.inputs.length} inputs, expected 1`);
  const input = fn.inputs[0];
  const inName = input?.name ?? '';
  const { dataType, shape } = shapeOfType(input?.type, `input '${inName}'`);
  if (dataType !== DataType.FLOAT32 || shape.length === 0 || shape.some((d) => d <= 0)) {
    throw new FormatError(`mlpackage: input '${inName}' must be a non-empty float32 tensor`);
  }
  const r = new Reader(pkg.weights);
  r.infos.set(inName, { name: inName, shape, dtype: 'float32' });
  for (const op of block.operations) readOp(r, op);
  if (block.outputs.length === 0) throw new FormatError('mlpackage: the main block has no outputs');
  for (const o of block.outputs) {
    if (!r.infos.has(o)) throw new FormatError(`mlpackage: block output '${o}' is produced by no op`);
  }
  const md = model.description?.metadata;
  const metadata: Record<string, string> = { ...(md?.userDefined ?? {}) };
  const labels = metadata[MLPROGRAM_LABELS_KEY];
  if (labels !== undefined) metadata.labels = labels;
  return inferShapes(
    makeGraph({
      name: md?.shortDescription || 'mlprogram',
      inputs: [inName],
      outputs: [...block.outputs],
      nodes: r.nodes,
      values: [{ name: inName, shape, dtype: 'float32' }],
      initializers: [...r.inits.values()],
      metadata,
    }),
  );
}
