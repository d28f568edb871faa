import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { AdamW, argMax, Rng, registerBackend, SGD, StepLR, type Tensor, tensor } from '@tinyvision/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader } from '../data/loader.js';
import { Flatten, Linear, ReLU, Sequential } from '../nn/index.js';
import { CheckpointError, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { Trainer } from './trainer.js';

beforeAll(() => registerBackend(cpu()));

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tv-trainer-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** 4 classes of 1×4×4 images: class c brightens quadrant c; Gaussian-ish noise elsewhere. */
function synthetic(n: number, seed: number) {
  const rng = new Rng(seed);
  return {
    length: n,
    items: Array.from({ length: n }, (_, i) => {
      const label = i % 4;
      const px = Array.from({ length: 16 }, () => rng.next() - 0.5);
      const [r0, c0] = [Math.floor(label / 2) * 2, (label % 2) * 2];
      for (const [dr, dc] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const)
        px[(r0 + dr) * 4 + c0 + dc]! += 1;
      return { px, label };
    }),
  };
}

function loader(n: number, seed: number, shuffle = true) {
  const { items } = synthetic(n, seed);
  return new DataLoader({
    dataset: {
      length: n,
      get: (i: number) => ({ image: tensor(items[i]!.px, [1, 4, 4]), label: items[i]!.label }),
    },
    batchSize: 32,
    shuffle,
    seed: 7,
  });
}

function mlp(seed: number) {
  const rng = new Rng(seed);
  return new Sequential(new Flatten(), new Linear(16, 12, { rng }), new ReLU(), new Linear(12, 4, { rng }));
}

const weights = (m: Sequential) => m.parameters().map((p: Tensor) => Array.from(p.toFloat32()));

describe('Trainer', () => {
  it('fit lowers the loss and beats chance; evaluate agrees with predict; modes are restored', async () => {
    const model = mlp(1);
    const trainer = new Trainer({
      model,
      optimizer: new SGD(model.parameters(), { lr: 0.2, momentum: 0.9 }),
    });
    const seen: number[] = [];
    model.eval();
    const history = await trainer.fit(loader(256, 1), {
      epochs: 3,
      valLoader: loader(64, 2, false),
      onEpoch: (r) => {
        seen.push(r.epoch);
      },
    });
    expect(model.training).toBe(false);
    expect(seen).toEqual([0, 1, 2]);
    expect(history).toHaveLength(3);
    expect(history[2]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    expect(history[2]!.valAccuracy!).toBeGreaterThan(0.5);
    for (const r of history) {
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.imagesPerSecond).toBeGreaterThan(0);
    }
    // evaluate vs predict on the same images
    const { items } = synthetic(64, 2);
    const x = tensor(
      items.flatMap((it) => it.px),
      [64, 1, 4, 4],
    );
    const pred = Array.from(argMax(trainer.predict(x), { axis: 1 }).dataSync());
    const ev = await trainer.evaluate(loader(64, 2, false));
    expect(ev.count).toBe(64);
    const correct = pred.filter((p, i) => p === items[i]!.label).length;
    expect(ev.accuracy).toBeCloseTo(correct / 64, 10);
    expect(ev.accuracy).toBeCloseTo(history[2]!.valAccuracy!, 10);
    expect(ev.confusion.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0)).toBe(64);
    for (let c = 0; c < 4; c++) {
      expect(ev.confusion[c]![c]).toBe(pred.filter((p, i) => p === c && items[i]!.label === c).length);
    }
    expect(model.training).toBe(false);
  });

  it('early stopping stops once the monitored value stops improving', async () => {
    const model = mlp(2);
    // lr 0: nothing changes, so valLoss never improves after the first epoch
    const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0 }) });
    const history = await trainer.fit(loader(64, 1), {
      epochs: 10,
      valLoader: loader(32, 2, false),
      earlyStopping: { patience: 2, minDelta: 1e-6, monitor: 'valLoss' },
    });
    expect(history).toHaveLength(3);
  });

  it('aborts with the signal reason', async () => {
    const model = mlp(3);
    const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(trainer.fit(loader(64, 1), { epochs: 2, signal: ac.signal })).rejects.toThrow('stop now');
  });

  it('resuming from a checkpoint gives the same weights as an uninterrupted run', async () => {
    const make = () => {
      const model = mlp(5);
      const optimizer = new AdamW(model.parameters(), { lr: 0.01 });
      const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
      return { model, optimizer, scheduler };
    };
    const full = make();
    await new Trainer(full).fit(loader(128, 1), { epochs: 3 });

    const dir = await tempDir();
    const a = make();
    const ac = new AbortController();
    await expect(
      new Trainer(a).fit(loader(128, 1), {
        epochs: 3,
        checkpointDir: dir,
        signal: ac.signal,
        onEpoch: (r) => {
          if (r.epoch === 1) ac.abort(new Error('interrupted'));
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(await hasCheckpoint(dir)).toBe(true);

    const b = make();
    const ran: number[] = [];
    const history = await new Trainer(b).fit(loader(128, 1), {
      epochs: 3,
      checkpointDir: dir,
      resume: true,
      onEpoch: (r) => {
        ran.push(r.epoch);
      },
    });
    expect(ran).toEqual([2]); // epochs 0 and 1 came from the checkpoint
    expect(history.map((r) => r.epoch)).toEqual([0, 1, 2]);
    expect(weights(b.model)).toEqual(weights(full.model));
    expect(b.optimizer.paramGroups[0]!.lr).toBeCloseTo(full.optimizer.paramGroups[0]!.lr, 12);
  });

  it('loadCheckpoint restores state and reports missing or corrupt files by name', async () => {
    const dir = await tempDir();
    const src = mlp(6);
    const opt = new SGD(src.parameters(), { lr: 0.1, momentum: 0.9 });
    await new Trainer({ model: src, optimizer: opt }).fit(loader(64, 1), { epochs: 1 });
    await saveCheckpoint(dir, { model: src, optimizer: opt, epoch: 0, history: [] });
    const dst = mlp(7);
    const opt2 = new SGD(dst.parameters(), { lr: 1 });
    const r = await loadCheckpoint(dir, { model: dst, optimizer: opt2 });
    expect(r.epoch).toBe(0);
    expect(weights(dst)).toEqual(weights(src));
    expect(opt2.stateDict()).toEqual(opt.stateDict());

    const empty = await tempDir();
    await expect(loadCheckpoint(empty, { model: dst, optimizer: opt2 })).rejects.toThrow(/trainer\.json/);
    await writeFile(join(dir, 'model.safetensors'), 'garbage');
    const err = await loadCheckpoint(dir, { model: dst, optimizer: opt2 }).catch((e) => e);
    expect(CheckpointError.isInstance(err)).toBe(true);
    expect(err.file).toBe(join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'trainer.json'), '{"oops":');
    await expect(loadCheckpoint(dir, { model: dst, optimizer: opt2 })).rejects.toThrow(CheckpointError);
  });
});
