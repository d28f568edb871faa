import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { FormatError, fromStorage, InvalidArgumentError, registerBackend, resize } from '@tinyvision/tensor';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from './image-folder.js';

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

/** RGBA image whose pixel (x, y) is (x·20, y·30, 100 + c·40) with class c. */
function rgba(w: number, h: number, c: number): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) d.set([(x * 20) % 256, (y * 30) % 256, 100 + c * 40, 255], (y * w + x) * 4);
  }
  return d;
}

function png(w: number, h: number, c: number): Uint8Array {
  const p = new PNG({ width: w, height: h });
  p.data = Buffer.from(rgba(w, h, c));
  return new Uint8Array(PNG.sync.write(p));
}

function makeTree(): string {
  const root = tempDir('tv-imgfolder-');
  for (const cls of ['dog', 'cat', 'bird']) mkdirSync(join(root, cls));
  writeFileSync(join(root, 'cat', 'b.png'), png(6, 4, 0));
  writeFileSync(join(root, 'cat', 'a.PNG'), png(6, 4, 1));
  writeFileSync(join(root, 'cat', 'notes.txt'), 'not an image');
  writeFileSync(
    join(root, 'dog', 'x.jpg'),
    jpeg.encode({ width: 8, height: 8, data: Buffer.from(rgba(8, 8, 2)) }, 95).data,
  );
  writeFileSync(join(root, 'bird', 'z.png'), png(3, 5, 2));
  writeFileSync(join(root, 'README'), 'top-level files are ignored');
  return root;
}

describe('loadImageFolder', () => {
  it('maps sorted sub-folders to labels, sorts files and skips other extensions', async () => {
    const root = makeTree();
    const ds = await loadImageFolder(root, { size: [4, 6] });
    expect(ds.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(ds.files.map((f) => f.slice(root.length + 1))).toEqual([
      join('bird', 'z.png'),
      join('cat', 'a.PNG'),
      join('cat', 'b.png'),
      join('dog', 'x.jpg'),
    ]);
    expect(ds.images.shape).toEqual([4, 3, 4, 6]);
    expect(ds.images.dtype).toBe('float32');
    expect(ds.labels.dtype).toBe('int32');
    expect([...ds.labels.dataSync()]).toEqual([0, 1, 1, 2]);
  });

  it('keeps same-size images exact and matches the tensor bilinear resize otherwise', async () => {
    const root = makeTree();
    const ds = await loadImageFolder(root, { size: [4, 6] });
    const all = ds.images.dataSync() as Float32Array;
    // cat/a.PNG is 6×4 already: pixels are exactly x / 255.
    const a = all.subarray(1 * 72, 2 * 72);
    const src = rgba(6, 4, 1);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 24; p++) expect(a[c * 24 + p]).toBeCloseTo(src[p * 4 + c]! / 255, 6);
    }
    // bird/z.png is 3 wide × 5 high; compare with the tensor package's resize op.
    const z = rgba(3, 5, 2);
    const chw = new Float32Array(3 * 15);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 15; p++) chw[c * 15 + p] = z[p * 4 + c]! / 255;
    const want = resize(fromStorage(chw, [1, 3, 5, 3], 'float32'), {
      size: [4, 6],
      mode: 'bilinear',
    }).dataSync();
    const got = all.subarray(0, 72);
    for (let i = 0; i < 72; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it('normalises per channel with mean and std', async () => {
    const root = makeTree();
    const plain = (await loadImageFolder(root, { size: [4, 6] })).images.dataSync();
    const mean = [0.1, 0.2, 0.3] as const;
    const std = [0.5, 0.25, 2] as const;
    const norm = (await loadImageFolder(root, { size: [4, 6], mean, std })).images.dataSync();
    for (let i = 0; i < plain.length; i++) {
      const c = Math.floor(i / 24) % 3;
      expect(norm[i]).toBeCloseTo((plain[i]! - mean[c]) / std[c], 5);
    }
  });

  it('honours the extensions option', async () => {
    const root = makeTree();
    const ds = await loadImageFolder(root, { size: [2, 2], extensions: ['jpg'] });
    expect(ds.files).toHaveLength(1);
    expect([...ds.labels.dataSync()]).toEqual([2]);
  });

  it('names the bad file when an image is corrupt', async () => {
    const root = makeTree();
    const bad = join(root, 'cat', 'c.png');
    writeFileSync(bad, png(4, 4, 0).subarray(0, 30));
    await expect(loadImageFolder(root, { size: [4, 4] })).rejects.toThrow(FormatError);
    await expect(loadImageFolder(root, { size: [4, 4] })).rejects.toThrow(bad);
  });

  it('rejects bad options and empty folders', async () => {
    const root = makeTree();
    await expect(loadImageFolder(root, { size: [0, 4] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(loadImageFolder(root, { size: [4, 4], std: [1, 0, 1] })).rejects.toThrow(/'std'/);
    await expect(loadImageFolder(join(root, 'missing'), { size: [4, 4] })).rejects.toThrow(/cannot read/);
    await expect(loadImageFolder(join(root, 'cat'), { size: [4, 4] })).rejects.toThrow(
      /no class sub-folders/,
    );
    const empty = tempDir('tv-empty-');
    mkdirSync(join(empty, 'a'));
    await expect(loadImageFolder(empty, { size: [4, 4] })).rejects.toThrow(/no images/);
  });
});
