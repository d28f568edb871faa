/**
 * `@tinyvision/export`: model writers. ONNX (fp32, opset 13–17) from the tinyvision graph IR; Node file helpers
 * are in `@tinyvision/export/node`.
 * @packageDocumentation
 */
export {
  DEFAULT_ONNX_OPSET,
  type ExportOnnxOptions,
  exportOnnx,
  MAX_ONNX_OPSET,
  MIN_ONNX_OPSET,
  ONNX_IR_VERSION,
  onnxSupportedOps,
} from './onnx/writer.js';
