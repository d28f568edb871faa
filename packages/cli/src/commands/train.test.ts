import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

const root = mkdtempSync(join(tmpdir(), 'tv-cli-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => resetRegistry());

/** A tiny, fast run: MobileNetV1 ×0.25 on 64 embedded Fashion-MNIST images resized to 32×32. */
const TINY = [
  '--model',
  'mobilenet_v1',
  '--width',
  '0.25',
  '--epochs',
  '1',
  '--batch',
  '32',
  '--limit',
  '64',
];

describe('tinyvision train / eval (in-process)', () => {
  const dir = join(root, 'run');
  let trained: Record<string, unknown>;

  it('train --json trains on the embedded data, checkpoints and reports the run', async () => {
    const io = capture();
    expect(await main(['train', ...TINY, '--dataset', 'embedded', '--out', dir, '--json'], io)).toBe(0);
    trained = JSON.parse(io.stdout()) as Record<string, unknown>;
    expect(trained).toMatchObject({
      model: 'mobilenet_v1',
      dataset: 'embedded',
      epochs: 1,
      resolution: 32,
      in_channels: 1,
      train_images: 64,
      test_images: 64,
      checkpoint: dir,
    });
    for (const k of ['train_loss', 'test_accuracy', 'wall_s', 'images_per_s']) {
      expect(typeof trained[k], k).toBe('number');
      expect(Number.isFinite(trained[k] as number), k).toBe(true);
    }
    expect(trained.test_accuracy as number).toBeGreaterThanOrEqual(0);
    expect(trained.test_accuracy as number).toBeLessThanOrEqual(1);
    expect(trained.history as unknown[]).toHaveLength(1);
    for (const f of ['model.safetensors', 'trainer.json', 'tinyvision-train.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const rec = JSON.parse(readFileSync(join(dir, 'tinyvision-train.json'), 'utf8'));
    expect(rec.options).toEqual({ width: 0.25, resolution: 32, numClasses: 10, inChannels: 1 });
    expect(rec.result.test_accuracy).toBe(trained.test_accuracy);
    // stdout holds exactly one JSON document and no progress bar
    expect(io.stdout().trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('eval recomputes the same test accuracy from the checkpoint, with a confusion matrix', async () => {
    const io = capture();
    expect(await main(['eval', '--checkpoint', dir, '--limit', '64', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout()) as { accuracy: number; count: number; confusion: number[][] };
    expect(r.count).toBe(64);
    expect(r.accuracy).toBe(trained.test_accuracy);
    expect(r.confusion).toHaveLength(10);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(64);
    const correct = r.confusion.reduce((s, row, i) => s + row[i]!, 0);
    expect(correct / 64).toBeCloseTo(r.accuracy, 4);

    const text = capture();
    expect(await main(['eval', '--checkpoint', dir, '--limit', '64'], text)).toBe(0);
    expect(text.stdout()).toMatch(/top-1 accuracy \d+\.\d\d%/);
    expect(text.stdout()).toMatch(/confusion matrix \(rows: true class/);
    expect(text.stdout()).toMatch(/9 Ankle boot/);
  }, 30_000);

  it('prints one line per epoch without --json', async () => {
    const io = capture();
    const out = join(root, 'text');
    expect(await main(['train', ...TINY, '--epochs', '2', '--limit', '32', '--out', out], io)).toBe(0);
    const lines = io.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^epoch 1\/2 {2}train loss \d+\.\d{4} {2}train acc .*test acc \d+\.\d\d%/);
    expect(lines[1]).toMatch(/^epoch 2\/2 /);
    expect(lines[2]).toMatch(/^trained mobilenet_v1 .* test accuracy/);
  }, 60_000);

  it('trains on an RGB image folder (3 input channels, resized to the resolution)', async () => {
    const data = join(root, 'folder');
    for (const [c, cls] of ['dark', 'light'].entries()) {
      mkdirSync(join(data, cls), { recursive: true });
      for (let k = 0; k < 5; k++) {
        const p = new PNG({ width: 8, height: 8 });
        p.data = Buffer.alloc(8 * 8 * 4, c === 0 ? 20 + k : 230 - k);
        writeFileSync(join(data, cls, `${k}.png`), PNG.sync.write(p));
      }
    }
    const io = capture();
    const out = join(root, 'folder-run');
    const args = ['train', '--model', 'mobilenet_v1', '--width', '0.25', '--epochs', '1', '--batch', '4'];
    expect(await main([...args, '--dataset', `folder:${data}`, '--out', out, '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout())).toMatchObject({
      in_channels: 3,
      resolution: 32,
      train_images: 8,
      test_images: 2,
    });
    const rec = JSON.parse(readFileSync(join(out, 'tinyvision-train.json'), 'utf8'));
    expect(rec.classNames).toEqual(['dark', 'light']);
  }, 30_000);

  it.each([
    [['--model', 'resnet50'], /unknown model 'resnet50'; valid names: mobilenet_v1/],
    [['--dataset', 'mnist'], /dataset 'mnist': unknown dataset kind 'mnist'; expected one of embedded/],
    [['--dataset', 'idx:/nonexistent/tv'], /folder '\/nonexistent\/tv' does not exist/],
    [['--dataset', 'synthetic-detection:4'], /is a detection dataset/],
    [['--epochs', '0'], /--epochs must be a positive integer, got '0'/],
    [['--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
    [['--resolution', '40'], /'resolution' must be a multiple of 32/],
  ])('rejects %j with exit 1 and writes nothing', async (extra, re) => {
    const io = capture();
    const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
    expect(await main(['train', ...TINY, '--out', out, ...extra], io)).toBe(1);
    expect(io.stderr()).toMatch(/^tinyvision train: /);
    expect(io.stderr()).toMatch(re);
    expect(existsSync(out)).toBe(false);
  });

  it('requires --model and --out, and eval a train folder', async () => {
    let io = capture();
    expect(await main(['train', '--epochs', '1', '--out', join(root, 'x')], io)).toBe(1);
    expect(io.stderr()).toMatch(/--model is required/);
    io = capture();
    expect(await main(['train', '--model', 'mobilenet_v2', '--epochs', '1'], io)).toBe(1);
    expect(io.stderr()).toMatch(/--out is required/);
    io = capture();
    expect(await main(['eval', '--checkpoint', root], io)).toBe(1);
    expect(io.stderr()).toMatch(
      /cannot read '.*tinyvision-train.json'.*folder written by `tinyvision train`/,
    );
    const notRecord = join(root, 'not-record');
    rmSync(notRecord, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(notRecord));
    writeFileSync(join(notRecord, 'tinyvision-train.json'), '{"format":"other"}');
    io = capture();
    expect(await main(['eval', '--checkpoint', notRecord], io)).toBe(1);
    expect(io.stderr()).toMatch(/is not a tinyvision train record/);
  });
});
