/**
 * `@tinyvision/deploy`: signed model bundles (format, Ed25519 verification with WebCrypto, delta patches),
 * on-device monitoring and hybrid edge/cloud routing. Everything here runs in browsers and Node; installing
 * to a directory, update servers and key files live in `@tinyvision/deploy/node`.
 * @packageDocumentation
 */
export {
  type CreateBundleOptions,
  createBundle,
  inspectBundle,
  type ReadBundleOptions,
  readBundle,
  resolveFiles,
  type VerifiedBundle,
} from './bundle.js';
export { type BundleSigner, keyIdOf, sha256, verifyEd25519 } from './crypto.js';
export { applyDelta, createDelta, type DeltaOptions } from './delta.js';
export {
  BundleExpiredError,
  BundleIntegrityError,
  BundleSignatureError,
  BundleVersionError,
  HealthCheckError,
  SizeLimitError,
  UnsafePathError,
  UpdateServerError,
} from './errors.js';
export {
  assertSafePath,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleFileEntry,
  type BundleLimits,
  type BundleManifest,
  compareVersions,
  type FilePatch,
  type ModelMetadata,
  type Preprocessing,
  parseManifest,
  RUNTIME_VERSION,
} from './manifest.js';
export {
  createDriftReference,
  type DriftReference,
  Monitor,
  type MonitorOptions,
  type MonitorSnapshot,
  type Observation,
  psi,
} from './monitor.js';
export {
  graphPredictor,
  HybridRouter,
  type HybridRouterOptions,
  httpPredictor,
  type Prediction,
  type Predictor,
  type RoutedPrediction,
  type RouteReason,
  type RouterStats,
  toPrediction,
} from './router.js';
