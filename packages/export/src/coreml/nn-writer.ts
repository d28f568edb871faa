// exportCoreML: Graph → Core ML `.mlmodel` (NeuralNetwork, specification version 4 = iOS 13 rank-N layers).
import { create, toBinary } from '@bufbuild/protobuf';
import { fromFloat32, type Graph, type Node, UnsupportedOpError } from '@tinyvision/tensor';
import {
  type CoreMLWeights,
  describeFeatures,
  type ExportCoreMLOptions,
  floatData,
  labelsVector,
  metadataOf,
  prepareGraph,
  quantizeRows,
  safeName,
} from './common.js';
import { ModelDescriptionSchema, ModelSchema } from './generated/Model_pb.js';
import {
  ActivationLinearSchema,
  ActivationParamsSchema,
  ActivationReLUSchema,
  ActivationSigmoidHardSchema,
  ActivationSigmoidSchema,
  ActivationTanhSchema,
  AddBroadcastableLayerParamsSchema,
  BatchedMatMulLayerParamsSchema,
  BorderAmounts_EdgeSizesSchema,
  BorderAmountsSchema,
  ClipLayerParamsSchema,
  ConcatNDLayerParamsSchema,
  ConvolutionLayerParamsSchema,
  LayerNormalizationLayerParamsSchema,
  LinearQuantizationParamsSchema,
  LoadConstantNDLayerParamsSchema,
  MultiplyBroadcastableLayerParamsSchema,
  NeuralNetworkClassifierSchema,
  NeuralNetworkImageScalerSchema,
  NeuralNetworkImageShapeMapping,
  type NeuralNetworkLayer,
  NeuralNetworkLayerSchema,
  NeuralNetworkMultiArrayShapeMapping,
  NeuralNetworkPreprocessingSchema,
  NeuralNetworkSchema,
  PoolingLayerParams_PoolingType,
  PoolingLayerParamsSchema,
  QuantizationParamsSchema,
  ReduceMeanLayerParamsSchema,
  ReshapeStaticLayerParamsSchema,
  ScaleLayerParamsSchema,
  SliceStaticLayerParamsSchema,
  SoftmaxNDLayerParamsSchema,
  SubtractBroadcastableLayerParamsSchema,
  TransposeLayerParamsSchema,
  UpsampleLayerParams_InterpolationMode,
  UpsampleLayerParams_LinearUpsampleMode,
  UpsampleLayerParamsSchema,
  ValidPaddingSchema,
  type WeightParams,
  WeightParamsSchema,
} from './generated/NeuralNetwork_pb.js';

/** Core ML specification version the NeuralNetwork writer emits (4 = iOS 13 / macOS 10.15: rank-N layers). */
export const COREML_NN_SPEC_VERSION = 4;

type LayerCase = NeuralNetworkLayer['layer'];

/** Stores `w` (`rows` output channels) as float32, float16 bytes, or 8-bit linear-quantized per channel. */
function weightParams(w: Float32Array, mode: CoreMLWeights, rows = 1): WeightParams {
  if (mode === 'float16') {
    const bits = fromFloat32(w, 'float16') as Uint16Array;
    return create(WeightParamsSchema, {
      float16Value: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength),
    });
  }
  if (mode === 'int8') {
    // Core ML linear quantization stores uint8: w = q_u8 · scale + bias. Symmetric int8 q maps to q + 128
    // with bias = -128 · scale, so the dequantized values equal the symmetric int8 ones exactly.
    const { q, scale } = quantizeRows(w, rows);
    const raw = new Uint8Array(q.length);
    for (let i = 0; i < q.length; i++) raw[i] = (q[i] as number) + 128;
    return create(WeightParamsSchema, {
      rawValue: raw,
      quantization: create(QuantizationParamsSchema, {
        numberOfBits: 8n,
        QuantizationType: {
          case: 'linearQuantization',
          value: create(LinearQuantizationParamsSchema, {
            scale: [...scale],
            bias: [...scale].map((s) => -128 * s),
          }),
        },
      }),
    });
  }
  return create(WeightParamsSchema, { floatValue: [...w] });
}

class Emitter {
  readonly layers: NeuralNetworkLayer[] = [];
  private count = 0;
  constructor(
    private readonly graph: Graph,
    private readonly mode: CoreMLWeights,
  ) {}

  /** Core ML name of a graph value. */
  v(name: string): string {
    return safeName(name);
  }

  tmp(base: string): string {
    this.count++;
    return `${safeName(base)}__${this.count}`;
  }

