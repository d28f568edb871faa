/**
 * `@tinyvision/models/node`: Node-only helpers (file system): safetensors files for state dicts.
 *
 * @example
 * ```ts
 * import { loadSafetensors, saveSafetensors } from '@tinyvision/models/node';
 * await saveSafetensors('model.safetensors', model);
 * model.loadStateDict((await loadSafetensors('model.safetensors')).tensors);
 * ```
 * @packageDocumentation
 */
export { loadSafetensors, saveSafetensors } from './nn/safetensors-node.js';
export {
  CHECKPOINT_MODEL_FILE,
  CHECKPOINT_TRAINER_FILE,
  CheckpointError,
  type CheckpointState,
  type CheckpointTargets,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './train/checkpoint.js';
