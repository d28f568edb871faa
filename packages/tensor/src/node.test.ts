import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError, randn, registerBackend, relu, runGraph, trace } from './index.js';
import { loadTvm, saveTvm, writeFileAtomic } from './node.js';

let dir: string;
beforeAll(async () => {
  registerBackend(cpu());
  dir = await mkdtemp(join(tmpdir(), 'tv-node-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('node file helpers', () => {
  it('saveTvm / loadTvm round-trip a graph', async () => {
    const g = trace((x) => relu(x), [randn([2, 4])]);
    const path = join(dir, 'model.tvm');
    await saveTvm(path, g, { checksums: true });
    const back = await loadTvm(path);
    const x = randn([2, 4]);
    expect(runGraph(back, [x]).outputs[0]!.dataSync()).toEqual(runGraph(g, [x]).outputs[0]!.dataSync());
    expect(await readdir(dir)).toEqual(['model.tvm']);
  });

  it('writeFileAtomic replaces the file and leaves no temporary behind', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new contents');
    expect(await readFile(path, 'utf8')).toBe('new contents');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('on failure keeps the old file and removes the temporary', async () => {
    const target = join(dir, 'sub');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'x');
    // Renaming a file over a non-empty directory fails after the temporary was written.
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('x');
    await expect(writeFileAtomic(join(dir, 'missing', 'f.bin'), 'data')).rejects.toThrow(/ENOENT/);
  });

  it('loadTvm reports malformed files as FormatError', async () => {
    const path = join(dir, 'bad.tvm');
    await writeFile(path, 'TVM1 but not really');
    await expect(loadTvm(path)).rejects.toThrow(FormatError);
  });
});