  add(name: string, inputs: string[], outputs: string[], layer: LayerCase): NeuralNetworkLayer {
    const l = create(NeuralNetworkLayerSchema, {
      name: safeName(name),
      input: inputs,
      output: outputs,
      layer,
    });
    this.layers.push(l);
    return l;
  }

  weights(name: string, node: Node, rows = 1, mode: CoreMLWeights = this.mode): WeightParams {
    const init = this.graph.initializers.get(name);
    if (!init) {
      throw new UnsupportedOpError(
        `coreml: node '${node.name}' (${node.op}): input '${name}' must be a constant weight in a NeuralNetwork model`,
      );
    }
    return weightParams(floatData(init, node.name), mode, rows);
  }

  floats(name: string | null | undefined, node: Node): WeightParams | undefined {
    return name ? this.weights(name, node, 1, 'float32') : undefined;
  }

  /** Input operand: activations by name; constants become a loadConstantND layer. */
  operand(name: string, node: Node): string {
    const init = this.graph.initializers.get(name);
    if (!init) return this.v(name);
    const out = this.tmp(`${name}_const`);
    this.add(out, [], [out], {
      case: 'loadConstantND',
      value: create(LoadConstantNDLayerParamsSchema, {
        shape: (init.shape.length > 0 ? init.shape : [1]).map(BigInt),
        data: weightParams(floatData(init, node.name), 'float32'),
      }),
    });
    return out;
  }

  /** Applies one of our activations to `x`, writing `y`. */
  activation(node: Node, act: string, x: string, y: string): NeuralNetworkLayer {
    const a = (c: LayerCase) => this.add(this.tmp(`${node.name}_${act}`), [x], [y], c);
    const params = (n: ReturnType<typeof activationOf>) =>
      ({ case: 'activation', value: create(ActivationParamsSchema, { NonlinearityType: n }) }) as const;
    switch (act) {
      case 'none':
        return a({
          case: 'activation',
          value: create(ActivationParamsSchema, {
            NonlinearityType: { case: 'linear', value: create(ActivationLinearSchema, { alpha: 1 }) },
          }),
        });
      case 'relu':
      case 'sigmoid':
      case 'hardSigmoid':
      case 'tanh':
        return a(params(activationOf(act)));
      case 'relu6':
        return a({ case: 'clip', value: create(ClipLayerParamsSchema, { minVal: 0, maxVal: 6 }) });
      case 'hardSwish':
      case 'silu': {
        // x · hardSigmoid(x) and x · sigmoid(x): NeuralNetwork has no single layer for either.
        const gate = this.tmp(`${node.name}_gate`);
        this.add(
          this.tmp(`${node.name}_gate`),
          [x],
          [gate],
          params(activationOf(act === 'silu' ? 'sigmoid' : 'hardSigmoid')),
        );
        return this.add(this.tmp(`${node.name}_mul`), [x, gate], [y], {
          case: 'multiplyBroadcastable',
          value: create(MultiplyBroadcastableLayerParamsSchema),
        });
      }
      default:
        throw new UnsupportedOpError(
          `coreml: node '${node.name}': activation '${act}' has no NeuralNetwork layer`,
        );
    }
  }
}

