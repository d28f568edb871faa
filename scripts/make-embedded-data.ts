/**
 * Builds the Fashion-MNIST subset embedded in @tinyvision/models (packages/models/data/fashion-mnist-mini/)
 * from the Debian package `dataset-fashion-mnist`.
 *
 * Selection (deterministic, no randomness): walk each split in file order and keep an image while fewer than
 * `PER_CLASS[split]` images of its class have been kept. The original file order is already shuffled, so the
 * subset stays mixed. Output files are gzip (level 9, no name, mtime 0) IDX files named like the originals.
 *
 * Run: npx tsx --conditions=@tinyvision/source scripts/make-embedded-data.ts [sourceDir]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx } from '../packages/models/src/data/idx.js';

const SRC = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const OUT = join(import.meta.dirname, '../packages/models/data/fashion-mnist-mini');
const PER_CLASS = { train: 300, t10k: 100 } as const;
const PIXELS = 28 * 28;

function read(name: string) {
  return parseIdx(new Uint8Array(gunzipSync(readFileSync(join(SRC, name)))), name);
}

function write(name: string, data: Uint8Array, shape: number[]): number {
  const gz = gzipSync(encodeIdx(data, shape), { level: 9 });
  writeFileSync(join(OUT, name), gz);
  return gz.length;
}

mkdirSync(OUT, { recursive: true });
let total = 0;
for (const split of ['train', 't10k'] as const) {
  const images = read(`${split}-images-idx3-ubyte.gz`);
  const labels = read(`${split}-labels-idx1-ubyte.gz`);
  const quota = PER_CLASS[split];
  const counts = new Array<number>(10).fill(0);
  const keep: number[] = [];
  labels.data.forEach((label, i) => {
    if (counts[label]! < quota) {
      counts[label]!++;
      keep.push(i);
    }
  });
  if (counts.some((c) => c !== quota)) throw new Error(`${split}: not enough images per class: ${counts}`);
  const outImages = new Uint8Array(keep.length * PIXELS);
  const outLabels = new Uint8Array(keep.length);
  keep.forEach((src, dst) => {
    outImages.set(images.data.subarray(src * PIXELS, (src + 1) * PIXELS), dst * PIXELS);
    outLabels[dst] = labels.data[src]!;
  });
  total += write(`${split}-images-idx3-ubyte.gz`, outImages, [keep.length, 28, 28]);
  total += write(`${split}-labels-idx1-ubyte.gz`, outLabels, [keep.length]);
  console.log(`${split}: kept ${keep.length} of ${labels.data.length} (last source index ${keep.at(-1)})`);
}
console.log(`wrote ${OUT} (${(total / 1024).toFixed(0)} KiB of gzip IDX)`);
