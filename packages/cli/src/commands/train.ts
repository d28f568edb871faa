import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { startProgress } from '../progress.js';

/** File in a training output folder describing how to rebuild the model and what the run measured. */
const TRAIN_RECORD_FILE = 'tinyvision-train.json';

/** Options of `tinyvision train`, as commander parses them. */
interface TrainFlags {
  readonly model?: string;
  readonly dataset: string;
  readonly epochs?: string;
  readonly out?: string;
  readonly batch: string;
  readonly lr: string;
  readonly weightDecay: string;
  readonly width?: string;
  readonly resolution?: string;
  readonly seed: string;
  readonly limit?: string;
  readonly json?: boolean;
}

/** Options of `tinyvision eval`, as commander parses them. */
interface EvalFlags {
  readonly checkpoint?: string;
  readonly dataset?: string;
  readonly split: string;
  readonly batch: string;
  readonly limit?: string;
  readonly json?: boolean;
}

/** What `train` writes to {@link TRAIN_RECORD_FILE} (and reads back in `eval`). */
interface TrainRecord {
  readonly format: 'tinyvision.train-record';
  readonly version: 1;
  readonly model: string;
  readonly options: {
    readonly width?: number;
    readonly resolution: number;
    readonly numClasses: number;
    readonly inChannels: number;
  };
  readonly dataset: string;
  readonly classNames: readonly string[];
  readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[] };
  readonly config: Record<string, unknown>;
  readonly result?: Record<string, unknown>;
}

/** A command-line mistake: reported as one line, exit code 1. */
class UsageError extends Error {}

const NUMBER_KINDS = {
  int: ['a non-negative integer', (n: number) => Number.isSafeInteger(n) && n >= 0],
  'positive-int': ['a positive integer', (n: number) => Number.isSafeInteger(n) && n >= 1],
  positive: ['a positive number', (n: number) => Number.isFinite(n) && n > 0],
  'non-negative': ['a non-negative number', (n: number) => Number.isFinite(n) && n >= 0],
} as const;

function parseNumber(flag: string, value: string | undefined, kind: keyof typeof NUMBER_KINDS): number {
  const n = value === undefined || value.trim() === '' ? Number.NaN : Number(value);
  const [want, ok] = NUMBER_KINDS[kind];
  if (!ok(n)) throw new UsageError(`--${flag} must be ${want}, got '${value ?? ''}'`);
  return n;
}

const round = (v: number, d = 4): number => Math.round(v * 10 ** d) / 10 ** d;

/** The model input grid a family accepts: 64 for MobileViT, 32 for the others. */
function resolutionStep(model: string): number {
  return model.startsWith('mobilevit') ? 64 : 32;
}

type Models = typeof import('@tinyvision/models');
type TensorLib = typeof import('@tinyvision/tensor');
type Tensor = import('@tinyvision/tensor').Tensor;
type Classification = import('@tinyvision/models').ClassificationData;

/**
 * Loads a classification split (image folders at `resolution`, default 32) and resizes it (bilinear) to
 * `resolution` when given and different.
 */
async function loadSplit(
  models: Models,
  tv: TensorLib,
  spec: string,
  split: 'train' | 'test',
  opts: {
    limit?: number | undefined;
    normalization?: Classification['normalization'];
    resolution?: number | undefined;
  },
): Promise<Classification> {
  const size = opts.resolution === undefined ? undefined : ([opts.resolution, opts.resolution] as const);
  const d = await models.loadDataset(spec, {
    split,
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    ...(opts.normalization ? { normalization: opts.normalization } : {}),
    ...(size ? { size } : {}),
  });
  if (d.task !== 'classification') {
    d.images.dispose();
    throw new UsageError(
      `dataset '${spec}' is a ${d.task} dataset; train and eval work on classification datasets`,
    );
  }
  return opts.resolution === undefined ? d : resizeSplit(tv, d, opts.resolution);
}

/** The split with its images resized (bilinear) to `r`×`r`, or unchanged when they already are. */
function resizeSplit(tv: TensorLib, d: Classification, r: number): Classification {
  const [, , h, w] = d.images.shape as [number, number, number, number];
  if (h === r && w === r) return d;
  const images = tv.resize(d.images, { size: [r, r], mode: 'bilinear' });
  d.images.dispose();
  return { ...d, images };
}

