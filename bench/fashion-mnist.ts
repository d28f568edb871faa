/**
 * Fashion-MNIST accuracy target: trains the MobileNetV1-style `FashionMobileNet` (bench/fashion-mnist-model.ts)
 * in TypeScript on the CPU backend on the FULL Fashion-MNIST (60,000 training / 10,000 test images of the Debian
 * package `dataset-fashion-mnist`), AdamW + OneCycle (per batch), random horizontal flips, and evaluates on the
 * test set after every epoch.
 *
 * Run: `nice -n 10 npx tsx --conditions=@tinyvision/source bench/fashion-mnist.ts [--epochs 5] [--batch 64]
 * [--lr 0.004] [--wd 0.0001] [--seed 0] [--chunks 4] [--limit N] [--data DIR] [--ckpt DIR] [--resume] [--out FILE]`.
 * Every epoch is visited in `--chunks` parts, with a test evaluation and a checkpoint after each part.
 * Writes `bench/results/fashion-mnist.json` (atomically, after every epoch, so a partial run leaves a result)
 * with the test accuracy per epoch, wall time and training images/s; a checkpoint is written to `--ckpt`
 * (default /tmp/tinyvision-fashion-mnist-ckpt) after every epoch and `--resume` continues from it.
 * @packageDocumentation
 */
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import {
  DataLoader,
  type EpochRecord,
  FASHION_MNIST_CLASSES,
  loadFashionMnist,
  SYSTEM_FASHION_MNIST_DIR,
  Trainer,
} from '@tinyvision/models';
import { AdamW, fromStorage, manualSeed, OneCycleLR, Rng, registerBackend } from '@tinyvision/tensor';
import { writeFileAtomic } from '@tinyvision/tensor/node';
import { FashionMobileNet } from './fashion-mnist-model.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const EPOCHS = Number(opt('epochs') ?? 5);
const BATCH = Number(opt('batch') ?? 64);
const LR = Number(opt('lr') ?? 0.004);
const WD = Number(opt('wd') ?? 1e-4);
const SEED = Number(opt('seed') ?? 0);
const LIMIT = opt('limit') === undefined ? undefined : Number(opt('limit'));
const DATA = opt('data') ?? SYSTEM_FASHION_MNIST_DIR;
const CKPT = opt('ckpt') ?? '/tmp/tinyvision-fashion-mnist-ckpt';
const OUT = opt('out') ?? join(HERE, 'results', 'fashion-mnist.json');
const CHUNKS = Number(opt('chunks') ?? 4);
const MEAN = 0.286;
const STD = 0.353;
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  registerBackend(cpu());
  manualSeed(SEED);
  const t0 = performance.now();
  const load = (split: 'train' | 'test') =>
    loadFashionMnist({ split, source: DATA, mean: MEAN, std: STD, ...(LIMIT ? { limit: LIMIT } : {}) });
  const [train, test] = await Promise.all([load('train'), load('test')]);
  // Items are indices; batches are cut straight out of the pixel arrays (one copy per batch).
  const rng = new Rng(SEED + 1);
  const PIX = 28 * 28;
  const makeCollate = (images: Float32Array, labels: ArrayLike<number>, flip: boolean) => (idx: number[]) => {
    const x = new Float32Array(idx.length * PIX);
    const y = new Int32Array(idx.length);
    idx.forEach((i, k) => {
      const src = images.subarray(i * PIX, (i + 1) * PIX);
      if (flip && rng.next() < 0.5) {
        for (let r = 0; r < 28; r++)
          for (let c = 0; c < 28; c++) x[k * PIX + r * 28 + c] = src[r * 28 + 27 - c]!;
      } else x.set(src, k * PIX);
      y[k] = labels[i]!;
    });
    return {
      images: fromStorage(x, [idx.length, 1, 28, 28], 'float32'),
      labels: fromStorage(y, [idx.length], 'int32'),
    };
  };
  const indices = (n: number) => ({ length: n, get: (i: number) => i });
  const trainPix = train.images.dataSync() as Float32Array;
  const testPix = test.images.dataSync() as Float32Array;
  // The training set is visited in CHUNKS parts per epoch; each part is one Trainer "epoch" (a full test
  // evaluation and a checkpoint after each), so a slow run leaves results often. Epoch E visits a seeded
  // permutation of the training set, part by part.
  const collateTrain = makeCollate(trainPix, train.labels.dataSync() as Int32Array, true);
  const perChunk = Math.ceil(train.count / CHUNKS);
  const batchesPerChunk = Math.ceil(perChunk / BATCH);
  const trainSource = {
    [Symbol.iterator]() {
      return this.epoch(0);
    },
    *epoch(sub: number) {
      const e = Math.floor(sub / CHUNKS);
      const part = sub % CHUNKS;
      const order = Array.from({ length: train.count }, (_, i) => i);
      const r = new Rng(SEED * 7919 + e);
      for (let i = order.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const mine = order.slice(part * perChunk, Math.min(train.count, (part + 1) * perChunk));
      for (let b = 0; b < mine.length; b += BATCH) {
        const batch = collateTrain(mine.slice(b, b + BATCH));
        yield batch;
        // not a DataLoader, so the Trainer leaves the batch to us: it is done with it once it asks for the next
        batch.images.dispose();
        batch.labels.dispose();
      }
    },
  };
  const testLoader = new DataLoader({
    dataset: indices(test.count),
    batchSize: 250,
    collate: makeCollate(testPix, test.labels.dataSync() as Int32Array, false),
  });
  const model = new FashionMobileNet();
  const optimizer = new AdamW(model.parameters(), { lr: LR, weightDecay: WD });
  const scheduler = new OneCycleLR(optimizer, {
    maxLr: LR,
    epochs: EPOCHS * CHUNKS,
    stepsPerEpoch: batchesPerChunk,
  });
  const trainer = new Trainer({ model, optimizer, scheduler, schedulerInterval: 'batch' });
  const loadBefore = loadavg()[0]!;
  console.log(
    `FashionMobileNet: ${model.numParameters()} params; ${train.count} train / ${test.count} test images from ${DATA}; ` +
      `${EPOCHS} epochs in ${CHUNKS} parts each, batch ${BATCH}, AdamW lr ${LR} (OneCycle) wd ${WD}`,
  );
  const write = async (history: readonly EpochRecord[], done: boolean) => {
    const trainSeconds = history.reduce((s, r) => s + r.seconds, 0);
    const imgs = history.reduce((s, r) => s + r.imagesPerSecond, 0) / (history.length || 1);
    const last = history.at(-1);
    const result = {
      benchmark: 'fashion-mnist',
      date: new Date().toISOString(),
      complete: done,
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        logicalCores: cpus().length,
        os: `${process.platform} ${release()}`,
        node: process.version,
        loadAverage: [round(loadBefore, 2), round(loadavg()[0]!, 2)],
        note: 'shared VM (2 vCPUs, other processes running), run under nice -n 10; single-threaded CPU backend',
      },
      model: {
        name: 'FashionMobileNet (bench/fashion-mnist-model.ts)',
        architecture:
          'conv3x3 1→24 s1 | dw3x3 s2 + pw 24→64 | dw3x3 + pw 64→64 | dw3x3 s2 + pw 64→128 | dw3x3 + pw 128→128 | GAP | dropout 0.1 | linear 128→10; BN + ReLU after every conv',
        params: model.numParameters(),
      },
      config: {
        dataset: DATA,
        trainImages: train.count,
        testImages: test.count,
        epochs: EPOCHS,
        evaluatedEvery: `${1 / CHUNKS} epoch (${perChunk} training images)`,
        batch: BATCH,
        optimizer: `AdamW(lr ${LR}, weightDecay ${WD}), OneCycleLR(maxLr ${LR}) stepped per batch`,
        augmentation: 'random horizontal flip (p 0.5)',
        normalize: { mean: MEAN, std: STD },
        seed: SEED,
      },
      epochs: history.map((r) => ({
        epoch: round((r.epoch + 1) / CHUNKS, 3),
        train_loss: round(r.trainLoss),
        train_accuracy: round(r.trainAccuracy),
        test_loss: round(r.valLoss ?? Number.NaN),
        test_accuracy: round(r.valAccuracy ?? Number.NaN),
        seconds: round(r.seconds, 1),
        images_per_s: round(r.imagesPerSecond, 1),
      })),
      test_accuracy: last?.valAccuracy === undefined ? null : round(last.valAccuracy),
      best_test_accuracy: history.length ? round(Math.max(...history.map((r) => r.valAccuracy ?? 0))) : null,
      // wall time of this process (a resumed run restarts it; train_eval_s sums every part's time)
      wall_s: round((performance.now() - t0) / 1000, 1),
      train_eval_s: round(trainSeconds, 1),
      images_per_s: round(imgs, 1),
    };
    await writeFileAtomic(OUT, `${JSON.stringify(result, null, 1)}\n`);
    return result;
  };
  const history = await trainer.fit(trainSource, {
    epochs: EPOCHS * CHUNKS,
    valLoader: testLoader,
    checkpointDir: CKPT,
    resume: args.includes('--resume'),
    onEpoch: async (r, h) => {
      console.log(
        `${new Date().toISOString()} epoch ${((r.epoch + 1) / CHUNKS).toFixed(2)}/${EPOCHS}: train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(2)}% | test loss ${r.valLoss?.toFixed(4)} acc ${(100 * (r.valAccuracy ?? 0)).toFixed(2)}% | ${r.seconds.toFixed(0)} s, ${r.imagesPerSecond.toFixed(0)} img/s`,
      );
      await write(h, false);
    },
  });
  const final = await write(history, true);
  const ev = await trainer.evaluate(testLoader);
  console.log(`final test accuracy ${(100 * ev.accuracy).toFixed(2)}%; wall ${final.wall_s} s`);
  console.log('per-class accuracy:');
  ev.confusion.forEach((row, c) => {
    const n = row.reduce((s, v) => s + v, 0);
    console.log(`  ${FASHION_MNIST_CLASSES[c]!.padEnd(12)} ${((100 * row[c]!) / (n || 1)).toFixed(1)}%`);
  });
}

await main();
