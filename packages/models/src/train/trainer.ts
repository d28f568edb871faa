import {
  crossEntropy,
  InvalidArgumentError,
  noGrad,
  type Optimizer,
  type Tensor,
  tidy,
} from '@tinyvision/tensor';
import { DataLoader } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import { confusionMatrix, countCorrect, predictClasses } from './metrics.js';

/** A batch the trainer understands: `{images, labels}`, `{image, label}` (as collated by default) or `[x, y]`. */
export type TrainBatch =
  | { readonly images: Tensor; readonly labels: Tensor }
  | { readonly image: Tensor; readonly label: Tensor }
  | readonly [Tensor, Tensor];

/**
 * Batches for one pass (each a {@link TrainBatch}, checked at run time, so a default-typed `DataLoader` fits);
 * a {@link DataLoader} (or anything with `epoch(e)`) is iterated per epoch index.
 */
export type BatchSource<B = unknown> = AsyncIterable<B> | Iterable<B>;

/** A learning-rate scheduler: anything with `step()` (state saved in checkpoints when it has `stateDict`). */
export interface SchedulerLike {
  /** Advances the schedule by one step. */
  step(): void;
  /** The scheduler's position as JSON (optional). */
  stateDict?(): unknown;
  /** Restores a position saved by `stateDict` (optional). */
  loadStateDict?(state: never): void;
}

/** Extra metric: returns a per-batch value, averaged over samples. */
export type MetricFn = (logits: Tensor, labels: Tensor) => number;

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /** The model trained (its parameters are those of `optimizer`). */
  readonly model: Module;
  /** The optimizer over the model's parameters. */
  readonly optimizer: Optimizer;
  /** Optional learning-rate scheduler. */
  readonly scheduler?: SchedulerLike;
  /** When the scheduler steps: after every epoch (default) or every batch. */
  readonly schedulerInterval?: 'epoch' | 'batch';
  /** Loss of `(logits, labels)` reduced to a scalar (default `crossEntropy`). */
  readonly lossFn?: (logits: Tensor, labels: Tensor) => Tensor;
  /** Extra metrics computed on training batches, recorded per epoch in {@link EpochRecord.metrics}. */
  readonly metrics?: Readonly<Record<string, MetricFn>>;
}

/** Early-stopping rule of {@link FitOptions}. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Smallest change counted as an improvement (default 0). */
  readonly minDelta?: number;
  /** Monitored quantity (requires `valLoader`). */
  readonly monitor: 'valLoss' | 'valAccuracy';
}

/** One epoch of {@link Trainer.fit} history. */
export interface EpochRecord {
  /** Epoch index (0-based; the DataLoader epoch used for shuffling). */
  epoch: number;
  /** Mean training loss over samples. */
  trainLoss: number;
  /** Training top-1 accuracy (on the fly, in training mode). */
  trainAccuracy: number;
  /** Validation loss, when a `valLoader` was given. */
  valLoss?: number;
  /** Validation top-1 accuracy, when a `valLoader` was given. */
  valAccuracy?: number;
  /** Extra training metrics by name (sample-weighted means). */
  metrics?: Record<string, number>;
  /** Wall-clock seconds of the epoch (training and validation). */
  seconds: number;
  /** Training images per second. */
  imagesPerSecond: number;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Total number of epochs (a resumed run continues up to this). */
  readonly epochs: number;
  /** Validation batches, evaluated after every epoch. */
  readonly valLoader?: BatchSource;
  /** Called after every epoch (awaited). */
  readonly onEpoch?: (record: EpochRecord, history: readonly EpochRecord[]) => void | Promise<void>;
  /** Stop when the monitored validation quantity stops improving. */
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Aborts training between batches (fit rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Directory where a checkpoint is written after every epoch (Node only; see `saveCheckpoint`). */
  readonly checkpointDir?: string;
  /** Resume from the checkpoint in `checkpointDir` when one exists (default false). */
  readonly resume?: boolean;
}

/** Result of {@link Trainer.evaluate}. */
export interface EvaluateResult {
  /** Mean loss over samples. */
  loss: number;
  /** Top-1 accuracy. */
  accuracy: number;
  /** Confusion matrix, rows = true class. */
  confusion: Int32Array[];
  /** Number of samples. */
  count: number;
  /** The Trainer's extra metrics (e.g. mAP for detectors), averaged over samples. */
  metrics?: Record<string, number>;
}

/** Whether a batch is plain classification (logits `[N, C]`, labels `[N]`), where top-1 and confusion apply. */
function isClassification(logits: Tensor, y: Tensor): boolean {
  return logits.rank === 2 && y.rank === 1;
}

function splitBatch(b: unknown, op: string): [Tensor, Tensor] {
  if (Array.isArray(b) && b.length === 2) return [b[0] as Tensor, b[1] as Tensor];
  const o = b as Record<string, Tensor>;
  if (o && o.images !== undefined && o.labels !== undefined) return [o.images, o.labels];
  if (o && o.image !== undefined && o.label !== undefined) return [o.image, o.label];
  throw new InvalidArgumentError(`${op}: a batch must be {images, labels}, {image, label} or [x, y]`);
}

function epochIterable<B>(src: BatchSource<B>, epoch: number): AsyncIterable<B> | Iterable<B> {
  const e = (src as { epoch?: unknown }).epoch;
  return typeof e === 'function' ? (e.call(src, epoch) as AsyncIterable<B>) : src;
}

function improved(
  value: number,
  best: number,
  minDelta: number,
  monitor: 'valLoss' | 'valAccuracy',
): boolean {
  return monitor === 'valLoss' ? value < best - minDelta : value > best + minDelta;
}

/** Whether early stopping triggers given the history so far. */
function shouldStop(history: readonly EpochRecord[], es: EarlyStoppingOptions): boolean {
  const minDelta = es.minDelta ?? 0;
  let best = Number.NaN;
  let since = 0;
  for (const r of history) {
    const v = r[es.monitor];
    if (v === undefined) continue;
    if (Number.isNaN(best) || improved(v, best, minDelta, es.monitor)) {
      best = v;
      since = 0;
    } else since++;
  }
  return since >= es.patience;
}

/**
 * A training loop for classifiers: epochs of `tidy`-scoped steps in training mode, validation in evaluation
 * mode, early stopping, an abort signal and (in Node) per-epoch checkpoints with resume. Batches come from a
 * {@link DataLoader} (its per-epoch shuffle makes resumed runs reproducible); batch tensors of a DataLoader are
 * disposed after use.
 * @example
 * ```ts
 * const trainer = new Trainer({ model, optimizer: new AdamW(model.parameters(), { lr: 1e-3 }) });
 * const history = await trainer.fit(trainLoader, { epochs: 5, valLoader });
 * const { accuracy, confusion } = await trainer.evaluate(testLoader);
 * ```
 */
export class Trainer {
  /** The model trained. */
  readonly model: Module;
  /** Its optimizer. */
  readonly optimizer: Optimizer;
  /** The learning-rate scheduler, if any. */
  readonly scheduler: SchedulerLike | undefined;
  private readonly schedulerInterval: 'epoch' | 'batch';
  private readonly lossFn: (logits: Tensor, labels: Tensor) => Tensor;
  private readonly metrics: Readonly<Record<string, MetricFn>>;

