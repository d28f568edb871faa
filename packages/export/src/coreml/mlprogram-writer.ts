// exportMLPackage: Graph → Core ML ML Program (`.mlpackage`: Manifest.json, model.mlmodel, weights/weight.bin).
import { create, toBinary } from '@bufbuild/protobuf';
import { fromFloat32, type Graph, GraphError, type Node, UnsupportedOpError } from '@tinyvision/tensor';
import {
  type CoreMLWeights,
  concrete,
  describeFeatures,
  type ExportCoreMLOptions,
  floatData,
  metadataOf,
  prepareGraph,
  quantizeRows,
  safeName,
} from './common.js';
import {
  Argument_BindingSchema,
  ArgumentSchema,
  BlockSchema,
  DataType,
  Dimension_ConstantDimensionSchema,
  DimensionSchema,
  FunctionSchema,
  NamedValueTypeSchema,
  type Operation,
  OperationSchema,
  ProgramSchema,
  TensorTypeSchema,
  TensorValueSchema,
  type Value,
  Value_BlobFileValueSchema,
  Value_ImmediateValueSchema,
  ValueSchema,
  type ValueType,
  ValueTypeSchema,
} from './generated/MIL_pb.js';
import { ModelDescriptionSchema, ModelSchema } from './generated/Model_pb.js';
import { BlobWriter, WEIGHT_BIN_REF } from './mlprogram-blob.js';
import { OPSET_SPEC_VERSION } from './mlprogram-ops.js';

/** An in-memory `.mlpackage`: the three files the package directory holds. */
export interface MLPackage {
  /** `Manifest.json` text. */
  readonly manifest: string;
  /** `Data/com.apple.CoreML/model.mlmodel`: a `Model` protobuf with an `mlProgram`. */
  readonly model: Uint8Array;
  /** `Data/com.apple.CoreML/weights/weight.bin` (MIL blob storage v2). */
  readonly weights: Uint8Array;
}

/** Package-relative paths of the model and the weights. */
export const MLPACKAGE_MODEL_PATH = 'Data/com.apple.CoreML/model.mlmodel';
/** Package-relative path of the weight file. */
export const MLPACKAGE_WEIGHTS_PATH = 'Data/com.apple.CoreML/weights/weight.bin';
/** Metadata key (`userDefined`) that holds a classifier's labels as JSON in an ML Program. */
export const MLPROGRAM_LABELS_KEY = 'com.tinyvision.labels';
/** Float constants with at least this many elements go to weight.bin; smaller ones stay in the proto. */
const BLOB_MIN = 16;

type Shape = readonly number[];

/** @internal */
export function tensorType(dataType: DataType, shape: Shape): ValueType {
  return create(ValueTypeSchema, {
    type: {
      case: 'tensorType',
      value: create(TensorTypeSchema, {
        dataType,
        rank: BigInt(shape.length),
        dimensions: shape.map((d) =>
          create(DimensionSchema, {
            dimension: {
              case: 'constant',
              value: create(Dimension_ConstantDimensionSchema, { size: BigInt(d) }),
            },
          }),
        ),
      }),
    },
  });
}

type Immediate =
  | { kind: 'floats'; values: readonly number[] }
  | { kind: 'ints'; values: readonly number[] }
  | { kind: 'bools'; values: readonly boolean[] }
  | { kind: 'strings'; values: readonly string[] };

