// importCoreML: Core ML `.mlmodel` (NeuralNetwork with the layers exportCoreML writes) → Graph.
import { fromBinary } from '@bufbuild/protobuf';
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
import { type Model, ModelSchema } from './generated/Model_pb.js';
import {
  type NeuralNetworkLayer,
  type NeuralNetworkPreprocessing,
  PoolingLayerParams_PoolingType,
  UpsampleLayerParams_InterpolationMode,
  UpsampleLayerParams_LinearUpsampleMode,
  type WeightParams,
} from './generated/NeuralNetwork_pb.js';

/** Largest `.mlmodel` {@link importCoreML} decodes (1 GiB). */
export const MAX_COREML_BYTES = 1 << 30;

/**
 * Decodes a `.mlmodel` into the generated `Model` message, turning decoder failures into {@link FormatError}.
 * @internal
 */
export function decodeCoreMLModel(bytes: Uint8Array): Model {
  if (bytes.byteLength === 0) throw new FormatError('coreml: empty file');
  if (bytes.byteLength > MAX_COREML_BYTES) {
    throw new FormatError(
      `coreml: file of ${bytes.byteLength} bytes exceeds the ${MAX_COREML_BYTES}-byte limit`,
    );
  }
  try {
    return fromBinary(ModelSchema, bytes);
  } catch (e) {
    throw new FormatError(
      `coreml: not a valid Model protobuf: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Float32 values of a WeightParams (float32, float16 bytes, or 8-bit linear quantization). @internal */
export function weightValues(w: WeightParams | undefined, expected: number, where: string): Float32Array {
  if (!w) throw new FormatError(`coreml: ${where}: missing weights`);
  let out: Float32Array;
  if (w.floatValue.length > 0) out = Float32Array.from(w.floatValue);
  else if (w.float16Value.byteLength > 0) {
    const b = w.float16Value;
    if (b.byteLength % 2 !== 0)
      throw new FormatError(`coreml: ${where}: odd float16 byte length ${b.byteLength}`);
    const bits = new Uint16Array(b.byteLength / 2);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < bits.length; i++) bits[i] = dv.getUint16(2 * i, true);
    out = toFloat32(bits, 'float16');
  } else if (w.rawValue.byteLength > 0) {
    const q = w.quantization;
    if (!q || Number(q.numberOfBits) !== 8 || q.QuantizationType.case !== 'linearQuantization') {
      throw new UnsupportedOpError(`coreml: ${where}: only 8-bit linear quantization is supported`);
    }
    const { scale, bias } = q.QuantizationType.value;
    const raw = w.rawValue;
    const rows = scale.length;
    if (rows === 0 || raw.byteLength % rows !== 0 || (bias.length !== 0 && bias.length !== rows)) {
      throw new FormatError(
        `coreml: ${where}: ${scale.length} scales / ${bias.length} biases for ${raw.byteLength} values`,
      );
    }
    const per = raw.byteLength / rows;
    out = new Float32Array(raw.byteLength);
    for (let i = 0; i < raw.byteLength; i++) {
      const r = Math.floor(i / per);
      out[i] = (raw[i] as number) * (scale[r] as number) + (bias[r] ?? 0);
    }
  } else out = new Float32Array(0);
  if (out.length !== expected) {
    throw new FormatError(`coreml: ${where}: ${out.length} weight values, expected ${expected}`);
  }
  return out;
}

const n64 = (v: bigint | number): number => Number(v);

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inits: Initializer[] = [];
  private k = 0;
  node(
    op: string,
    inputs: (string | null)[],
    outputs: string[],
    attrs: Record<string, unknown> = {},
    name?: string,
  ): Node {
    const n: Node = { name: name ?? `${op}_${this.k++}`, op, inputs, outputs, attrs: attrs as Node['attrs'] };
    this.nodes.push(n);
    return n;
  }
  init(base: string, data: Float32Array, shape: number[]): string {
    const name = `${base}__w${this.k++}`;
    this.inits.push({ name, dtype: 'float32', shape, data });
    return name;
  }
  tmp(base: string): string {
    return `${base}__t${this.k++}`;
  }
}

function edges(
  amounts: { startEdgeSize: bigint; endEdgeSize: bigint }[] | undefined,
): [number, number, number, number] {
  const [h, w] = amounts ?? [];
  return [
    n64(h?.startEdgeSize ?? 0n),
    n64(w?.startEdgeSize ?? 0n),
    n64(h?.endEdgeSize ?? 0n),
    n64(w?.endEdgeSize ?? 0n),
  ];
}

function layerToNodes(
  b: GraphBuilder,
  l: NeuralNetworkLayer,
  shapes: Map<string, number[]>,
): Node | undefined {
  const where = `layer '${l.name}'`;
  const [x = '', x2 = ''] = l.input;
  const y = l.output[0] ?? '';
  const L = l.layer;
  switch (L.case) {
    case 'convolution': {
      const c = L.value;
      if (c.isDeconvolution) throw new UnsupportedOpError(`coreml: ${where}: deconvolution is not supported`);
      if (c.ConvolutionPaddingType.case !== 'valid') {
        throw new UnsupportedOpError(
          `coreml: ${where}: only explicit (valid + amounts) padding is supported`,
        );
      }
      const [kh = 3, kw = 3] = c.kernelSize.map(n64);
      const cout = n64(c.outputChannels);
      const kc = n64(c.kernelChannels);
      const w = b.init(l.name, weightValues(c.weights, cout * kc * kh * kw, `${where} weights`), [
        cout,
        kc,
        kh,
        kw,
      ]);
      const bias = c.hasBias ? b.init(l.name, weightValues(c.bias, cout, `${where} bias`), [cout]) : null;
      const groups = n64(c.nGroups) || 1;
      b.node('Conv2D', [x, w, bias], [y], {
        strides: c.stride.length ? c.stride.map(n64) : [1, 1],
        pads: edges(c.ConvolutionPaddingType.value.paddingAmounts?.borderAmounts),
        dilations: c.dilationFactor.length ? c.dilationFactor.map(n64) : [1, 1],
        groups,
      });
      return;
    }
    case 'activation': {
      const a = L.value.NonlinearityType;
      if (a.case === 'ReLU') return b.node('Relu', [x], [y]);
      if (a.case === 'sigmoid') return b.node('Sigmoid', [x], [y]);
      if (a.case === 'tanh') return b.node('Tanh', [x], [y]);
      if (a.case === 'sigmoidHard' && Math.abs(a.value.alpha - 1 / 6) < 1e-7 && a.value.beta === 0.5) {
        return b.node('HardSigmoid', [x], [y]);
      }
      throw new UnsupportedOpError(`coreml: ${where}: activation '${a.case ?? 'unset'}' is not supported`);
    }
    case 'clip':
      if (L.value.minVal === 0 && L.value.maxVal === 6) return b.node('Relu6', [x], [y]);
      return b.node('Clip', [x], [y], { min: L.value.minVal, max: L.value.maxVal });
    case 'addBroadcastable':
      return b.node('Add', [x, x2], [y]);
    case 'multiplyBroadcastable':
      return b.node('Mul', [x, x2], [y]);
    case 'subtractBroadcastable':
      return b.node('Sub', [x, x2], [y]);
    case 'reduceMean': {
      const rank = shapes.get(x)?.length ?? 4;
      const axes = L.value.axes.map((a) => (n64(a) + rank) % rank).sort((p, q) => p - q);
      if (rank === 4 && L.value.keepDims && axes.join() === '2,3') return b.node('GlobalAvgPool', [x], [y]);
      return b.node('Mean', [x], [y], { axes, keepDims: L.value.keepDims });
    }
    case 'reshapeStatic':
      return b.node('Reshape', [x], [y], { shape: L.value.targetShape.map(n64) });
    case 'batchedMatmul': {
      const m = L.value;
      if (l.input.length === 2) {
        return b.node('MatMul', [x, x2], [y], { transposeA: m.transposeA, transposeB: m.transposeB });
      }
      const inn = n64(m.weightMatrixFirstDimension);
      const out = n64(m.weightMatrixSecondDimension);
      const w = b.init(l.name, weightValues(m.weights, inn * out, `${where} weights`), [out, inn]);
      const bias = m.hasBias ? b.init(l.name, weightValues(m.bias, out, `${where} bias`), [out]) : null;
      return b.node('Linear', [x, w, bias], [y]);
    }
    case 'softmaxND': {
      const rank = shapes.get(x)?.length ?? 2;
      return b.node('Softmax', [x], [y], { axis: (n64(L.value.axis) + rank) % rank });
    }
    case 'transpose':
      return b.node('Transpose', [x], [y], { perm: L.value.axes.map(n64) });
    case 'concatND': {
      const rank = shapes.get(x)?.length ?? 4;
      return b.node('Concat', [...l.input], [y], { axis: (n64(L.value.axis) + rank) % rank });
    }
    case 'sliceStatic': {
      const s = L.value;
      if ([...s.beginMasks, ...s.endMasks, ...s.squeezeMasks].some(Boolean)) {
        throw new UnsupportedOpError(`coreml: ${where}: slice masks are not supported`);
      }
      return b.node('Slice', [x], [y], {
        begin: s.beginIds.map(n64),
        end: s.endIds.map(n64),
        steps: s.strides.map(n64),
      });
    }
    case 'layerNormalization': {
      const s = L.value;
      const shape = s.normalizedShape.map(n64);
      const size = shape.reduce((p, q) => p * q, 1);
      const g = b.init(l.name, weightValues(s.gamma, size, `${where} gamma`), shape);
      const be = b.init(l.name, weightValues(s.beta, size, `${where} beta`), shape);
      return b.node('LayerNorm', [x, g, be], [y], { epsilon: s.eps, normalizedDims: shape.length });
    }
    case 'pooling': {
      const p = L.value;
      if (p.globalPooling || p.PoolingPaddingType.case !== 'valid') {
        throw new UnsupportedOpError(
          `coreml: ${where}: only explicit-padding, non-global pooling is supported`,
        );
      }
      if (p.type === PoolingLayerParams_PoolingType.L2)
        throw new UnsupportedOpError(`coreml: ${where}: L2 pooling`);
      return b.node(p.type === PoolingLayerParams_PoolingType.MAX ? 'MaxPool2D' : 'AvgPool2D', [x], [y], {
        kernelSize: p.kernelSize.map(n64),
        strides: p.stride.map(n64),
        pads: edges(p.PoolingPaddingType.value.paddingAmounts?.borderAmounts),
        dilations: [1, 1],
        ceilMode: false,
        countIncludePad: !p.avgPoolExcludePadding,
      });
    }
    case 'upsample': {
      const u = L.value;
      const [sh = 1, sw = 1] = u.scalingFactor.map(n64);
      const xs = shapes.get(x);
      if (xs?.length !== 4) throw new FormatError(`coreml: ${where}: upsample input shape unknown`);
      const nearest = u.mode === UpsampleLayerParams_InterpolationMode.NN;
      return b.node('Resize', [x], [y], {
        size: [(xs[2] as number) * sh, (xs[3] as number) * sw],
        mode: nearest ? 'nearest' : 'bilinear',
        coordinateMode:
          !nearest && u.linearUpsampleMode === UpsampleLayerParams_LinearUpsampleMode.ALIGN_CORNERS_TRUE
            ? 'align_corners'
            : nearest
              ? 'asymmetric'
              : 'half_pixel',
      });
    }
    case 'scale': {
      const s = L.value;
      const shape = s.shapeScale.map(n64);
      const size = shape.reduce((p, q) => p * q, 1);
      const sc = b.init(l.name, weightValues(s.scale, size, `${where} scale`), shape);
      if (!s.hasBias) return b.node('Mul', [x, sc], [y]);
      const t = b.tmp(l.name);
      b.node('Mul', [x, sc], [t]);
      const bshape = s.shapeBias.map(n64);
      const bias = b.init(
        l.name,
        weightValues(
          s.bias,
          bshape.reduce((p, q) => p * q, 1),
          `${where} bias`,
        ),
        bshape,
      );
      return b.node('Add', [t, bias], [y]);
    }
    case 'loadConstantND': {
      const shape = L.value.shape.map(n64);
      const data = weightValues(
        L.value.data,
        shape.reduce((p, q) => p * q, 1),
        `${where} data`,
      );
      b.inits.push({ name: y, dtype: 'float32', shape, data });
      return;
    }
    default:
      throw new UnsupportedOpError(
        `coreml: ${where}: layer type '${L.case ?? 'unset'}' is not supported by importCoreML`,
      );
  }
}

/**
 * Reads a Core ML `.mlmodel` (NeuralNetwork or NeuralNetworkClassifier with the layers {@link exportCoreML}
 * writes) into a graph. An image input becomes a float `[1, C, H, W]` input in 0–255 with the model's scaler and
 * normalization as ops; a classifier's output is its probability layer, and its labels go to
 * `metadata.labels` (JSON).
 * @param bytes - the `.mlmodel` file
 * @returns the graph (shapes inferred)
 * @throws {FormatError} for a file that is not a valid Core ML model
 * @throws {UnsupportedOpError} for a layer type or option the reader does not map (naming the layer)
 * @example
 * ```ts
 * const g = importCoreML(exportCoreML(graph));
 * ```
 */
export function importCoreML(bytes: Uint8Array): Graph {
  const model = decodeCoreMLModel(bytes);
  const T = model.Type;
  if (T.case !== 'neuralNetwork' && T.case !== 'neuralNetworkClassifier') {
    throw new UnsupportedOpError(
      `coreml: model type '${T.case ?? 'unset'}' is not supported (NeuralNetwork only)`,
    );
  }
  const nn = T.value;
  const desc = model.description;
  const input = desc?.input[0];
  if (!desc || !input || desc.input.length !== 1)
    throw new FormatError('coreml: the model must describe exactly one input');
  let inShape: number[];
  const it = input.type?.Type;
  if (it?.case === 'multiArrayType') inShape = it.value.shape.map(n64);
  else if (it?.case === 'imageType') {
    inShape = [1, it.value.colorSpace === 10 ? 1 : 3, n64(it.value.height), n64(it.value.width)];
  } else throw new FormatError(`coreml: input '${input.name}' has unsupported type '${it?.case ?? 'unset'}'`);
  if (inShape.some((d) => !Number.isInteger(d) || d <= 0 || d > 1 << 20)) {
    throw new FormatError(`coreml: input '${input.name}' has an invalid shape [${inShape.join(', ')}]`);
  }
  const b = new GraphBuilder();
  const shapes = new Map<string, number[]>([[input.name, inShape]]);
  // Shapes are tracked node by node (upsample/reduce/softmax/concat need their input's rank).
  const infos = new Map<string, ValueInfo>([
    [input.name, { name: input.name, shape: inShape, dtype: 'float32' }],
  ]);
  let tracked = 0;
  const track = (where: string): void => {
    for (const init of b.inits) {
      if (!infos.has(init.name))
        infos.set(init.name, { name: init.name, shape: init.shape, dtype: init.dtype });
    }
    for (const n of b.nodes.slice(tracked)) {
      const ins = n.inputs.map((i) => {
        if (i === null) return null;
        const v = infos.get(i);
        if (!v) throw new FormatError(`coreml: ${where}: input '${i}' is not defined before it`);
        return v;
      });
      inferNode(n, ins).forEach((o, k) => {
        const name = n.outputs[k] as string;
        infos.set(name, { name, ...o });
        shapes.set(name, o.shape as number[]);
      });
    }
    tracked = b.nodes.length;
  };
  // Preprocessing: the image scaler runs before the first layer, on the input itself.
  let source = input.name;
  const pre: NeuralNetworkPreprocessing | undefined = nn.preprocessing.find(
    (p) => p.featureName === input.name,
  );
  const renamed = new Map<string, string>();
  if (pre?.preprocessor.case === 'scaler') {
    const s = pre.preprocessor.value;
    const scaled = b.tmp(`${input.name}_scaled`);
    b.node('Mul', [source, b.init('scaler', Float32Array.of(s.channelScale), [1])], [scaled]);
    const biases = inShape[1] === 1 ? [s.grayBias] : [s.redBias, s.greenBias, s.blueBias];
    const biased = b.tmp(`${input.name}_biased`);
    b.node('Add', [scaled, b.init('scaler', Float32Array.from(biases), [biases.length, 1, 1])], [biased]);
    source = biased;
    renamed.set(input.name, biased);
  } else if (pre)
    throw new UnsupportedOpError(
      `coreml: preprocessing '${pre.preprocessor.case ?? 'unset'}' is not supported`,
    );
  track('preprocessing');
  for (const l of nn.layers) {
    const layer = { ...l, input: l.input.map((i) => renamed.get(i) ?? i) } as NeuralNetworkLayer;
    layerToNodes(b, layer, shapes);
    track(`layer '${l.name}'`);
  }
  const metadata: Record<string, string> = { ...(desc.metadata?.userDefined ?? {}) };
  let outputs = desc.output.map((o) => o.name);
  if (T.case === 'neuralNetworkClassifier') {
    const c = T.value;
    if (c.ClassLabels.case === 'stringClassLabels')
      metadata.labels = JSON.stringify(c.ClassLabels.value.vector);
    else if (c.ClassLabels.case === 'int64ClassLabels')
      metadata.labels = JSON.stringify(c.ClassLabels.value.vector.map(String));
    outputs = [c.labelProbabilityLayerName || (desc.predictedProbabilitiesName ?? '')];
  }
  for (const o of outputs) {
    if (!shapes.has(o)) throw new FormatError(`coreml: output '${o}' is produced by no layer`);
  }
  return inferShapes(
    makeGraph({
      name: desc.metadata?.shortDescription || 'coreml',
      inputs: [input.name],
      outputs,
      nodes: b.nodes,
      values: [{ name: input.name, shape: inShape, dtype: 'float32' }],
      initializers: b.inits,
      metadata,
    }),
  );
}