/** Batches of `{images, labels}` cut from the dataset tensors, optionally shuffled per epoch. */
function makeLoader(
  models: Models,
  tv: TensorLib,
  d: Classification,
  batchSize: number,
  shuffle: boolean,
  seed: number,
) {
  const [n, c, h, w] = d.images.shape as [number, number, number, number];
  const per = c * h * w;
  const px = d.images.dataSync() as Float32Array;
  const lab = d.labels.dataSync() as Int32Array;
  return new models.DataLoader({
    dataset: { length: n, get: (i: number) => i },
    batchSize,
    shuffle,
    seed,
    collate: (idx: number[]) => {
      const x = new Float32Array(idx.length * per);
      idx.forEach((i, k) => x.set(px.subarray(i * per, (i + 1) * per), k * per));
      return {
        images: tv.fromStorage(x, [idx.length, c, h, w], 'float32'),
        labels: tv.fromStorage(
          Int32Array.from(idx, (i) => lab[i]!),
          [idx.length],
          'int32',
        ),
      };
    },
  });
}

function confusionTable(confusion: readonly ArrayLike<number>[], classNames: readonly string[]): string {
  const names = classNames.map((n, i) => (n.length > 12 ? `${i}` : n));
  const w = Math.max(5, ...names.map((n) => n.length));
  const cell = Math.max(5, ...confusion.flatMap((r) => Array.from(r, (v) => String(v).length + 1)));
  const head = `${'true\\pred'.padEnd(w)} ${names.map((_, i) => String(i).padStart(cell)).join('')}`;
  const rows = confusion.map(
    (r, i) =>
      `${`${i} ${names[i] ?? ''}`.padEnd(w)} ${Array.from(r, (v) => String(v).padStart(cell)).join('')}`,
  );
  return [head, ...rows].join('\n');
}

