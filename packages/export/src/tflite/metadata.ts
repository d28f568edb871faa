// TFLite model metadata (tflite-support metadata_schema.fbs, identifier "M001") in the `TFLITE_METADATA`
// buffer: model name/version/author/license, input image properties and normalization, output labels as an
// associated file. TFLite Support packs associated files as a zip archive appended to the model; flatbuffer
// readers ignore trailing bytes and zip readers find the archive from its end.
import { InvalidArgumentError } from '@tinyvision/tensor';
import { zipSync } from 'fflate';
import { Builder } from 'flatbuffers';
import {
  AssociatedFile,
  AssociatedFileType,
  ColorSpaceType,
  Content,
  ContentProperties,
  ImageProperties,
  ImageSize,
  ModelMetadata,
  NormalizationOptions,
  ProcessUnit,
  ProcessUnitOptions,
  SubGraphMetadata,
  TensorMetadata,
} from './generated/metadata_schema_generated.js';

/** Name of the `Model.metadata` entry holding the metadata flatbuffer. */
export const TFLITE_METADATA_NAME = 'TFLITE_METADATA';
/** Name of the labels file in the appended zip archive. */
export const TFLITE_LABELS_FILE = 'labels.txt';

/** Model metadata written by {@link exportTflite} (TFLite Support's `ModelMetadata`). */
export interface TfliteMetadataOptions {
  /** Model name (default: the graph name). */
  readonly name?: string;
  /** Free-text description. */
  readonly description?: string;
  /** Model version string. */
  readonly version?: string;
  /** Author. */
  readonly author?: string;
  /** License. */
  readonly license?: string;
  /** Per-channel input normalization `(x − mean) / std` (one value or one per channel). */
  readonly mean?: readonly number[];
  /** See {@link TfliteMetadataOptions.mean}; same length, all > 0. */
  readonly std?: readonly number[];
  /** Class labels of output 0, one per class; written as `labels.txt` (TENSOR_AXIS_LABELS). */
  readonly labels?: readonly string[];
}

/** The image input shape the metadata describes (NHWC). @internal */
export interface ImageInput {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/**
 * Builds the metadata flatbuffer.
 * @param opts - metadata
 * @param input - the image input (or undefined for non-image models)
 * @param inputName - first input tensor name
 * @param outputName - first output tensor name
 * @param fallbackName - model name when `opts.name` is absent
 * @returns the `M001` flatbuffer bytes
 * @internal
 */
export function buildMetadata(
  opts: TfliteMetadataOptions,
  input: ImageInput | undefined,
  inputName: string,
  outputName: string,
  fallbackName: string,
): Uint8Array {
  const { mean, std } = opts;
  if ((mean === undefined) !== (std === undefined) || (mean && std && mean.length !== std.length)) {
    throw new InvalidArgumentError(
      "exportTflite: metadata 'mean' and 'std' must be given together, same length",
    );
  }
  if (std?.some((s) => !(s > 0) || !Number.isFinite(s)) || mean?.some((m) => !Number.isFinite(m))) {
    throw new InvalidArgumentError("exportTflite: metadata 'std' must be positive and 'mean' finite");
  }
  if (mean && input && mean.length !== 1 && mean.length !== input.channels) {
    throw new InvalidArgumentError(
      `exportTflite: metadata 'mean' has ${mean.length} values for ${input.channels} input channels`,
    );
  }
  const b = new Builder(1024);
  const str = (s: string | undefined) => (s === undefined ? 0 : b.createString(s));
  // input tensor: image properties + normalization
  let content = 0;
  if (input) {
    const size = ImageSize.createImageSize(b, input.width, input.height);
    ImageProperties.startImageProperties(b);
    ImageProperties.addColorSpace(b, input.channels === 1 ? ColorSpaceType.GRAYSCALE : ColorSpaceType.RGB);
    ImageProperties.addDefaultSize(b, size);
    const props = ImageProperties.endImageProperties(b);
    Content.startContent(b);
    Content.addContentPropertiesType(b, ContentProperties.ImageProperties);
    Content.addContentProperties(b, props);
    content = Content.endContent(b);
  }
  let units = 0;
  if (mean && std) {
    const norm = NormalizationOptions.createNormalizationOptions(
      b,
      NormalizationOptions.createMeanVector(b, [...mean]),
      NormalizationOptions.createStdVector(b, [...std]),
    );
    units = TensorMetadata.createProcessUnitsVector(b, [
      ProcessUnit.createProcessUnit(b, ProcessUnitOptions.NormalizationOptions, norm),
    ]);
  }
  const inName = str(inputName);
  TensorMetadata.startTensorMetadata(b);
  TensorMetadata.addName(b, inName);
  if (content) TensorMetadata.addContent(b, content);
  if (units) TensorMetadata.addProcessUnits(b, units);
  const inMeta = TensorMetadata.endTensorMetadata(b);
  // output tensor: labels file
  let files = 0;
  if (opts.labels) {
    const file = AssociatedFile.createAssociatedFile(
      b,
      str(TFLITE_LABELS_FILE),
      str('class labels, one per line'),
      AssociatedFileType.TENSOR_AXIS_LABELS,
      0,
      0,
    );
    files = TensorMetadata.createAssociatedFilesVector(b, [file]);
  }
  const outName = str(outputName);
  TensorMetadata.startTensorMetadata(b);
  TensorMetadata.addName(b, outName);
  if (files) TensorMetadata.addAssociatedFiles(b, files);
  const outMeta = TensorMetadata.endTensorMetadata(b);
  const sub = SubGraphMetadata.createSubGraphMetadata(
    b,
    0,
    0,
    SubGraphMetadata.createInputTensorMetadataVector(b, [inMeta]),
    SubGraphMetadata.createOutputTensorMetadataVector(b, [outMeta]),
    0,
    0,
    0,
    0,
    0,
    0,
  );
  const root = ModelMetadata.createModelMetadata(
    b,
    str(opts.name ?? fallbackName),
    str(opts.description),
    str(opts.version),
    ModelMetadata.createSubgraphMetadataVector(b, [sub]),
    str(opts.author),
    str(opts.license),
    0,
    str('1.0.0'),
  );
  b.finish(root, 'M001');
  return b.asUint8Array().slice();
}

/**
 * The zip archive of associated files TFLite Support appends to a model (stored, uncompressed).
 * @param labels - class labels
 * @returns the zip bytes
 * @internal
 */
export function labelsZip(labels: readonly string[]): Uint8Array {
  for (const l of labels) {
    if (/[\n\r]/.test(l)) throw new InvalidArgumentError(`exportTflite: label '${l}' contains a line break`);
  }
  const text = new TextEncoder().encode(`${labels.join('\n')}\n`);
  return zipSync({ [TFLITE_LABELS_FILE]: [text, { level: 0 }] });
}