function immediate(dataType: DataType, shape: Shape, v: Immediate): Value {
  return create(ValueSchema, {
    type: tensorType(dataType, shape),
    value: {
      case: 'immediateValue',
      value: create(Value_ImmediateValueSchema, {
        value: {
          case: 'tensor',
          value: create(TensorValueSchema, {
            value: { case: v.kind, value: { values: [...v.values] } } as never,
          }),
        },
      }),
    },
  });
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

class ProgramEmitter {
  readonly ops: Operation[] = [];
  readonly blobs = new BlobWriter();
  readonly shapes = new Map<string, Shape>();
  private readonly consts = new Map<string, string>();
  private k = 0;
  usesCoreML6 = false;
  constructor(
    readonly graph: Graph,
    readonly mode: CoreMLWeights,
  ) {}

  name(base: string): string {
    return `${safeName(base)}_${this.k++}`;
  }

  /** A `const` op (value in attributes `name`/`val`, as coremltools serializes it). */
  constOp(out: string, dataType: DataType, shape: Shape, val: Value): string {
    this.ops.push(
      create(OperationSchema, {
        type: 'const',
        outputs: [create(NamedValueTypeSchema, { name: out, type: tensorType(dataType, shape) })],
        attributes: {
          name: immediate(DataType.STRING, [], { kind: 'strings', values: [out] }),
          val,
        },
      }),
    );
    this.shapes.set(out, shape);
    return out;
  }

  ints(base: string, values: readonly number[], scalar = false): string {
    const shape = scalar ? [] : [values.length];
    return this.constOp(
      this.name(base),
      DataType.INT32,
      shape,
      immediate(DataType.INT32, shape, { kind: 'ints', values }),
    );
  }
  f32(base: string, value: number): string {
    return this.constOp(
      this.name(base),
      DataType.FLOAT32,
      [],
      immediate(DataType.FLOAT32, [], { kind: 'floats', values: [value] }),
    );
  }
  bool(base: string, value: boolean): string {
    return this.constOp(
      this.name(base),
      DataType.BOOL,
      [],
      immediate(DataType.BOOL, [], { kind: 'bools', values: [value] }),
    );
  }
  str(base: string, value: string): string {
    return this.constOp(
      this.name(base),
      DataType.STRING,
      [],
      immediate(DataType.STRING, [], { kind: 'strings', values: [value] }),
    );
  }

  blob(dtype: number, data: Uint8Array, dataType: DataType, shape: Shape): Value {
    return create(ValueSchema, {
      type: tensorType(dataType, shape),
      value: {
        case: 'blobFileValue',
        value: create(Value_BlobFileValueSchema, {
          fileName: WEIGHT_BIN_REF,
          offset: this.blobs.add(dtype, data),
        }),
      },
    });
  }

  /** A float32 constant tensor (fp32 blob/immediate, or fp16 blob + cast, or int8 + constexpr_affine_dequantize). */
  floatConst(base: string, data: Float32Array, shape: Shape, quantize = false): string {
    const out = this.name(base);
    if (data.length < BLOB_MIN) {
      return this.constOp(
        out,
        DataType.FLOAT32,
        shape,
        immediate(DataType.FLOAT32, shape, { kind: 'floats', values: [...data] }),
      );
    }
    if (this.mode === 'float16') {
      const half = fromFloat32(data, 'float16') as Uint16Array;
      const h = this.constOp(
        `${out}_fp16`,
        DataType.FLOAT16,
        shape,
        this.blob(1, bytesOf(half), DataType.FLOAT16, shape),
      );
      return this.op('cast', { x: h, dtype: this.str(`${out}_dtype`, 'fp32') }, out, shape);
    }
    if (this.mode === 'int8' && quantize && shape.length >= 2) {
      const rows = shape[0] as number;
      const { q, scale } = quantizeRows(data, rows);
      const qd = this.constOp(
        `${out}_q`,
        DataType.INT8,
        shape,
        this.blob(4, bytesOf(q), DataType.INT8, shape),
      );
      const sc = this.constOp(
        `${out}_scale`,
        DataType.FLOAT32,
        [rows],
        rows >= BLOB_MIN
          ? this.blob(2, bytesOf(scale), DataType.FLOAT32, [rows])
          : immediate(DataType.FLOAT32, [rows], { kind: 'floats', values: [...scale] }),
      );
      const zp = this.constOp(
        `${out}_zp`,
        DataType.INT8,
        [],
        immediate(DataType.INT8, [], { kind: 'ints', values: [0] }),
      );
      this.usesCoreML6 = true;
      return this.op(
        'constexpr_affine_dequantize',
        { quantized_data: qd, zero_point: zp, scale: sc, axis: this.ints(`${out}_axis`, [0], true) },
        out,
        shape,
      );
    }
    return this.constOp(out, DataType.FLOAT32, shape, this.blob(2, bytesOf(data), DataType.FLOAT32, shape));
  }

  /** A graph value as an op operand: activations by name, initializers as (cached) const ops. */
  operand(name: string, node: Node, quantize = false): string {
    const init = this.graph.initializers.get(name);
    if (!init) {
      const v = safeName(name);
      if (!this.shapes.has(v)) {
        throw new GraphError(`mlprogram: node '${node.name}': input '${name}' is not defined before it`);
      }
      return v;
    }
    const key = `${name}|${quantize}`;
    const cached = this.consts.get(key);
    if (cached) return cached;
    const c = this.floatConst(name, floatData(init, node.name), init.shape, quantize);
    this.consts.set(key, c);
    return c;
  }

  op(type: string, inputs: Record<string, string | readonly string[]>, out: string, shape: Shape): string {
    const args: Record<string, ReturnType<typeof create<typeof ArgumentSchema>>> = {};
    for (const [k, v] of Object.entries(inputs)) {
      const names = typeof v === 'string' ? [v] : v;
      args[k] = create(ArgumentSchema, {
        arguments: names.map((n) => create(Argument_BindingSchema, { binding: { case: 'name', value: n } })),
      });
    }
    this.ops.push(
      create(OperationSchema, {
        type,
        inputs: args,
        outputs: [create(NamedValueTypeSchema, { name: out, type: tensorType(DataType.FLOAT32, shape) })],
      }),
    );
    this.shapes.set(out, shape);
    return out;
  }

  activation(node: Node, act: string, x: string, y: string, shape: Shape): void {
    switch (act) {
      case 'relu':
      case 'sigmoid':
      case 'tanh':
      case 'silu':
        this.op(act, { x }, y, shape);
        return;
      case 'relu6':
        this.op('clip', { x, alpha: this.f32(`${y}_alpha`, 0), beta: this.f32(`${y}_beta`, 6) }, y, shape);
        return;
      case 'hardSigmoid':
      case 'hardSwish': {
        // torch hard-sigmoid relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1): alpha 1/6, beta 1/2; hard-swish = x · that.
        const out = act === 'hardSigmoid' ? y : this.name(`${y}_gate`);
        this.op(
          'sigmoid_hard',
          { x, alpha: this.f32(`${y}_alpha`, 1 / 6), beta: this.f32(`${y}_beta`, 0.5) },
          out,
          shape,
        );
        if (act === 'hardSwish') this.op('mul', { x, y: out }, y, shape);
        return;
      }
      default:
        throw new UnsupportedOpError(
          `mlprogram: node '${node.name}': activation '${act}' has no ML Program op`,
        );
    }
  }
}

const ACTIVATION_NODES: Readonly<Record<string, string>> = {
  Relu: 'relu',
  Relu6: 'relu6',
  Sigmoid: 'sigmoid',
  HardSigmoid: 'hardSigmoid',
  HardSwish: 'hardSwish',
  Silu: 'silu',
  Tanh: 'tanh',
};

const BINARY: Readonly<Record<string, string>> = { Add: 'add', Mul: 'mul', Sub: 'sub' };

const INT32_MAX = 2147483647;
const clampI32 = (v: number) => Math.max(-INT32_MAX - 1, Math.min(INT32_MAX, v));

function emitNode(e: ProgramEmitter, g: Graph, n: Node, rename: (v: string) => string): void {
  const at = n.attrs as Record<string, unknown>;
  const shapeOf = (v: string) => {
    const info = g.values.get(v);
    if (!info) throw new GraphError(`mlprogram: node '${n.name}': value '${v}' has no shape`);
    return concrete(info.shape, `value '${v}'`);
  };
  const inName = (v: string) => rename(v);
  const xs = n.inputs[0] ?? '';
  const x = () => e.operand(inName(xs), n);
  const yName = n.outputs[0] as string;
  const y = safeName(yName);
  const ys = shapeOf(yName);
  const act = ACTIVATION_NODES[n.op];
  if (act) {
    e.activation(n, act, x(), y, ys);
    return;
  }
  const bin = BINARY[n.op];
  if (bin) {
    e.op(bin, { x: x(), y: e.operand(inName(n.inputs[1] as string), n) }, y, ys);
    return;
  }
  switch (n.op) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const pads = at.pads as number[];
      const activation = (at.activation as string | undefined) ?? 'none';
      const convOut = activation === 'none' ? y : e.name(`${y}_conv`);
      const inputs: Record<string, string> = {
        x: x(),
        weight: e.operand(n.inputs[1] as string, n, true),
        strides: e.ints(`${y}_strides`, at.strides as number[]),
        pad_type: e.str(`${y}_pad_type`, 'custom'),
        pad: e.ints(`${y}_pad`, [pads[0], pads[2], pads[1], pads[3]] as number[]),
        dilations: e.ints(`${y}_dilations`, at.dilations as number[]),
        groups: e.ints(`${y}_groups`, [at.groups as number], true),
      };
      if (n.inputs[2]) inputs.bias = e.operand(n.inputs[2], n);
      e.op('conv', inputs, convOut, ys);
      if (activation !== 'none') e.activation(n, activation, convOut, y, ys);
      return;
    }
    case 'Clip':
      if (typeof at.min !== 'number' || typeof at.max !== 'number') {
        throw new UnsupportedOpError(`mlprogram: node '${n.name}': Clip needs both bounds`);
      }
      e.op('clip', { x: x(), alpha: e.f32(`${y}_alpha`, at.min), beta: e.f32(`${y}_beta`, at.max) }, y, ys);
      return;
    case 'GlobalAvgPool':
      e.op(
        'reduce_mean',
        { x: x(), axes: e.ints(`${y}_axes`, [-2, -1]), keep_dims: e.bool(`${y}_keep`, true) },
        y,
        ys,
      );
      return;
    case 'Mean':
      e.op(
        'reduce_mean',
        {
          x: x(),
          axes: e.ints(`${y}_axes`, at.axes as number[]),
          keep_dims: e.bool(`${y}_keep`, at.keepDims === true),
        },
        y,
        ys,
      );
      return;
    case 'Reshape':
      e.op('reshape', { x: x(), shape: e.ints(`${y}_shape`, ys) }, y, ys);
      return;
    case 'Linear': {
      const inputs: Record<string, string> = { x: x(), weight: e.operand(n.inputs[1] as string, n, true) };
      if (n.inputs[2]) inputs.bias = e.operand(n.inputs[2], n);
      e.op('linear', inputs, y, ys);
      return;
    }
    case 'MatMul':
      e.op(
        'matmul',
        {
          x: x(),
          y: e.operand(inName(n.inputs[1] as string), n),
          transpose_x: e.bool(`${y}_tx`, at.transposeA === true),
          transpose_y: e.bool(`${y}_ty`, at.transposeB === true),
        },
        y,
        ys,
      );
      return;
    case 'Softmax':
      e.op('softmax', { x: x(), axis: e.ints(`${y}_axis`, [at.axis as number], true) }, y, ys);
      return;
    case 'Transpose':
      e.op('transpose', { x: x(), perm: e.ints(`${y}_perm`, at.perm as number[]) }, y, ys);
      return;
    case 'Concat':
      e.op(
        'concat',
        {
          values: n.inputs.map((i) => e.operand(inName(i as string), n)),
          axis: e.ints(`${y}_axis`, [at.axis as number], true),
          interleave: e.bool(`${y}_interleave`, false),
        },
        y,
        ys,
      );
      return;
    case 'Slice':
      e.op(
        'slice_by_index',
        {
          x: x(),
          begin: e.ints(`${y}_begin`, (at.begin as number[]).map(clampI32)),
          end: e.ints(`${y}_end`, (at.end as number[]).map(clampI32)),
          stride: e.ints(`${y}_stride`, at.steps as number[]),
        },
        y,
        ys,
      );
      return;
    case 'LayerNorm': {
      const dims = at.normalizedDims as number;
      const rank = ys.length;
      const inputs: Record<string, string> = {
        x: x(),
        axes: e.ints(
          `${y}_axes`,
          Array.from({ length: dims }, (_, i) => rank - dims + i),
        ),
        epsilon: e.f32(`${y}_eps`, at.epsilon as number),
      };
      if (n.inputs[1]) inputs.gamma = e.operand(n.inputs[1], n);
      if (n.inputs[2]) inputs.beta = e.operand(n.inputs[2], n);
      e.op('layer_norm', inputs, y, ys);
      return;
    }
    case 'MaxPool2D':
    case 'AvgPool2D': {
      if ((at.dilations as number[] | undefined)?.some((d) => d !== 1)) {
        throw new UnsupportedOpError(`mlprogram: node '${n.name}': dilated pooling is not supported`);
      }
      const pads = at.pads as number[];
      const inputs: Record<string, string> = {
        x: x(),
        kernel_sizes: e.ints(`${y}_kernel`, at.kernelSize as number[]),
        strides: e.ints(`${y}_strides`, at.strides as number[]),
        pad_type: e.str(`${y}_pad_type`, 'custom'),
        pad: e.ints(`${y}_pad`, [pads[0], pads[2], pads[1], pads[3]] as number[]),
        ceil_mode: e.bool(`${y}_ceil`, at.ceilMode === true),
      };
      if (n.op === 'AvgPool2D')
        inputs.exclude_padding_from_average = e.bool(`${y}_excl`, at.countIncludePad !== true);
      e.op(n.op === 'MaxPool2D' ? 'max_pool' : 'avg_pool', inputs, y, ys);
      return;
    }
    case 'Resize': {
      const inShape = shapeOf(xs);
      const sh = (ys[2] as number) / (inShape[2] as number);
      const sw = (ys[3] as number) / (inShape[3] as number);
      if (!Number.isInteger(sh) || !Number.isInteger(sw)) {
        throw new UnsupportedOpError(
          `mlprogram: node '${n.name}': only integer resize factors are supported (${sh}×${sw})`,
        );
      }
      const scales = { scale_factor_height: e.f32(`${y}_sh`, sh), scale_factor_width: e.f32(`${y}_sw`, sw) };
      if (at.mode === 'nearest') {
        e.op('upsample_nearest_neighbor', { x: x(), ...scales }, y, ys);
        return;
      }
      if (
        at.coordinateMode !== 'align_corners' &&
        at.coordinateMode !== 'half_pixel' &&
        at.coordinateMode !== 'pytorch_half_pixel'
      ) {
        throw new UnsupportedOpError(
          `mlprogram: node '${n.name}': bilinear resize with '${String(at.coordinateMode)}' coordinates`,
        );
      }
      e.op(
        'upsample_bilinear',
        { x: x(), ...scales, align_corners: e.bool(`${y}_ac`, at.coordinateMode === 'align_corners') },
        y,
        ys,
      );
      return;
    }
    default:
      throw new UnsupportedOpError(`mlprogram: node '${n.name}': op '${n.op}' has no ML Program mapping`);
  }
}