/** Trains a zoo model; see {@link addTrainCommand}. */
async function runTrain(o: TrainFlags, io: CliIO): Promise<void> {
  if (!o.model) throw new UsageError('--model is required (see `tinyvision zoo list`)');
  if (!o.out) throw new UsageError('--out is required: the folder that receives the checkpoint');
  const epochs = parseNumber('epochs', o.epochs, 'positive-int');
  const batch = parseNumber('batch', o.batch, 'positive-int');
  const lr = parseNumber('lr', o.lr, 'positive');
  const weightDecay = parseNumber('weight-decay', o.weightDecay, 'non-negative');
  const seed = parseNumber('seed', o.seed, 'int');
  const width = o.width === undefined ? undefined : parseNumber('width', o.width, 'positive');
  const resolutionFlag =
    o.resolution === undefined ? undefined : parseNumber('resolution', o.resolution, 'positive-int');
  const limit = o.limit === undefined ? undefined : parseNumber('limit', o.limit, 'positive-int');
  const [tv, { cpu }, models, fs, path, tvNode] = await Promise.all([
    import('@tinyvision/tensor'),
    import('@tinyvision/backend-cpu'),
    import('@tinyvision/models'),
    import('node:fs/promises'),
    import('node:path'),
    import('@tinyvision/tensor/node'),
  ]);
  if (!models.isModelName(o.model)) {
    throw new UsageError(`unknown model '${o.model}'; valid names: ${models.MODEL_NAMES.join(', ')}`);
  }
  const name = o.model;
  if (models.ZOO[name].family === 'yolo') {
    throw new UsageError(`'${name}' is a detector; tinyvision train trains image classifiers`);
  }
  const outStat = await fs.stat(o.out).catch(() => undefined);
  if (outStat && !outStat.isDirectory()) throw new UsageError(`--out '${o.out}' exists and is not a folder`);
  tv.registerBackend(cpu());
  tv.manualSeed(seed);
  models.parseDatasetSpec(o.dataset);

  // Everything is checked (flags, data, model options) before the output folder is touched.
  const t0 = performance.now();
  const raw = await loadSplit(models, tv, o.dataset, 'train', { limit, resolution: resolutionFlag });
  const [, inChannels, h, w] = raw.images.shape as [number, number, number, number];
  const step = resolutionStep(name);
  const resolution = resolutionFlag ?? Math.max(step, Math.ceil(Math.max(h, w) / step) * step);
  const train = resizeSplit(tv, raw, resolution);
  const test = await loadSplit(models, tv, o.dataset, 'test', {
    resolution,
    normalization: train.normalization,
    limit,
  });
  const numClasses = Math.max(2, train.classNames.length);
  const modelOpts = { ...(width === undefined ? {} : { width }), resolution, numClasses, inChannels };
  const model = models.createModel(name, modelOpts);
  const trainLoader = makeLoader(models, tv, train, batch, true, seed);
  const testLoader = makeLoader(models, tv, test, Math.max(batch, 64), false, 0);
  const optimizer = new tv.AdamW(model.parameters(), { lr, weightDecay });
  const scheduler = new tv.OneCycleLR(optimizer, { maxLr: lr, epochs, stepsPerEpoch: trainLoader.length });
  const trainer = new models.Trainer({ model, optimizer, scheduler, schedulerInterval: 'batch' });
  const record: TrainRecord = {
    format: 'tinyvision.train-record',
    version: 1,
    model: name,
    options: modelOpts,
    dataset: o.dataset,
    classNames: train.classNames,
    normalization: train.normalization,
    config: {
      epochs,
      batch,
      lr,
      weightDecay,
      seed,
      optimizer: 'AdamW + OneCycleLR (per batch)',
      trainImages: train.count,
      testImages: test.count,
    },
  };

  // Batches pass through here to drive the progress bar; each is disposed once the trainer asks for the next.
  const progress = startProgress(
    epochs * trainLoader.length,
    o.json ? undefined : io.progressStream,
    `epoch 1/${epochs}`,
  );
  const ticking = {
    [Symbol.asyncIterator]() {
      return this.epoch(0);
    },
    async *epoch(e: number) {
      for await (const b of trainLoader.epoch(e)) {
        const batchTensors = b as { images: Tensor; labels: Tensor };
        yield batchTensors;
        batchTensors.images.dispose();
        batchTensors.labels.dispose();
        progress.tick(`epoch ${e + 1}/${epochs}`);
      }
    },
  };
  await fs.mkdir(o.out, { recursive: true });
  const recordPath = path.join(o.out, TRAIN_RECORD_FILE);
  await tvNode.writeFileAtomic(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  let history: Awaited<ReturnType<typeof trainer.fit>>;
  try {
    history = await trainer.fit(ticking, {
      epochs,
      valLoader: testLoader,
      checkpointDir: o.out,
      onEpoch: (r) => {
        if (o.json) return;
        io.out(
          `epoch ${r.epoch + 1}/${epochs}  train loss ${r.trainLoss.toFixed(4)}  train acc ${(100 * r.trainAccuracy).toFixed(2)}%  ` +
            `test loss ${(r.valLoss ?? Number.NaN).toFixed(4)}  test acc ${(100 * (r.valAccuracy ?? 0)).toFixed(2)}%  ` +
            `${r.seconds.toFixed(1)} s  ${r.imagesPerSecond.toFixed(0)} img/s\n`,
        );
      },
    });
  } finally {
    progress.stop();
  }
  const last = history.at(-1)!;
  const result = {
    model: name,
    dataset: o.dataset,
    epochs,
    batch,
    lr,
    params: model.numParameters(),
    resolution,
    in_channels: inChannels,
    train_images: train.count,
    test_images: test.count,
    train_loss: round(last.trainLoss),
    train_accuracy: round(last.trainAccuracy),
    test_loss: round(last.valLoss ?? Number.NaN),
    test_accuracy: round(last.valAccuracy ?? 0),
    history: history.map((r) => ({
      epoch: r.epoch + 1,
      train_loss: round(r.trainLoss),
      train_accuracy: round(r.trainAccuracy),
      test_loss: round(r.valLoss ?? Number.NaN),
      test_accuracy: round(r.valAccuracy ?? 0),
      seconds: round(r.seconds, 2),
      images_per_s: round(r.imagesPerSecond, 1),
    })),
    wall_s: round((performance.now() - t0) / 1000, 2),
    images_per_s: round(history.reduce((s, r) => s + r.imagesPerSecond, 0) / history.length, 1),
    checkpoint: o.out,
  };
  // The trainer's checkpoint holds the weights of the last epoch; the record (rewritten atomically) adds the results.
  await tvNode.writeFileAtomic(recordPath, `${JSON.stringify({ ...record, result }, null, 2)}\n`);
  if (o.json) io.out(`${JSON.stringify(result)}\n`);
  else
    io.out(
      `trained ${name} (${result.params} params) on ${o.dataset}: test accuracy ${(100 * result.test_accuracy).toFixed(2)}% ` +
        `in ${result.wall_s.toFixed(1)} s (${result.images_per_s} img/s); checkpoint in ${o.out}\n`,
    );
}

/** Evaluates a `train` output folder; see {@link addTrainCommand}. */
async function runEval(o: EvalFlags, io: CliIO): Promise<void> {
  if (!o.checkpoint) throw new UsageError('--checkpoint is required: a folder written by `tinyvision train`');
  const batch = parseNumber('batch', o.batch, 'positive-int');
  const limit = o.limit === undefined ? undefined : parseNumber('limit', o.limit, 'positive-int');
  if (o.split !== 'train' && o.split !== 'test')
    throw new UsageError(`--split must be train or test, got '${o.split}'`);
  const [tv, { cpu }, models, fs, path] = await Promise.all([
    import('@tinyvision/tensor'),
    import('@tinyvision/backend-cpu'),
    import('@tinyvision/models'),
    import('node:fs/promises'),
    import('node:path'),
  ]);
  const { loadSafetensors, CHECKPOINT_MODEL_FILE } = await import('@tinyvision/models/node');
  const recordPath = path.join(o.checkpoint, TRAIN_RECORD_FILE);
  let rec: TrainRecord;
  try {
    rec = JSON.parse(await fs.readFile(recordPath, 'utf8')) as TrainRecord;
  } catch (e) {
    throw new UsageError(
      `cannot read '${recordPath}' (${(e as Error).message}); --checkpoint must be a folder written by \`tinyvision train\``,
    );
  }
  if (
    rec?.format !== 'tinyvision.train-record' ||
    !models.isModelName(rec.model) ||
    typeof rec.options !== 'object'
  ) {
    throw new UsageError(
      `'${recordPath}' is not a tinyvision train record (format 'tinyvision.train-record')`,
    );
  }
  const weightsPath = path.join(o.checkpoint, CHECKPOINT_MODEL_FILE);
  if (!(await fs.stat(weightsPath).catch(() => undefined))?.isFile()) {
    throw new UsageError(
      `'${weightsPath}' is missing: the checkpoint has no weights (did training finish an epoch?)`,
    );
  }
  tv.registerBackend(cpu());
  const spec = o.dataset ?? rec.dataset;
  const data = await loadSplit(models, tv, spec, o.split as 'train' | 'test', {
    resolution: rec.options.resolution,
    normalization: rec.normalization,
    limit,
  });
  const c = data.images.shape[1];
  if (c !== rec.options.inChannels) {
    throw new UsageError(
      `dataset '${spec}' has ${c}-channel images but the model was trained on ${rec.options.inChannels}-channel images`,
    );
  }
  const model = models.createModel(rec.model, rec.options);
  const st = await loadSafetensors(weightsPath);
  model.loadStateDict(st.tensors);
  model.eval();
  const numClasses = rec.options.numClasses;
  const preds: number[] = [];
  const labels = Array.from(data.labels.dataSync() as Int32Array);
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) {
    throw new UsageError(
      `dataset '${spec}' has label ${labels[bad]} but the model has ${numClasses} classes`,
    );
  }
  const loader = makeLoader(models, tv, data, batch, false, 0);
  const t0 = performance.now();
  const progress = startProgress(loader.length, o.json ? undefined : io.progressStream, 'evaluating');
  try {
    for await (const b of loader) {
      const { images, labels: y } = b as { images: Tensor; labels: Tensor };
      tv.noGrad(() => tv.tidy(() => preds.push(...models.predictClasses(model.call(images)))));
      images.dispose();
      y.dispose();
      progress.tick('evaluating');
    }
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const confusion = models.confusionMatrix(preds, labels, numClasses);
  const accuracy = preds.filter((p, i) => p === labels[i]).length / (preds.length || 1);
  const classNames =
    rec.classNames.length === numClasses
      ? rec.classNames
      : Array.from({ length: numClasses }, (_, i) => String(i));
  const result = {
    checkpoint: o.checkpoint,
    model: rec.model,
    dataset: spec,
    split: o.split,
    count: preds.length,
    accuracy: round(accuracy),
    class_names: classNames,
    confusion: confusion.map((r) => Array.from(r)),
    per_class_accuracy: confusion.map((r, i) => round(r[i]! / (r.reduce((s, v) => s + v, 0) || 1))),
    seconds: round(seconds, 2),
  };
  if (o.json) {
    io.out(`${JSON.stringify(result)}\n`);
    return;
  }
  io.out(
    `${rec.model} on ${spec} (${o.split}, ${result.count} images): top-1 accuracy ${(100 * accuracy).toFixed(2)}%\n\n` +
      `confusion matrix (rows: true class, columns: predicted):\n${confusionTable(confusion, classNames)}\n`,
  );
}

/**
 * Adds `train` and `eval` to a commander program.
 *
 * `tinyvision train --model NAME --dataset SPEC --epochs N --out DIR [--batch B] [--lr LR] [--width W]
 * [--resolution R] [--seed S] [--limit N] [--json]` trains a zoo model (input channels and classes taken from
 * the data; images resized to the resolution, by default the data's size rounded up to the family's grid)
 * with AdamW and a one-cycle schedule, evaluates on the test split after every epoch, checkpoints into DIR
 * after every epoch (atomic writes) and writes `tinyvision-train.json` there; `--json` prints one object
 * `{model, dataset, epochs, train_loss, test_accuracy, wall_s, images_per_s, history, …}`.
 *
 * `tinyvision eval --checkpoint DIR [--dataset SPEC] [--split test] [--json]` reports top-1 accuracy and the
 * confusion matrix. Bad flags, a bad dataset spec or missing files exit 1 with one message, before anything is
 * written.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addTrainCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  const fail = async (cmd: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (e) {
      const { TinyVisionError } = await import('@tinyvision/tensor');
      if (!(e instanceof UsageError) && !TinyVisionError.isInstance(e)) throw e;
      io.err(`tinyvision ${cmd}: ${e.message}\n`);
      setExit(1);
    }
  };
  program
    .command('train')
    .description('train a zoo model on a classification dataset and checkpoint it')
    .option('--model <name>', 'zoo model (see `tinyvision zoo list`)')
    .option(
      '--dataset <spec>',
      'embedded | fashion-mnist | idx:DIR | folder:DIR (default: the embedded Fashion-MNIST subset)',
      'embedded',
    )
    .option('--epochs <n>', 'number of epochs')
    .option('--out <dir>', 'folder receiving the checkpoint and tinyvision-train.json')
    .option('--batch <b>', 'batch size', '32')
    .option('--lr <lr>', 'peak learning rate (AdamW, one-cycle)', '0.002')
    .option('--weight-decay <wd>', 'AdamW weight decay', '0.0001')
    .option('--width <w>', 'width multiplier')
    .option('--resolution <r>', 'input resolution (default: the image size rounded up to the family grid)')
    .option('--seed <s>', 'seed of the weights and the shuffle', '0')
    .option('--limit <n>', 'use only the first n images of each split')
    .option('--json', 'print one JSON object at the end instead of per-epoch lines')
    .action((o: TrainFlags) => fail('train', () => runTrain(o, io)));
  program
    .command('eval')
    .description('top-1 accuracy and confusion matrix of a `tinyvision train` checkpoint')
    .option('--checkpoint <dir>', 'folder written by `tinyvision train`')
    .option('--dataset <spec>', 'dataset spec (default: the one it was trained on)')
    .option('--split <split>', 'train or test', 'test')
    .option('--batch <b>', 'batch size', '100')
    .option('--limit <n>', 'use only the first n images')
    .option('--json', 'print one JSON object instead of text')
    .action((o: EvalFlags) => fail('eval', () => runEval(o, io)));
  return program;
}
