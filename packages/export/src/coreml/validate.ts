// validateCoreML: structural checks of a `.mlmodel` against the Core ML spec (no Core ML runtime exists on Linux).
import type { FeatureDescription, Model } from './generated/Model_pb.js';
import type { NeuralNetworkLayer, WeightParams } from './generated/NeuralNetwork_pb.js';
import { decodeCoreMLModel } from './nn-reader.js';

/** Result of {@link validateCoreML}. */
export interface CoreMLValidation {
  /** True when no issue was found. */
  readonly ok: boolean;
  /** The file's `specificationVersion`. */
  readonly specificationVersion: number;
  /** The lowest specification version the features used need. */
  readonly requiredVersion: number;
  /** The model type (`neuralNetwork`, `neuralNetworkClassifier`, `mlProgram`, …). */
  readonly modelType: string;
  /** Number of NeuralNetwork layers (0 for other model types). */
  readonly layers: number;
  /** Every problem found, each naming the layer/feature. */
  readonly issues: readonly string[];
}

/** Layers introduced with specification version 4 (iOS 13, "rank-N" NeuralNetwork). */
const V4_LAYERS = new Set([
  'clip',
  'addBroadcastable',
  'multiplyBroadcastable',
  'subtractBroadcastable',
  'softmaxND',
  'concatND',
  'transpose',
  'sliceStatic',
  'batchedMatmul',
  'reshapeStatic',
  'reduceMean',
  'layerNormalization',
  'loadConstantND',
]);

/** Number of values a WeightParams holds, and the version its encoding needs. */
function weightCount(w: WeightParams): { count: number; version: number } {
  if (w.floatValue.length > 0) return { count: w.floatValue.length, version: 1 };
  if (w.float16Value.byteLength > 0) return { count: w.float16Value.byteLength / 2, version: 2 };
  if (w.rawValue.byteLength > 0) {
    const bits = Number(w.quantization?.numberOfBits ?? 0);
    return { count: bits > 0 ? (w.rawValue.byteLength * 8) / bits : Number.NaN, version: 3 };
  }
  return { count: 0, version: 1 };
}

function checkFeature(f: FeatureDescription, kind: string, issues: string[]): void {
  if (!f.name) issues.push(`${kind} feature without a name`);
  const t = f.type?.Type;
  if (!t || t.case === undefined) {
    issues.push(`${kind} '${f.name}': type not set`);
    return;
  }
  if (t.case === 'multiArrayType') {
    if (t.value.shape.length === 0) issues.push(`${kind} '${f.name}': multi-array without a shape`);
    if (t.value.shape.some((d) => d <= 0n)) issues.push(`${kind} '${f.name}': non-positive dim`);
    if (t.value.dataType === 0) issues.push(`${kind} '${f.name}': INVALID_ARRAY_DATA_TYPE`);
  }
  if (t.case === 'imageType') {
    if (t.value.width <= 0n || t.value.height <= 0n) issues.push(`${kind} '${f.name}': image without a size`);
    if (t.value.colorSpace === 0) issues.push(`${kind} '${f.name}': INVALID_COLOR_SPACE`);
  }
}

function checkLayerWeights(l: NeuralNetworkLayer, issues: string[], need: (v: number) => void): void {
  const w = (p: WeightParams | undefined, expected: number, what: string) => {
    if (!p) {
      issues.push(`layer '${l.name}': ${what} missing`);
      return;
    }
    const { count, version } = weightCount(p);
    need(version);
    if (count !== expected)
      issues.push(`layer '${l.name}': ${what} has ${count} values, expected ${expected}`);
    const q = p.quantization?.QuantizationType;
    if (q?.case === 'linearQuantization') {
      const rows = q.value.scale.length;
      if (rows === 0 || (q.value.bias.length !== 0 && q.value.bias.length !== rows)) {
        issues.push(`layer '${l.name}': ${what}: ${rows} scales and ${q.value.bias.length} biases`);
      }
    }
  };
  const L = l.layer;
  switch (L.case) {
    case 'convolution': {
      const c = L.value;
      const [kh = 3n, kw = 3n] = c.kernelSize;
      const cout = Number(c.outputChannels);
      if (cout <= 0 || c.kernelChannels <= 0n)
        issues.push(`layer '${l.name}': outputChannels/kernelChannels not set`);
      w(c.weights, cout * Number(c.kernelChannels) * Number(kh) * Number(kw), 'weights');
      if (c.hasBias) w(c.bias, cout, 'bias');
      if (c.ConvolutionPaddingType.case === undefined) issues.push(`layer '${l.name}': padding type not set`);
      return;
    }
    case 'batchedMatmul': {
      const m = L.value;
      if (l.input.length === 1) {
        const x1 = Number(m.weightMatrixFirstDimension);
        const x2 = Number(m.weightMatrixSecondDimension);
        w(m.weights, x1 * x2, 'weights');
        if (m.hasBias) w(m.bias, x2, 'bias');
      }
      return;
    }
    case 'layerNormalization': {
      const n = L.value.normalizedShape.reduce((a, b) => a * Number(b), 1);
      w(L.value.gamma, n, 'gamma');
      w(L.value.beta, n, 'beta');
      return;
    }
    case 'loadConstantND':
      w(
        L.value.data,
        L.value.shape.reduce((a, b) => a * Number(b), 1),
        'data',
      );
      return;
    case 'scale': {
      w(
        L.value.scale,
        L.value.shapeScale.reduce((a, b) => a * Number(b), 1),
        'scale',
      );
      if (L.value.hasBias)
        w(
          L.value.bias,
          L.value.shapeBias.reduce((a, b) => a * Number(b), 1),
          'bias',
        );
      return;
    }
    default:
  }
}

