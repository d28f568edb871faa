/**
 * `@tinyvision/deploy/node`: Node-only parts: key files, installing bundles into a model directory with
 * rollback, health checks, the update server and client, and the inference server.
 * @packageDocumentation
 */
export { type ModelHealthCheckOptions, modelHealthCheck } from './node/health.js';
export { type GeneratedKeys, generateSigningKeys, loadPublicKey, loadSigner } from './node/keys.js';
export { type ModelServerOptions, serveModel } from './node/serve-model.js';
export {
  checkHealth,
  type HealthCheck,
  type HealthReport,
  type InstalledModel,
  type InstallOptions,
  type InstallResult,
  installBundle,
  rollbackModel,
  type StoreStatus,
  storeStatus,
} from './node/store.js';
export {
  type CheckOptions,
  checkForUpdate,
  type DownloadOptions,
  downloadAndInstall,
  type UpdateCheck,
  type UpdateResult,
} from './node/update-client.js';
export {
  type RunningServer,
  type ServeOptions,
  serveUpdates,
  type UpdateIndex,
  type UpdateIndexEntry,
} from './node/update-server.js';
