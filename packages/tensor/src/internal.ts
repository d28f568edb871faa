/**
 * Cross-package internals of `@tinyvision/tensor` (no semver promise).
 * @packageDocumentation
 */

export { defineGradient, lookupGradient } from './autograd/gradients.js';
export { ensureGradients } from './autograd/grads/index.js';
export { keepDimsShape } from './autograd/grads/reduce.js';
export { onesLike, unbroadcast, zerosLike } from './autograd/util.js';
export { registryState, resetRegistry } from './backend/registry.js';
export {
  engineState,
  type GradNode,
  makeTensor,
  readSync,
  runView,
  Storage,
  setTraceHook,
  toInfo,
} from './engine.js';
export { resolveShape } from './ops/movement.js';
export {
  assertFloat,
  assertRank,
  assertSameDType,
  assertTensor,
  pair,
  type TensorOrScalar,
  toTensor,
} from './ops/util.js';
export * from './quant.js';
