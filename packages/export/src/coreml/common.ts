// Shared pieces of the Core ML writers: options, graph checks, weight packing, the model description.
import { create } from '@bufbuild/protobuf';
import {
  type Graph,
  type Initializer,
  InvalidArgumentError,
  optimizeGraph,
  ShapeError,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { StringVectorSchema } from './generated/DataStructures_pb.js';
import {
  ArrayFeatureType_ArrayDataType,
  ArrayFeatureTypeSchema,
  DictionaryFeatureTypeSchema,
  FeatureTypeSchema,
  ImageFeatureType_ColorSpace,
  ImageFeatureTypeSchema,
  StringFeatureTypeSchema,
} from './generated/FeatureTypes_pb.js';
import { type FeatureDescription, FeatureDescriptionSchema, MetadataSchema } from './generated/Model_pb.js';

/** How weights are stored in a Core ML file. */
export type CoreMLWeights = 'float32' | 'float16' | 'int8';

/** Image input of a Core ML model: the model takes an RGB image (0–255) and normalizes it itself. */
export interface CoreMLImageInput {
  /** Per-channel mean, in 0–1 units (e.g. ImageNet `[0.485, 0.456, 0.406]`). */
  readonly mean: readonly [number, number, number];
  /** Per-channel standard deviation, in 0–1 units. */
  readonly std: readonly [number, number, number];
}

/** Options of the Core ML writers. */
export interface ExportCoreMLOptions {
  /** Weight storage (default `'float32'`). int8 is symmetric per output channel (linear quantization). */
  readonly weights?: CoreMLWeights;
  /** Make the input an RGB image with this normalization (default: a float multi-array input). */
  readonly image?: CoreMLImageInput;
  /** Class labels: the model becomes a classifier (softmax probabilities + predicted label). */
  readonly labels?: readonly string[];
  /** Model metadata (author, license, version, description). */
  readonly author?: string;
  /** License string. */
  readonly license?: string;
  /** Version string. */
  readonly version?: string;
  /** Short description. */
  readonly description?: string;
}

/** A graph ready for Core ML: fixed batch 1, one float NCHW-or-any input, float outputs, BN folded. */
export interface PreparedGraph {
  /** The optimized graph. */
  readonly graph: Graph;
  /** The input's concrete shape (batch 1). */
  readonly inputShape: readonly number[];
  /** Concrete output shapes (batch 1). */
  readonly outputShapes: readonly (readonly number[])[];
}

/** @internal */
export function concrete(shape: readonly (number | string)[], what: string): number[] {
  return shape.map((d, i) => {
    if (typeof d === 'number') return d;
    if (i === 0) return 1; // the dynamic batch dim is fixed to 1
    throw new ShapeError(
      `coreml: ${what} has a symbolic dim '${d}' at axis ${i}; only the batch dim may be symbolic`,
    );
  });
}

/**
 * Optimizes the graph and checks what both Core ML writers need.
 * @internal
 */
export function prepareGraph(graph: Graph, opts: ExportCoreMLOptions): PreparedGraph {
  const g = optimizeGraph(graph);
  if (g.inputs.length !== 1) {
    throw new UnsupportedOpError(`coreml: exactly one graph input is supported, got ${g.inputs.length}`);
  }
  const inInfo = g.values.get(g.inputs[0] as string);
  if (inInfo?.dtype !== 'float32') {
    throw new UnsupportedOpError(`coreml: the input must be float32, got ${inInfo?.dtype ?? 'unknown'}`);
  }
  const inputShape = concrete(inInfo.shape, `input '${inInfo.name}'`);
  if (opts.image && (inputShape.length !== 4 || inputShape[1] !== 3)) {
    throw new InvalidArgumentError(
      `coreml: an image input needs an NCHW input with 3 channels, got [${inputShape.join(', ')}]`,
    );
  }
  const outputShapes = g.outputs.map((o) => {
    const v = g.values.get(o);
    if (v?.dtype !== 'float32') throw new UnsupportedOpError(`coreml: output '${o}' must be float32`);
    return concrete(v.shape, `output '${o}'`);
  });
  if (opts.labels) {
    const last = outputShapes[0]?.at(-1);
    if (g.outputs.length !== 1 || last !== opts.labels.length) {
      throw new InvalidArgumentError(
        `coreml: ${opts.labels.length} labels need one output whose last dim is ${opts.labels.length}, got ` +
          outputShapes.map((s) => `[${s.join(', ')}]`).join(', '),
      );
    }
  }
  return { graph: g, inputShape, outputShapes };
}

/** Float32 values of an initializer (f16/bf16 decoded by the caller's graph; we accept float32 only). @internal */
export function floatData(init: Initializer, node: string): Float32Array {
  if (init.dtype !== 'float32' || !(init.data instanceof Float32Array)) {
    throw new UnsupportedOpError(
      `coreml: node '${node}': weight '${init.name}' is ${init.dtype}, expected float32`,
    );
  }
  return init.data;
}

/** Symmetric per-row int8 quantization of `rows × (n/rows)` values: q in [-127, 127], scale = max|w|/127. @internal */
export function quantizeRows(w: Float32Array, rows: number): { q: Int8Array; scale: Float32Array } {
  const per = w.length / rows;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(w[r * per + i] as number));
    const s = m > 0 ? m / 127 : 1;
    scale[r] = s;
    for (let i = 0; i < per; i++) {
      q[r * per + i] = Math.max(-127, Math.min(127, Math.round((w[r * per + i] as number) / s)));
    }
  }
  return { q, scale };
}

