// Graph IR: types, trace, inference, validation, passes, execution, .tvm serialisation.

export type { GraphPass } from './edit.js';
export {
  createGraphRunner,
  type GraphInputs,
  type GraphRunner,
  type GraphRunResult,
  type NodeFallback,
  runGraph,
} from './execute.js';
export { inferNode, inferShapes, isKnownOp } from './infer.js';
export type { OutputInfo } from './infer-context.js';
export { DEFAULT_PASSES, type OptimizeOptions, optimizeGraph } from './optimize.js';
export {
  eliminateDeadCode,
  type FoldConstantsOptions,
  foldConstants,
  removeIdentities,
} from './pass-basic.js';
export { foldBatchNorm, fuseActivations } from './pass-fuse.js';
export { SLICE_END_MAX } from './rules-movement.js';
export { sha256Hex } from './sha256.js';
export { consumers, producers, topoSort } from './topo.js';
export { type TraceOptions, type TraceOutput, trace } from './trace.js';
export { type DecodeTvmOptions, decodeTvm } from './tvm-decode.js';
export { type EncodeTvmOptions, encodeTvm } from './tvm-encode.js';
export { TVM_FORMAT_VERSION, TVM_MAGIC } from './tvm-format.js';
export {
  type Dim,
  GRAPH_IR_VERSION,
  type Graph,
  type GraphParts,
  type Initializer,
  initializerInfo,
  makeGraph,
  type Node,
  type ValueInfo,
  type ValueRef,
  withGraph,
} from './types.js';
export { validateGraph } from './validate.js';
