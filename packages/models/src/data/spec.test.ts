import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpu } from '@tinyvision/backend-cpu';
import { FormatError, registerBackend } from '@tinyvision/tensor';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, readFashionMnistRaw } from './fashion-mnist.js';
import { encodeIdx } from './idx.js';
import {
  type ClassificationData,
  DatasetSpecError,
  datasetNormalization,
  formatDatasetSpec,
  loadDataset,
  parseDatasetSpec,
} from './spec.js';

beforeAll(() => registerBackend(cpu()));

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function classification(d: Awaited<ReturnType<typeof loadDataset>>): ClassificationData {
  if (d.task !== 'classification') throw new Error('expected a classification dataset');
  return d;
}

describe('parseDatasetSpec', () => {
  it('parses every form and round-trips through formatDatasetSpec', () => {
    expect(parseDatasetSpec('embedded')).toEqual({ kind: 'embedded' });
    expect(parseDatasetSpec('fashion-mnist')).toEqual({
      kind: 'fashion-mnist',
      dir: '/usr/share/datasets/fashion-mnist',
    });
    expect(parseDatasetSpec('idx:/data/mnist')).toEqual({ kind: 'idx', dir: '/data/mnist' });
    expect(parseDatasetSpec('folder:C:/imgs')).toEqual({ kind: 'folder', dir: 'C:/imgs' });
    expect(parseDatasetSpec('synthetic-detection')).toEqual({ kind: 'synthetic-detection', count: 64 });
    expect(parseDatasetSpec('synthetic-detection:7')).toEqual({ kind: 'synthetic-detection', count: 7 });
    for (const s of ['embedded', 'idx:a/b', 'folder:x', 'synthetic-detection:3']) {
      expect(formatDatasetSpec(parseDatasetSpec(s))).toBe(s);
    }
  });

  it('rejects unknown kinds, missing folders and bad counts with a DatasetSpecError naming the spec', () => {
    const bad: [string, RegExp][] = [
      [
        'mnist',
        /dataset 'mnist': unknown dataset kind 'mnist'; expected one of embedded, fashion-mnist, idx:DIR/,
      ],
      ['idx:', /'idx:' needs a folder/],
      ['folder', /'folder:' needs a folder/],
      ['synthetic-detection:0', /positive integer.*got '0'/],
      ['synthetic-detection:1e3', /got '1e3'/],
      ['', /unknown dataset kind ''/],
    ];
    for (const [spec, re] of bad) {
      let err: unknown;
      try {
        parseDatasetSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(DatasetSpecError.isInstance(err), spec).toBe(true);
      expect((err as DatasetSpecError).message).toMatch(re);
      expect((err as DatasetSpecError).spec).toBe(spec);
    }
  });

  it('gives per-kind default normalisation', () => {
    expect(datasetNormalization('embedded')).toEqual({ mean: [0.286], std: [0.353] });
    expect(datasetNormalization('folder:x').mean).toHaveLength(3);
  });
});

describe('loadDataset', () => {
  it('loads the embedded subset normalised with the Fashion-MNIST statistics', async () => {
    const d = classification(await loadDataset('embedded', { split: 'test', limit: 50 }));
    expect(d.images.shape).toEqual([50, 1, 28, 28]);
    expect(d.labels.shape).toEqual([50]);
    expect(d.classNames).toEqual(FASHION_MNIST_CLASSES);
    const raw = await readFashionMnistRaw({ split: 'test', limit: 50 });
    const px = d.images.dataSync() as Float32Array;
    for (const i of [0, 123, 39_199]) expect(px[i]).toBeCloseTo((raw.images[i]! / 255 - 0.286) / 0.353, 5);
    expect(Array.from(d.labels.dataSync())).toEqual(Array.from(raw.labels));
  });

  it('loads the full Debian Fashion-MNIST (first images only)', async () => {
    const d = classification(await loadDataset('fashion-mnist', { split: 'test', limit: 8 }));
    expect(d.images.shape).toEqual([8, 1, 28, 28]);
    const raw = await readFashionMnistRaw({ split: 'test', source: 'system', limit: 8 });
    expect(Array.from(d.labels.dataSync())).toEqual(Array.from(raw.labels));
  });

  it('reads idx:DIR with raw and gzip files of any image size', async () => {
    const dir = tempDir('tv-spec-idx-');
    const img = Uint8Array.from({ length: 3 * 5 * 4 }, (_, i) => (i * 7) % 256);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), encodeIdx(img, [3, 5, 4]));
    writeFileSync(
      join(dir, 'train-labels-idx1-ubyte.gz'),
      gzipSync(encodeIdx(new Uint8Array([2, 0, 11]), [3])),
    );
    const d = classification(await loadDataset(`idx:${dir}`, { normalization: { mean: [0], std: [1] } }));
    expect(d.images.shape).toEqual([3, 1, 5, 4]);
    expect(d.classNames).toHaveLength(12);
    expect(Array.from(d.labels.dataSync())).toEqual([2, 0, 11]);
    expect((d.images.dataSync() as Float32Array)[5]).toBeCloseTo(35 / 255, 6);
    // the test files are missing: the error names the file and the expected layout
    await expect(loadDataset(`idx:${dir}`, { split: 'test' })).rejects.toThrow(
      /missing file '.*t10k-images-idx3-ubyte' \(or 't10k-images-idx3-ubyte.gz'\); expected the four/,
    );
    // mismatched counts: FormatError naming the label file
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(new Uint8Array([1, 2]), [2])));
    await expect(loadDataset(`idx:${dir}`)).rejects.toThrow(FormatError);
    await expect(loadDataset(`idx:${dir}`)).rejects.toThrow(/train-labels-idx1-ubyte.gz: label shape \[2\]/);
    await expect(loadDataset(`idx:${join(dir, 'nope')}`)).rejects.toThrow(/folder '.*nope' does not exist/);
  });

  it('reads folder:DIR, holding out every fifth image when there are no split folders', async () => {
    const dir = tempDir('tv-spec-folder-');
    for (const [c, cls] of ['a', 'b'].entries()) {
      mkdirSync(join(dir, cls));
      for (let k = 0; k < 5; k++) {
        const p = new PNG({ width: 6, height: 4 });
        p.data = Buffer.alloc(6 * 4 * 4, c === 0 ? 0 : 255);
        writeFileSync(join(dir, cls, `${k}.png`), PNG.sync.write(p));
      }
    }
    const norm = { mean: [0], std: [1] };
    const train = classification(await loadDataset(`folder:${dir}`, { size: [4, 6], normalization: norm }));
    const test = classification(await loadDataset(`folder:${dir}`, { split: 'test', normalization: norm }));
    expect(train.images.shape).toEqual([8, 3, 4, 6]);
    expect(test.images.shape).toEqual([2, 3, 32, 32]);
    expect(train.classNames).toEqual(['a', 'b']);
    expect(Array.from(test.labels.dataSync())).toEqual([0, 1]);
    expect((test.images.dataSync() as Float32Array).at(-1)).toBeCloseTo(1, 6);
    await expect(loadDataset(`folder:${join(dir, 'a')}`)).rejects.toThrow(DatasetSpecError);
  });

  it('generates synthetic-detection[:N] with different train and test images', async () => {
    const train = await loadDataset('synthetic-detection:3', { size: [32, 32] });
    const test = await loadDataset('synthetic-detection:3', { split: 'test', size: [32, 32] });
    expect(train.task).toBe('detection');
    expect(train.images.shape).toEqual([3, 3, 32, 32]);
    expect(train.images.dataSync()).not.toEqual(test.images.dataSync());
  });

  it('rejects bad options', async () => {
    await expect(loadDataset('embedded', { limit: 0 })).rejects.toThrow(/'limit' must be a positive integer/);
    await expect(loadDataset('embedded', { split: 'val' as 'test' })).rejects.toThrow(/'split'/);
    await expect(loadDataset('embedded', { normalization: { mean: [0], std: [0] } })).rejects.toThrow(
      /normalization/,
    );
  });
});