function activationOf(act: 'relu' | 'sigmoid' | 'hardSigmoid' | 'tanh') {
  switch (act) {
    case 'relu':
      return { case: 'ReLU', value: create(ActivationReLUSchema) } as const;
    case 'sigmoid':
      return { case: 'sigmoid', value: create(ActivationSigmoidSchema) } as const;
    case 'hardSigmoid':
      // torch/ONNX hard-sigmoid relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1): alpha 1/6, beta 1/2.
      return {
        case: 'sigmoidHard',
        value: create(ActivationSigmoidHardSchema, { alpha: 1 / 6, beta: 0.5 }),
      } as const;
    case 'tanh':
      return { case: 'tanh', value: create(ActivationTanhSchema) } as const;
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

type Attrs = Record<string, unknown>;

function emitNode(e: Emitter, g: Graph, n: Node): NeuralNetworkLayer | undefined {
  const at = n.attrs as Attrs;
  const x = n.inputs[0] ?? '';
  const y = e.v(n.outputs[0] as string);
  const shapeOf = (v: string) => g.values.get(v)?.shape ?? [];
  const act = ACTIVATION_NODES[n.op];
  if (act) return e.activation(n, act, e.operand(x, n), y);
  switch (n.op) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const wInit = g.initializers.get(n.inputs[1] ?? '');
      const [cout, kc, kh, kw] = (wInit?.shape ?? []) as number[];
      const pads = at.pads as number[];
      const activation = (at.activation as string | undefined) ?? 'none';
      const convOut = activation === 'none' ? y : e.tmp(`${n.name}_conv`);
      const bias = e.floats(n.inputs[2], n);
      e.add(n.name, [e.operand(x, n)], [convOut], {
        case: 'convolution',
        value: create(ConvolutionLayerParamsSchema, {
          outputChannels: BigInt(cout ?? 0),
          kernelChannels: BigInt(kc ?? 0),
          nGroups: BigInt(at.groups as number),
          kernelSize: [BigInt(kh ?? 0), BigInt(kw ?? 0)],
          stride: (at.strides as number[]).map(BigInt),
          dilationFactor: (at.dilations as number[]).map(BigInt),
          ConvolutionPaddingType: {
            case: 'valid',
            value: create(ValidPaddingSchema, {
              paddingAmounts: create(BorderAmountsSchema, {
                borderAmounts: [
                  create(BorderAmounts_EdgeSizesSchema, {
                    startEdgeSize: BigInt(pads[0] ?? 0),
                    endEdgeSize: BigInt(pads[2] ?? 0),
                  }),
                  create(BorderAmounts_EdgeSizesSchema, {
                    startEdgeSize: BigInt(pads[1] ?? 0),
                    endEdgeSize: BigInt(pads[3] ?? 0),
                  }),
                ],
              }),
            }),
          },
          hasBias: bias !== undefined,
          weights: e.weights(n.inputs[1] as string, n, cout ?? 1),
          ...(bias ? { bias } : {}),
        }),
      });
      if (activation !== 'none') e.activation(n, activation, convOut, y);
      return;
    }
    case 'Add':
    case 'Mul':
    case 'Sub': {
      const layer: LayerCase =
        n.op === 'Add'
          ? { case: 'addBroadcastable', value: create(AddBroadcastableLayerParamsSchema) }
          : n.op === 'Mul'
            ? { case: 'multiplyBroadcastable', value: create(MultiplyBroadcastableLayerParamsSchema) }
            : { case: 'subtractBroadcastable', value: create(SubtractBroadcastableLayerParamsSchema) };
      e.add(n.name, [e.operand(x, n), e.operand(n.inputs[1] as string, n)], [y], layer);
      return;
    }
    case 'GlobalAvgPool':
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'reduceMean',
        value: create(ReduceMeanLayerParamsSchema, { axes: [-2n, -1n], keepDims: true }),
      });
      return;
    case 'Mean':
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'reduceMean',
        value: create(ReduceMeanLayerParamsSchema, {
          axes: (at.axes as number[]).map(BigInt),
          keepDims: at.keepDims as boolean,
        }),
      });
      return;
    case 'Reshape':
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'reshapeStatic',
        value: create(ReshapeStaticLayerParamsSchema, {
          targetShape: shapeOf(n.outputs[0] as string).map((d, i) =>
            BigInt(typeof d === 'number' ? d : i === 0 ? 1 : -1),
          ),
        }),
      });
      return;
    case 'Linear': {
      const wInit = g.initializers.get(n.inputs[1] ?? '');
      const [out, inn] = (wInit?.shape ?? []) as number[];
      const bias = e.floats(n.inputs[2], n);
      // Weights are [in, out] stored column-major = our row-major [out, in].
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'batchedMatmul',
        value: create(BatchedMatMulLayerParamsSchema, {
          weightMatrixFirstDimension: BigInt(inn ?? 0),
          weightMatrixSecondDimension: BigInt(out ?? 0),
          hasBias: bias !== undefined,
          weights: e.weights(n.inputs[1] as string, n, out ?? 1),
          ...(bias ? { bias } : {}),
        }),
      });
      return;
    }
    case 'MatMul':
      e.add(n.name, [e.operand(x, n), e.operand(n.inputs[1] as string, n)], [y], {
        case: 'batchedMatmul',
        value: create(BatchedMatMulLayerParamsSchema, {
          transposeA: at.transposeA === true,
          transposeB: at.transposeB === true,
        }),
      });
      return;
    case 'Softmax':
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'softmaxND',
        value: create(SoftmaxNDLayerParamsSchema, { axis: BigInt(at.axis as number) }),
      });
      return;
    case 'Transpose':
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'transpose',
        value: create(TransposeLayerParamsSchema, { axes: (at.perm as number[]).map(BigInt) }),
      });
      return;
    case 'Concat':
      e.add(
        n.name,
        n.inputs.map((i) => e.operand(i as string, n)),
        [y],
        { case: 'concatND', value: create(ConcatNDLayerParamsSchema, { axis: BigInt(at.axis as number) }) },
      );
      return;
    case 'Slice': {
      const begin = at.begin as number[];
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'sliceStatic',
        value: create(SliceStaticLayerParamsSchema, {
          beginIds: begin.map(BigInt),
          beginMasks: begin.map(() => false),
          endIds: (at.end as number[]).map(BigInt),
          endMasks: begin.map(() => false),
          strides: (at.steps as number[]).map(BigInt),
        }),
      });
      return;
    }
    case 'LayerNorm': {
      const dims = at.normalizedDims as number;
      const xs = shapeOf(x);
      const normalizedShape = xs.slice(xs.length - dims).map((d) => BigInt(d as number));
      const size = normalizedShape.reduce((a, b) => a * Number(b), 1);
      const ones = new Float32Array(size).fill(1);
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'layerNormalization',
        value: create(LayerNormalizationLayerParamsSchema, {
          normalizedShape,
          eps: at.epsilon as number,
          gamma: e.floats(n.inputs[1], n) ?? weightParams(ones, 'float32'),
          beta: e.floats(n.inputs[2], n) ?? weightParams(new Float32Array(size), 'float32'),
        }),
      });
      return;
    }
    case 'MaxPool2D':
    case 'AvgPool2D': {
      if (at.ceilMode)
        throw new UnsupportedOpError(`coreml: node '${n.name}': ceil-mode pooling is not supported`);
      if ((at.dilations as number[]).some((d) => d !== 1)) {
        throw new UnsupportedOpError(`coreml: node '${n.name}': dilated pooling is not supported`);
      }
      const pads = at.pads as number[];
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'pooling',
        value: create(PoolingLayerParamsSchema, {
          type:
            n.op === 'MaxPool2D'
              ? PoolingLayerParams_PoolingType.MAX
              : PoolingLayerParams_PoolingType.AVERAGE,
          kernelSize: (at.kernelSize as number[]).map(BigInt),
          stride: (at.strides as number[]).map(BigInt),
          PoolingPaddingType: {
            case: 'valid',
            value: create(ValidPaddingSchema, {
              paddingAmounts: create(BorderAmountsSchema, {
                borderAmounts: [
                  create(BorderAmounts_EdgeSizesSchema, {
                    startEdgeSize: BigInt(pads[0] ?? 0),
                    endEdgeSize: BigInt(pads[2] ?? 0),
                  }),
                  create(BorderAmounts_EdgeSizesSchema, {
                    startEdgeSize: BigInt(pads[1] ?? 0),
                    endEdgeSize: BigInt(pads[3] ?? 0),
                  }),
                ],
              }),
            }),
          },
          avgPoolExcludePadding: at.countIncludePad !== true,
        }),
      });
      return;
    }
    case 'Resize': {
      const xs = shapeOf(x);
      const size = at.size as number[];
      const sh = (size[0] as number) / (xs[2] as number);
      const sw = (size[1] as number) / (xs[3] as number);
      if (!Number.isInteger(sh) || !Number.isInteger(sw)) {
        throw new UnsupportedOpError(
          `coreml: node '${n.name}': only integer resize factors are supported (${sh}×${sw})`,
        );
      }
      const nearest = at.mode === 'nearest';
      if (!nearest && at.coordinateMode === 'asymmetric') {
        throw new UnsupportedOpError(
          `coreml: node '${n.name}': bilinear resize with 'asymmetric' coordinates`,
        );
      }
      e.add(n.name, [e.operand(x, n)], [y], {
        case: 'upsample',
        value: create(UpsampleLayerParamsSchema, {
          scalingFactor: [BigInt(sh), BigInt(sw)],
          mode: nearest
            ? UpsampleLayerParams_InterpolationMode.NN
            : UpsampleLayerParams_InterpolationMode.BILINEAR,
          linearUpsampleMode: nearest
            ? UpsampleLayerParams_LinearUpsampleMode.DEFAULT
            : at.coordinateMode === 'align_corners'
              ? UpsampleLayerParams_LinearUpsampleMode.ALIGN_CORNERS_TRUE
              : UpsampleLayerParams_LinearUpsampleMode.ALIGN_CORNERS_FALSE,
        }),
      });
      return;
    }
    default:
      throw new UnsupportedOpError(
        `coreml: node '${n.name}': op '${n.op}' has no NeuralNetwork layer mapping`,
      );
  }
}