  /**
   * @param opts - model, optimizer, optional scheduler, loss and metrics
   * @throws {InvalidArgumentError} when the model or optimizer is missing
   */
  constructor(opts: TrainerOptions) {
    if (!opts?.model || typeof opts.model.call !== 'function') {
      throw new InvalidArgumentError("Trainer: 'model' must be a Module");
    }
    if (!opts.optimizer || typeof opts.optimizer.step !== 'function') {
      throw new InvalidArgumentError("Trainer: 'optimizer' must be an Optimizer");
    }
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.scheduler = opts.scheduler;
    this.schedulerInterval = opts.schedulerInterval ?? 'epoch';
    this.lossFn = opts.lossFn ?? ((x, y) => crossEntropy(x, y));
    this.metrics = opts.metrics ?? {};
  }

  /**
   * Trains for `epochs` epochs (from the checkpoint's next epoch when resuming), validating after each.
   * The model is in training mode during training and back in its previous mode afterwards.
   * @param trainLoader - training batches
   * @param opts - epochs, validation, callbacks, early stopping, abort signal, checkpointing
   * @returns the history of every epoch (including resumed ones)
   * @throws {InvalidArgumentError} for invalid options or batches; the signal's reason when aborted;
   *   `CheckpointError` when resuming from a corrupt checkpoint
   * @example
   * ```ts
   * await trainer.fit(loader, { epochs: 10, valLoader, earlyStopping: { patience: 2, monitor: 'valLoss' } });
   * ```
   */
  async fit(trainLoader: BatchSource, opts: FitOptions): Promise<EpochRecord[]> {
    const { epochs, valLoader, earlyStopping: es, signal, checkpointDir } = opts;
    if (!Number.isInteger(epochs) || epochs < 0) {
      throw new InvalidArgumentError(`Trainer.fit: 'epochs' must be a non-negative integer, got ${epochs}`);
    }
    if (es && (!valLoader || !Number.isInteger(es.patience) || es.patience < 1)) {
      throw new InvalidArgumentError(
        "Trainer.fit: 'earlyStopping' needs a 'valLoader' and an integer 'patience' >= 1",
      );
    }
    const ckpt = checkpointDir === undefined ? undefined : await import('./checkpoint.js');
    let history: EpochRecord[] = [];
    let start = 0;
    if (ckpt && opts.resume && (await ckpt.hasCheckpoint(checkpointDir!))) {
      const r = await ckpt.loadCheckpoint(checkpointDir!, this);
      history = r.history;
      start = r.epoch + 1;
    }
    const wasTraining = this.model.training;
    try {
      for (let epoch = start; epoch < epochs; epoch++) {
        if (es && shouldStop(history, es)) break;
        const t0 = performance.now();
        const rec = await this.trainEpoch(trainLoader, epoch, signal);
        const trainSeconds = (performance.now() - t0) / 1000;
        if (valLoader) {
          const v = await this.evaluate(valLoader);
          rec.valLoss = v.loss;
          rec.valAccuracy = v.accuracy;
        }
        rec.seconds = (performance.now() - t0) / 1000;
        rec.imagesPerSecond = trainSeconds > 0 ? rec.imagesPerSecond / trainSeconds : 0;
        if (this.scheduler && this.schedulerInterval === 'epoch') this.scheduler.step();
        history.push(rec);
        if (ckpt)
          await ckpt.saveCheckpoint(checkpointDir!, {
            model: this.model,
            optimizer: this.optimizer,
            scheduler: this.scheduler,
            epoch,
            history,
          });
        await opts.onEpoch?.(rec, history);
      }
    } finally {
      this.model.train(wasTraining);
    }
    return history;
  }