/** Input/output descriptions and metadata shared by both formats. @internal */
export function describeFeatures(
  p: PreparedGraph,
  opts: ExportCoreMLOptions,
  names: { input: string; outputs: readonly string[] },
): { input: FeatureDescription[]; output: FeatureDescription[]; predicted?: [string, string] } {
  const [, c, h, w] = p.inputShape;
  const input = create(FeatureDescriptionSchema, {
    name: names.input,
    type: create(FeatureTypeSchema, {
      Type: opts.image
        ? {
            case: 'imageType',
            value: create(ImageFeatureTypeSchema, {
              width: BigInt(w ?? 0),
              height: BigInt(h ?? 0),
              colorSpace: c === 3 ? ImageFeatureType_ColorSpace.RGB : ImageFeatureType_ColorSpace.GRAYSCALE,
            }),
          }
        : {
            case: 'multiArrayType',
            value: create(ArrayFeatureTypeSchema, {
              shape: p.inputShape.map(BigInt),
              dataType: ArrayFeatureType_ArrayDataType.FLOAT32,
            }),
          },
    }),
  });
  if (opts.labels) {
    const probs = `${names.outputs[0]}_probs`;
    const output = [
      create(FeatureDescriptionSchema, {
        name: 'classLabel',
        type: create(FeatureTypeSchema, {
          Type: { case: 'stringType', value: create(StringFeatureTypeSchema) },
        }),
      }),
      create(FeatureDescriptionSchema, {
        name: probs,
        type: create(FeatureTypeSchema, {
          Type: {
            case: 'dictionaryType',
            value: create(DictionaryFeatureTypeSchema, {
              KeyType: { case: 'stringKeyType', value: create(StringFeatureTypeSchema) },
            }),
          },
        }),
      }),
    ];
    return { input: [input], output, predicted: ['classLabel', probs] };
  }
  const output = names.outputs.map((name, i) =>
    create(FeatureDescriptionSchema, {
      name,
      type: create(FeatureTypeSchema, {
        Type: {
          case: 'multiArrayType',
          value: create(ArrayFeatureTypeSchema, {
            shape: (p.outputShapes[i] ?? []).map(BigInt),
            dataType: ArrayFeatureType_ArrayDataType.FLOAT32,
          }),
        },
      }),
    }),
  );
  return { input: [input], output };
}

/** @internal */
export function metadataOf(graph: Graph, opts: ExportCoreMLOptions) {
  const userDefined: Record<string, string> = { ...graph.metadata, 'com.tinyvision.producer': 'tinyvision' };
  if (opts.image) {
    userDefined['com.tinyvision.preprocessing'] = JSON.stringify({
      mean: opts.image.mean,
      std: opts.image.std,
    });
  }
  return create(MetadataSchema, {
    shortDescription: opts.description ?? graph.name ?? '',
    versionString: opts.version ?? '',
    author: opts.author ?? '',
    license: opts.license ?? '',
    userDefined,
  });
}

/** @internal */
export function labelsVector(labels: readonly string[]) {
  return create(StringVectorSchema, { vector: [...labels] });
}

/** Makes a value name a valid Core ML blob/variable name (letters, digits, underscore; not starting with a digit). @internal */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `v_${s}` : s;
}
