import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpu } from '@tinyvision/backend-cpu';
import { FormatError, InvalidArgumentError, registerBackend } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FASHION_MNIST_CLASSES,
  loadFashionMnist,
  readFashionMnistRaw,
  SYSTEM_FASHION_MNIST_DIR,
} from './fashion-mnist.js';
import { encodeIdx, readIdxFile } from './idx.js';

beforeAll(() => registerBackend(cpu()));

const PIXELS = 28 * 28;
const hasSystem = existsSync(join(SYSTEM_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

function histogram(labels: Uint8Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

describe('embedded Fashion-MNIST subset', () => {
  it.each([
    ['train', 3000, 300],
    ['test', 1000, 100],
  ] as const)('%s split has %i images, %i per class', async (split, count, perClass) => {
    const raw = await readFashionMnistRaw({ split });
    expect(raw.count).toBe(count);
    expect(raw.images.length).toBe(count * PIXELS);
    expect(histogram(raw.labels)).toEqual(new Array(10).fill(perClass));
    // real images, not padding: every image has ink and the split uses the full byte range
    let blank = 0;
    for (let i = 0; i < count; i++)
      if (raw.images.subarray(i * PIXELS, (i + 1) * PIXELS).every((v) => v === 0)) blank++;
    expect(blank).toBe(0);
    expect(Math.max(...raw.images.subarray(0, 50 * PIXELS))).toBe(255);
  });

  it('loads as float32 [N,1,28,28] in [0,1] and int32 labels', async () => {
    const raw = await readFashionMnistRaw({ split: 'test', limit: 8 });
    const ds = await loadFashionMnist({ split: 'test', limit: 8 });
    expect(ds.count).toBe(8);
    expect(ds.images.shape).toEqual([8, 1, 28, 28]);
    expect(ds.images.dtype).toBe('float32');
    expect(ds.labels.shape).toEqual([8]);
    expect(ds.labels.dtype).toBe('int32');
    expect([...ds.labels.dataSync()]).toEqual([...raw.labels]);
    expect(ds.classNames).toBe(FASHION_MNIST_CLASSES);
    const px = ds.images.dataSync() as Float32Array;
    for (const i of [0, 100, 400, 5000]) expect(px[i]).toBe(Math.fround(raw.images[i]! / 255));
  });

  it('normalises with mean and std like torchvision ToTensor + Normalize', async () => {
    const raw = await readFashionMnistRaw({ split: 'test', limit: 2 });
    const ds = await loadFashionMnist({ split: 'test', limit: 2, mean: 0.5, std: 0.25 });
    const px = ds.images.dataSync() as Float32Array;
    for (let i = 0; i < px.length; i += 97) {
      expect(px[i]).toBe(Math.fround((Math.fround(raw.images[i]! / 255) - 0.5) / 0.25));
    }
  });

  it('rejects bad options with InvalidArgumentError', async () => {
    const isArg = (e: unknown) => InvalidArgumentError.isInstance(e);
    await expect(readFashionMnistRaw({ split: 'val' as 'train' })).rejects.toSatisfy(isArg);
    await expect(readFashionMnistRaw({ limit: -1 })).rejects.toSatisfy(isArg);
    await expect(loadFashionMnist({ std: 0 })).rejects.toSatisfy(isArg);
    await expect(readFashionMnistRaw({ source: join(tmpdir(), 'tv-no-such-dir') })).rejects.toSatisfy(
      (e: unknown) => isArg(e) && /no 'train-images-idx3-ubyte'/.test((e as Error).message),
    );
  });

  it('reads a directory source and checks image/label consistency', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-fm-'));
    writeFileSync(
      join(dir, 't10k-images-idx3-ubyte'),
      encodeIdx(new Uint8Array(2 * PIXELS).fill(255), [2, 28, 28]),
    );
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(new Uint8Array([3, 9]), [2])));
    const ds = await loadFashionMnist({ split: 'test', source: dir });
    expect([...ds.labels.dataSync()]).toEqual([3, 9]);
    expect(ds.images.dataSync()[0]).toBe(1);

    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(new Uint8Array([3]), [1])));
    await expect(readFashionMnistRaw({ split: 'test', source: dir })).rejects.toSatisfy(
      (e: unknown) =>
        FormatError.isInstance(e) && /must be \[2\] to match the images/.test((e as Error).message),
    );
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(new Uint8Array([3, 10]), [2])));
    await expect(readFashionMnistRaw({ split: 'test', source: dir })).rejects.toSatisfy(
      (e: unknown) => FormatError.isInstance(e) && /label 10 at 1/.test((e as Error).message),
    );
  });
});

// CI installs dataset-fashion-mnist (.ci/run), so there this comparison must run, never skip.
const requireSystem = process.env.CI === 'true' || process.env.CI === '1';
describe.runIf(hasSystem || requireSystem)('embedded subset vs the system dataset', () => {
  it.each([
    ['train', 300],
    ['test', 100],
  ] as const)(
    '%s: each embedded image is byte-identical to its original (first %i per class)',
    async (split, quota) => {
      expect(
        hasSystem,
        `CI=true but ${SYSTEM_FASHION_MNIST_DIR} is missing (apt-get install dataset-fashion-mnist)`,
      ).toBe(true);
      const mini = await readFashionMnistRaw({ split });
      const prefix = split === 'train' ? 'train' : 't10k';
      const images = await readIdxFile(join(SYSTEM_FASHION_MNIST_DIR, `${prefix}-images-idx3-ubyte.gz`));
      const labels = await readIdxFile(join(SYSTEM_FASHION_MNIST_DIR, `${prefix}-labels-idx1-ubyte.gz`));
      const counts = new Array<number>(10).fill(0);
      let j = 0;
      for (let i = 0; i < labels.data.length && j < mini.count; i++) {
        const l = labels.data[i]!;
        if (counts[l]! >= quota) continue;
        counts[l]!++;
        expect(mini.labels[j], `label of embedded image ${j} (original ${i})`).toBe(l);
        const a = mini.images.subarray(j * PIXELS, (j + 1) * PIXELS);
        const b = images.data.subarray(i * PIXELS, (i + 1) * PIXELS);
        if (Buffer.compare(a, b) !== 0)
          throw new Error(`embedded ${split} image ${j} differs from original ${i}`);
        j++;
      }
      expect(j).toBe(mini.count);
    },
  );
});