/**
 * Checks a Core ML `.mlmodel` against the specification as far as a file can be checked without Core ML
 * (which does not run on Linux): it decodes with code generated from Apple's protos; the description names and
 * types every input and output; NeuralNetwork layers have unique names, a layer type, inputs produced by the
 * model input or an earlier layer, and weight arrays of the size their parameters imply; classifier labels and
 * probability layer are consistent; and `specificationVersion` is at least what the features used need
 * (rank-N layers and exact array mapping: 4; quantized weights: 3; float16 weights: 2; ML Program: 6).
 * @param bytes - the `.mlmodel` file (for an `.mlpackage`, its `Data/com.apple.CoreML/model.mlmodel`)
 * @returns the validation result
 * @throws {FormatError} when the bytes do not decode as a Core ML `Model`
 * @example
 * ```ts
 * const v = validateCoreML(exportCoreML(graph));
 * if (!v.ok) console.log(v.issues);
 * ```
 */
export function validateCoreML(bytes: Uint8Array): CoreMLValidation {
  const model: Model = decodeCoreMLModel(bytes);
  const issues: string[] = [];
  let required = 1;
  const need = (v: number) => {
    required = Math.max(required, v);
  };
  const version = model.specificationVersion;
  if (version < 1 || version > 10) issues.push(`specificationVersion ${version} is outside 1–10`);
  const d = model.description;
  if (!d) issues.push('model description missing');
  const inputs = d?.input ?? [];
  const outputs = d?.output ?? [];
  if (inputs.length === 0) issues.push('no input features');
  if (outputs.length === 0) issues.push('no output features');
  for (const f of inputs) checkFeature(f, 'input', issues);
  for (const f of outputs) checkFeature(f, 'output', issues);
  const T = model.Type;
  let layers = 0;
  if (T.case === 'mlProgram') need(6);
  if (T.case === 'neuralNetwork' || T.case === 'neuralNetworkClassifier') {
    const nn = T.value;
    layers = nn.layers.length;
    if (nn.arrayInputShapeMapping === 1 || nn.imageInputShapeMapping === 1) need(4);
    const defined = new Set(inputs.map((f) => f.name));
    const names = new Set<string>();
    for (const p of nn.preprocessing) {
      if (!defined.has(p.featureName)) issues.push(`preprocessing for unknown input '${p.featureName}'`);
    }
    for (const l of nn.layers) {
      if (!l.name) issues.push('a layer without a name');
      else if (names.has(l.name)) issues.push(`duplicate layer name '${l.name}'`);
      names.add(l.name);
      if (l.layer.case === undefined) issues.push(`layer '${l.name}': layer type not set`);
      if (V4_LAYERS.has(l.layer.case ?? '')) need(4);
      if (l.layer.case === 'upsample' && l.layer.value.linearUpsampleMode !== 0) need(4);
      for (const i of l.input)
        if (!defined.has(i)) issues.push(`layer '${l.name}': input '${i}' is not defined before it`);
      if (l.output.length === 0) issues.push(`layer '${l.name}': no outputs`);
      for (const o of l.output) defined.add(o);
      checkLayerWeights(l, issues, need);
    }
    if (T.case === 'neuralNetworkClassifier') {
      const c = T.value;
      const labels = c.ClassLabels.case === undefined ? 0 : c.ClassLabels.value.vector.length;
      if (labels === 0) issues.push('classifier without class labels');
      if (!defined.has(c.labelProbabilityLayerName)) {
        issues.push(`labelProbabilityLayerName '${c.labelProbabilityLayerName}' is produced by no layer`);
      }
      const outNames = new Set(outputs.map((o) => o.name));
      if (!d?.predictedFeatureName || !outNames.has(d.predictedFeatureName)) {
        issues.push(`predictedFeatureName '${d?.predictedFeatureName ?? ''}' is not an output`);
      }
      if (d?.predictedProbabilitiesName && !outNames.has(d.predictedProbabilitiesName)) {
        issues.push(`predictedProbabilitiesName '${d.predictedProbabilitiesName}' is not an output`);
      }
    } else {
      for (const o of outputs)
        if (!defined.has(o.name)) issues.push(`output '${o.name}' is produced by no layer`);
    }
  }
  if (version < required) {
    issues.push(`specificationVersion ${version} is below ${required}, which the features used need`);
  }
  return {
    ok: issues.length === 0,
    specificationVersion: version,
    requiredVersion: required,
    modelType: T.case ?? 'unset',
    layers,
    issues,
  };
}