/**
 * The kernel names the Core ML NeuralNetwork writer can express.
 * @returns sorted kernel names
 * @example
 * ```ts
 * coremlSupportedOps().includes('FusedConv2D'); // true
 * ```
 */
export function coremlSupportedOps(): string[] {
  return [
    ...Object.keys(ACTIVATION_NODES),
    'Conv2D',
    'FusedConv2D',
    'Add',
    'Mul',
    'Sub',
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

/**
 * Exports a float32 graph as a Core ML `.mlmodel` (NeuralNetwork, specification version 4 / iOS 13): one input
 * (a multi-array, or an RGB image normalized inside the model), batch fixed to 1, BN folded into the convs,
 * weights as float32, float16 or 8-bit per-channel linear quantization; with `labels` the model is a
 * classifier (softmax probabilities + predicted label). No Core ML runtime exists on Linux: the file is
 * validated against the official protos by {@link validateCoreML} and read back by {@link importCoreML}.
 * @param graph - a float32 graph (e.g. `traceModule` output)
 * @param opts - weights, image input, labels, metadata
 * @returns the `.mlmodel` bytes
 * @throws {UnsupportedOpError} for an op without a NeuralNetwork mapping (naming the node)
 * @throws {InvalidArgumentError} for labels or image options that do not fit the graph
 * @example
 * ```ts
 * const bytes = exportCoreML(graph, { weights: 'float16', labels: ['cat', 'dog'] });
 * ```
 */
export function exportCoreML(graph: Graph, opts: ExportCoreMLOptions = {}): Uint8Array {
  const p = prepareGraph(graph, opts);
  const g = p.graph;
  const e = new Emitter(g, opts.weights ?? 'float32');
  const inputName = safeName(g.inputs[0] as string);
  const preprocessing = [];
  if (opts.image) {
    // The image scaler multiplies by one scalar only; per-channel (x/255 - mean)/std is a scale layer after it.
    preprocessing.push(
      create(NeuralNetworkPreprocessingSchema, {
        featureName: inputName,
        preprocessor: {
          case: 'scaler',
          value: create(NeuralNetworkImageScalerSchema, { channelScale: 1 / 255 }),
        },
      }),
    );
  }
  const normalized = opts.image ? `${inputName}__normalized` : inputName;
  if (opts.image) {
    const { mean, std } = opts.image;
    e.add(`${inputName}_normalize`, [inputName], [normalized], {
      case: 'scale',
      value: create(ScaleLayerParamsSchema, {
        shapeScale: [3n, 1n, 1n],
        scale: weightParams(
          Float32Array.from(std, (s) => 1 / s),
          'float32',
        ),
        hasBias: true,
        shapeBias: [3n, 1n, 1n],
        bias: weightParams(
          Float32Array.from(mean, (m, i) => -m / (std[i] as number)),
          'float32',
        ),
      }),
    });
  }
  const renamed = new Map<string, string>([[g.inputs[0] as string, normalized]]);
  const outputNames = g.outputs.map((o) => safeName(o));
  for (const n of g.nodes) {
    const node = {
      ...n,
      inputs: n.inputs.map((i) => (i !== null && renamed.has(i) ? (renamed.get(i) as string) : i)),
    };
    emitNode(e, g, node);
  }
  const features = describeFeatures(p, opts, { input: inputName, outputs: outputNames });
  const common = {
    layers: e.layers,
    preprocessing,
    arrayInputShapeMapping: NeuralNetworkMultiArrayShapeMapping.EXACT_ARRAY_MAPPING,
    imageInputShapeMapping: NeuralNetworkImageShapeMapping.RANK4_IMAGE_MAPPING,
  };
  let Type: NonNullable<ReturnType<typeof create<typeof ModelSchema>>['Type']>;
  if (opts.labels) {
    const probs = features.predicted?.[1] as string;
    e.add(`${outputNames[0]}_softmax`, [outputNames[0] as string], [probs], {
      case: 'softmaxND',
      value: create(SoftmaxNDLayerParamsSchema, { axis: -1n }),
    });
    Type = {
      case: 'neuralNetworkClassifier',
      value: create(NeuralNetworkClassifierSchema, {
        ...common,
        ClassLabels: { case: 'stringClassLabels', value: labelsVector(opts.labels) },
        labelProbabilityLayerName: probs,
      }),
    };
  } else {
    Type = { case: 'neuralNetwork', value: create(NeuralNetworkSchema, common) };
  }
  const model = create(ModelSchema, {
    specificationVersion: COREML_NN_SPEC_VERSION,
    description: create(ModelDescriptionSchema, {
      input: features.input,
      output: features.output,
      ...(features.predicted
        ? { predictedFeatureName: features.predicted[0], predictedProbabilitiesName: features.predicted[1] }
        : {}),
      metadata: metadataOf(g, opts),
    }),
    Type,
  });
  return toBinary(ModelSchema, model);
}