  /** One training epoch; `imagesPerSecond` temporarily holds the image count. */
  private async trainEpoch(loader: BatchSource, epoch: number, signal?: AbortSignal): Promise<EpochRecord> {
    this.model.train();
    const dispose = loader instanceof DataLoader;
    const names = Object.keys(this.metrics);
    const sums = new Map<string, number>(names.map((k) => [k, 0]));
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    for await (const batch of epochIterable(loader, epoch)) {
      signal?.throwIfAborted();
      const [x, y] = splitBatch(batch, 'Trainer.fit');
      const n = x.shape[0] ?? 0;
      tidy(() => {
        const logits = this.model.call(x);
        const loss = this.lossFn(logits, y);
        const l = loss.item();
        if (!Number.isFinite(l))
          throw new InvalidArgumentError(`Trainer.fit: loss is ${l} at epoch ${epoch}`);
        loss.backward();
        this.optimizer.step();
        this.optimizer.zeroGrad();
        lossSum += l * n;
        if (isClassification(logits, y)) correct += countCorrect(logits, y);
        for (const k of names) sums.set(k, sums.get(k)! + this.metrics[k]!(logits, y) * n);
      });
      if (this.scheduler && this.schedulerInterval === 'batch') this.scheduler.step();
      count += n;
      if (dispose) for (const t of [x, y]) t.dispose();
    }
    const rec: EpochRecord = {
      epoch,
      trainLoss: count ? lossSum / count : Number.NaN,
      trainAccuracy: count ? correct / count : 0,
      seconds: 0,
      imagesPerSecond: count,
    };
    if (names.length) rec.metrics = Object.fromEntries(names.map((k) => [k, sums.get(k)! / (count || 1)]));
    return rec;
  }

  /**
   * Evaluates the model over batches in evaluation mode without gradients (mode restored afterwards).
   * A {@link DataLoader} is iterated as its epoch 0.
   * @param loader - evaluation batches
   * @returns mean loss, top-1 accuracy, confusion matrix and sample count
   * @throws {InvalidArgumentError} for invalid batches or labels out of range
   * @example
   * ```ts
   * const { loss, accuracy, confusion } = await trainer.evaluate(testLoader);
   * ```
   */
  async evaluate(loader: BatchSource): Promise<EvaluateResult> {
    const wasTraining = this.model.training;
    this.model.eval();
    const dispose = loader instanceof DataLoader;
    let lossSum = 0;
    let count = 0;
    let numClasses = 0;
    const preds: number[] = [];
    const labels: number[] = [];
    const names = Object.keys(this.metrics);
    const sums = new Map(names.map((k) => [k, 0]));
    try {
      for await (const batch of epochIterable(loader, 0)) {
        const [x, y] = splitBatch(batch, 'Trainer.evaluate');
        const n = x.shape[0] ?? 0;
        noGrad(() =>
          tidy(() => {
            const logits = this.model.call(x);
            lossSum += this.lossFn(logits, y).item() * n;
            for (const k of names)
              sums.set(k, (sums.get(k) ?? 0) + (this.metrics[k] as MetricFn)(logits, y) * n);
            if (!isClassification(logits, y)) return;
            numClasses = logits.shape[1] ?? 0;
            for (const p of predictClasses(logits)) preds.push(p);
            labels.push(...Array.from(y.dataSync() as ArrayLike<number>));
          }),
        );
        count += n;
        if (dispose) for (const t of [x, y]) t.dispose();
      }
    } finally {
      this.model.train(wasTraining);
    }
    let correct = 0;
    for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) correct++;
    return {
      loss: count ? lossSum / count : Number.NaN,
      accuracy: count ? correct / count : 0,
      confusion: numClasses ? confusionMatrix(preds, labels, numClasses) : [],
      count,
      ...(names.length
        ? { metrics: Object.fromEntries(names.map((k) => [k, (sums.get(k) ?? 0) / (count || 1)])) }
        : {}),
    };
  }

  /**
   * Runs the model in evaluation mode without gradients (mode restored afterwards).
   * @param images - a batch of inputs, e.g. `[N, C, H, W]`
   * @returns the logits (owned by the caller)
   * @example
   * ```ts
   * const classes = argMax(trainer.predict(images), { axis: 1 });
   * ```
   */
  predict(images: Tensor): Tensor {
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      return noGrad(() => this.model.call(images));
    } finally {
      this.model.train(wasTraining);
    }
  }
}
