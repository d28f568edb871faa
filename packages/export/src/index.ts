/**
 * `@tinyvision/export`: model writers. ONNX (fp32, opset 13–17) from the tinyvision graph IR; Node file helpers
 * are in `@tinyvision/export/node`.
 * @packageDocumentation
 */

export type { CoreMLImageInput, CoreMLWeights, ExportCoreMLOptions } from './coreml/common.js';
export { importMLPackage } from './coreml/mlprogram-reader.js';
export { type MLPackageValidation, validateMLPackage } from './coreml/mlprogram-validate.js';
export {
  exportMLPackage,
  MLPACKAGE_MODEL_PATH,
  MLPACKAGE_WEIGHTS_PATH,
  type MLPackage,
  MLPROGRAM_LABELS_KEY,
  mlprogramSupportedOps,
} from './coreml/mlprogram-writer.js';
export { importCoreML, MAX_COREML_BYTES } from './coreml/nn-reader.js';
export { COREML_NN_SPEC_VERSION, coremlSupportedOps, exportCoreML } from './coreml/nn-writer.js';
export { type CoreMLValidation, validateCoreML } from './coreml/validate.js';
export {
  type ExternalDataReader,
  type ImportOnnxOptions,
  importOnnx,
  MAX_IMPORT_OPSET,
  MIN_IMPORT_OPSET,
  type OnnxConstantInput,
  onnxImportableOps,
} from './onnx/import.js';
export {
  DEFAULT_ONNX_OPSET,
  type ExportOnnxOptions,
  exportOnnx,
  MAX_ONNX_OPSET,
  MIN_ONNX_OPSET,
  ONNX_IR_VERSION,
  onnxSupportedOps,
} from './onnx/writer.js';
export { inspectTflite, type TfliteSummary, type TfliteTensorInfo } from './tflite/inspect.js';
export { TFLITE_LABELS_FILE, TFLITE_METADATA_NAME, type TfliteMetadataOptions } from './tflite/metadata.js';
export { importTflite } from './tflite/reader.js';
export {
  type ExportTfliteOptions,
  exportTflite,
  type TfliteQuantization,
  tfliteSupportedOps,
} from './tflite/writer.js';