/**
 * The kernel names the ML Program writer can express.
 * @returns sorted kernel names
 * @example
 * ```ts
 * mlprogramSupportedOps().includes('LayerNorm'); // true
 * ```
 */
export function mlprogramSupportedOps(): string[] {
  return [
    ...Object.keys(ACTIVATION_NODES),
    ...Object.keys(BINARY),
    'Clip',
    'Conv2D',
    'FusedConv2D',
    'GlobalAvgPool',
    'Mean',
    'Reshape',
    'Linear',
    'MatMul',
    'Softmax',
    'Transpose',
    'Concat',
    'Slice',
    'LayerNorm',
    'MaxPool2D',
    'AvgPool2D',
    'Resize',
  ].sort();
}

/** The Manifest.json of a package holding one model and its weights folder. */
function manifestJson(seed: Uint8Array): string {
  // Deterministic UUID-shaped identifiers derived from the model bytes (FNV-1a), so exports are reproducible.
  const uuid = (salt: number) => {
    let h = 0x811c9dc5 ^ salt;
    const words: string[] = [];
    for (let w = 0; w < 4; w++) {
      for (let i = w; i < seed.length; i += 97) h = Math.imul(h ^ (seed[i] as number), 0x01000193) >>> 0;
      h = Math.imul(h ^ (w + salt), 0x01000193) >>> 0;
      words.push(h.toString(16).padStart(8, '0').toUpperCase());
    }
    const s = words.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-8${s.slice(17, 20)}-${s.slice(20, 32)}`;
  };
  const modelId = uuid(1);
  const weightsId = uuid(2);
  return `${JSON.stringify(
    {
      fileFormatVersion: '1.0.0',
      itemInfoEntries: {
        [modelId]: {
          author: 'com.apple.CoreML',
          description: 'CoreML Model Specification',
          name: 'model.mlmodel',
          path: 'com.apple.CoreML/model.mlmodel',
        },
        [weightsId]: {
          author: 'com.apple.CoreML',
          description: 'CoreML Model Weights',
          name: 'weights',
          path: 'com.apple.CoreML/weights',
        },
      },
      rootModelIdentifier: modelId,
    },
    null,
    2,
  )}\n`;
}

/**
 * Exports a float32 graph as a Core ML ML Program package (`.mlpackage`, in memory): `specificationVersion` 6
 * (iOS 15), function `main`, opset `CoreML5`, large constants in `weights/weight.bin`. Weights: `'float32'`;
 * `'float16'` stores every blob constant as fp16 followed by a `cast` to fp32 (the program itself computes in
 * fp32); `'int8'` stores conv/linear weights as int8 with per-output-channel scales behind
 * `constexpr_affine_dequantize`, an iOS 16 op, so the program becomes `specificationVersion` 7 / opset `CoreML6`.
 * An image input is described as an RGB image and normalized by `mul`/`add` ops at the top of the program.
 * With `labels` the program ends in a `softmax` and outputs probabilities (`<output>_probs`); the labels are
 * kept in the model metadata under {@link MLPROGRAM_LABELS_KEY} (no `classify` op is written).
 * @param graph - a float32 graph (e.g. `traceModule` output)
 * @param opts - weights, image input, labels, metadata
 * @returns the package files
 * @throws {UnsupportedOpError} for an op without an ML Program mapping (naming the node)
 * @throws {InvalidArgumentError} for labels or image options that do not fit the graph
 * @example
 * ```ts
 * const pkg = exportMLPackage(graph, { weights: 'float16' });
 * ```
 */
export function exportMLPackage(graph: Graph, opts: ExportCoreMLOptions = {}): MLPackage {
  const p = prepareGraph(graph, opts);
  const g = p.graph;
  const e = new ProgramEmitter(g, opts.weights ?? 'float32');
  const input = safeName(g.inputs[0] as string);
  e.shapes.set(input, p.inputShape);
  let source = input;
  if (opts.image) {
    // (x/255 - mean)/std = x · 1/(255·std) + (-mean/std), per channel.
    const { mean, std } = opts.image;
    const scale = e.floatConst(
      `${input}_scale`,
      Float32Array.from(std, (s) => 1 / (255 * s)),
      [1, 3, 1, 1],
    );
    const bias = e.floatConst(
      `${input}_bias`,
      Float32Array.from(mean, (m, i) => -m / (std[i] as number)),
      [1, 3, 1, 1],
    );
    const scaled = e.op('mul', { x: input, y: scale }, e.name(`${input}_scaled`), p.inputShape);
    source = e.op('add', { x: scaled, y: bias }, e.name(`${input}_normalized`), p.inputShape);
  }
  const rename = (v: string) => (v === g.inputs[0] ? source : v);
  for (const n of g.nodes)
    emitNode(e, g, { ...n, inputs: n.inputs.map((i) => (i === null ? i : rename(i))) }, rename);
  let outputs = g.outputs.map((o) => safeName(o));
  for (const [i, o] of outputs.entries()) {
    if (!e.shapes.has(o)) throw new GraphError(`mlprogram: output '${g.outputs[i]}' is produced by no node`);
  }
  if (opts.labels) {
    const probs = `${outputs[0]}_probs`;
    e.op(
      'softmax',
      { x: outputs[0] as string, axis: e.ints(`${probs}_axis`, [-1], true) },
      probs,
      p.outputShapes[0] ?? [],
    );
    outputs = [probs];
  }
  const opset = e.usesCoreML6 ? 'CoreML6' : 'CoreML5';
  const features = describeFeatures(p, { ...opts, labels: undefined }, { input, outputs });
  const metadata = metadataOf(g, opts);
  if (opts.labels) metadata.userDefined[MLPROGRAM_LABELS_KEY] = JSON.stringify(opts.labels);
  const fn = create(FunctionSchema, {
    inputs: [create(NamedValueTypeSchema, { name: input, type: tensorType(DataType.FLOAT32, p.inputShape) })],
    opset,
    blockSpecializations: { [opset]: create(BlockSchema, { outputs, operations: e.ops }) },
  });
  const model = create(ModelSchema, {
    specificationVersion: OPSET_SPEC_VERSION[opset] as number,
    description: create(ModelDescriptionSchema, { input: features.input, output: features.output, metadata }),
    Type: { case: 'mlProgram', value: create(ProgramSchema, { version: 1n, functions: { main: fn } }) },
  });
  const bytes = toBinary(ModelSchema, model);
  return { manifest: manifestJson(bytes), model: bytes, weights: e.blobs.finish() };
}
