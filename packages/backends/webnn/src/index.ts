/**
 * The NPU path of tinyvision: WebNN detection with a clear fallback reason, and accelerator compatibility
 * reports (Edge TPU, NNAPI, Apple Neural Engine, WebNN) computed from published constraints kept as data.
 * @packageDocumentation
 */
export { type WebNNOptions, webnn } from './backend.js';
export {
  type CheckOptions,
  type CompatibilityReport,
  checkCompatibility,
  formatCompatibilityReport,
  type NodeCompatibility,
  type Partition,
  type Placement,
} from './check.js';
export {
  type MLLike,
  type ProbeOptions,
  probeWebNN,
  type WebNNDeviceType,
  type WebNNProbe,
} from './probe.js';
export {
  ANE,
  EDGETPU,
  NNAPI,
  type NodeView,
  type OpRule,
  TARGETS,
  type TargetName,
  type TargetSpec,
  WEBNN,
} from './targets.js';
