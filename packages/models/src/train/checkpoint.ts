import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Optimizer, type OptimizerStateDict, TinyVisionError } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import type { Module } from '../nn/module.js';
import { loadSafetensors, saveSafetensors } from '../nn/safetensors-node.js';
import type { EpochRecord, SchedulerLike } from './trainer.js';

/** File name of the model weights in a checkpoint directory. */
export const CHECKPOINT_MODEL_FILE = 'model.safetensors';
/** File name of the trainer state (optimizer, scheduler, epoch, history) in a checkpoint directory. */
export const CHECKPOINT_TRAINER_FILE = 'trainer.json';

/**
 * A checkpoint file is missing, unreadable or does not fit the model/optimizer. The message names the file.
 * @example
 * ```ts
 * try { await loadCheckpoint(dir, { model, optimizer }); } catch (e) { if (CheckpointError.isInstance(e)) … }
 * ```
 */
export class CheckpointError extends TinyVisionError {
  /** The file at fault. */
  readonly file: string;
  /**
   * @param file - path of the file at fault
   * @param message - what went wrong
   * @param options - `cause`
   */
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`checkpoint '${file}': ${message}`, 'CHECKPOINT', options);
    this.file = file;
  }
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointState {
  /** The model (its state dict goes to `model.safetensors`). */
  readonly model: Module;
  /** The optimizer (its JSON state dict goes to `trainer.json`). */
  readonly optimizer: Optimizer;
  /** Optional scheduler, saved when it has `stateDict`. */
  readonly scheduler?: SchedulerLike | undefined;
  /** Index of the last completed epoch. */
  readonly epoch: number;
  /** Training history up to `epoch`. */
  readonly history: readonly EpochRecord[];
}

/** Targets restored by {@link loadCheckpoint}. */
export interface CheckpointTargets {
  /** Model receiving the weights. */
  readonly model: Module;
  /** Optimizer receiving its state. */
  readonly optimizer: Optimizer;
  /** Scheduler receiving its state, when both it and the checkpoint have one. */
  readonly scheduler?: SchedulerLike | undefined;
}

interface TrainerFile {
  format: 'tinyvision.trainer';
  version: 1;
  epoch: number;
  history: EpochRecord[];
  optimizer: OptimizerStateDict;
  scheduler?: unknown;
}

/**
 * Writes a checkpoint to `dir` (created if needed): `model.safetensors` then `trainer.json`, each atomically,
 * so the JSON (written last) always describes complete weights.
 * @param dir - checkpoint directory
 * @param state - model, optimizer, optional scheduler, last epoch and history
 * @returns resolves once both files are durable
 * @throws a file-system error
 * @example
 * ```ts
 * await saveCheckpoint('ckpt', { model, optimizer, epoch: 3, history });
 * ```
 */
export async function saveCheckpoint(dir: string, state: CheckpointState): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveSafetensors(join(dir, CHECKPOINT_MODEL_FILE), state.model, { epoch: String(state.epoch) });
  const body: TrainerFile = {
    format: 'tinyvision.trainer',
    version: 1,
    epoch: state.epoch,
    history: [...state.history],
    optimizer: state.optimizer.stateDict(),
  };
  if (state.scheduler?.stateDict) body.scheduler = state.scheduler.stateDict();
  await writeFileAtomic(join(dir, CHECKPOINT_TRAINER_FILE), JSON.stringify(body));
}

/**
 * Whether `dir` holds a checkpoint (its `trainer.json` exists).
 * @param dir - checkpoint directory
 * @returns true when `trainer.json` exists
 * @example
 * ```ts
 * if (await hasCheckpoint('ckpt')) await loadCheckpoint('ckpt', { model, optimizer });
 * ```
 */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, CHECKPOINT_TRAINER_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Restores a checkpoint written by {@link saveCheckpoint} into a model and optimizer (and scheduler).
 * @param dir - checkpoint directory
 * @param targets - model, optimizer and optional scheduler
 * @returns the last completed epoch and the history
 * @throws {CheckpointError} naming the file when it is missing, corrupt or does not fit the targets
 * @example
 * ```ts
 * const { epoch, history } = await loadCheckpoint('ckpt', { model, optimizer });
 * ```
 */
export async function loadCheckpoint(
  dir: string,
  targets: CheckpointTargets,
): Promise<{ epoch: number; history: EpochRecord[] }> {
  const jsonPath = join(dir, CHECKPOINT_TRAINER_FILE);
  const modelPath = join(dir, CHECKPOINT_MODEL_FILE);
  let body: TrainerFile;
  try {
    body = JSON.parse(await readFile(jsonPath, 'utf8')) as TrainerFile;
  } catch (e) {
    throw new CheckpointError(jsonPath, `cannot read trainer state (${(e as Error).message})`, { cause: e });
  }
  if (
    body?.format !== 'tinyvision.trainer' ||
    !Number.isInteger(body.epoch) ||
    !Array.isArray(body.history) ||
    typeof body.optimizer !== 'object'
  ) {
    throw new CheckpointError(
      jsonPath,
      'not a tinyvision trainer state (expected format, epoch, history, optimizer)',
    );
  }
  try {
    const { tensors } = await loadSafetensors(modelPath);
    targets.model.loadStateDict(tensors);
  } catch (e) {
    throw new CheckpointError(modelPath, `cannot restore model weights (${(e as Error).message})`, {
      cause: e,
    });
  }
  try {
    targets.optimizer.loadStateDict(body.optimizer);
    if (body.scheduler !== undefined && targets.scheduler?.loadStateDict) {
      targets.scheduler.loadStateDict(body.scheduler as never);
    }
  } catch (e) {
    throw new CheckpointError(jsonPath, `cannot restore optimizer state (${(e as Error).message})`, {
      cause: e,
    });
  }
  return { epoch: body.epoch, history: body.history };
}
