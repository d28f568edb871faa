import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { saveOnnx } from '@tinyvision/export/node';
import { conv2d, randn, registerBackend, relu, trace, useBackend } from '@tinyvision/tensor';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { saveTvm } from '@tinyvision/tensor/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';
import type { BenchReport } from './bench.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-bench-'));
const tvm = join(dir, 'tiny.tvm');
const onnx = join(dir, 'tiny.onnx');

beforeAll(async () => {
  registerBackend(cpu());
  await useBackend('cpu');
  const w = randn([8, 3, 3, 3]);
  const g = trace((x) => relu(conv2d(x, w, null, { padding: 1 })), [randn([1, 3, 16, 16])], { name: 'tiny' });
  await saveTvm(tvm, g);
  await saveOnnx(onnx, g);
  resetRegistry();
});
afterEach(() => resetRegistry());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = ['median_ms', 'p90_ms', 'min_ms', 'p99_ms', 'load_ms', 'file_bytes', 'peak_bytes'] as const;

describe('tinyvision bench', () => {
  it('times a zoo model on the wasm backend and prints the JSON report', async () => {
    const io = capture();
    const code = await main(
      ['bench', 'mobilenet_v3_small', '--backend', 'wasm', '--runs', '3', '--warmup', '1', '--json'],
      io,
    );
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(io.stdout()) as BenchReport;
    expect(r).toMatchObject({
      model: 'mobilenet_v3_small',
      backend: 'wasm',
      simd: true,
      batch: 1,
      runs: 3,
      threads: 1,
    });
    for (const f of FIELDS) expect(r[f], f).toBeGreaterThan(0);
    expect(r.min_ms).toBeLessThanOrEqual(r.median_ms);
    expect(r.median_ms).toBeLessThanOrEqual(r.p90_ms);
    expect(r.p90_ms).toBeLessThanOrEqual(r.p99_ms);
    expect(r.peak_source).toBe('wasm-heap');
    expect(r.fallbacks).toEqual([]);
  }, 60_000);

  it('times .tvm and .onnx files on the cpu backend, reporting their file size', async () => {
    for (const file of [tvm, onnx]) {
      const io = capture();
      expect(await main(['bench', file, '--runs', '2', '--json'], io)).toBe(0);
      const r = JSON.parse(io.stdout()) as BenchReport;
      const { statSync } = await import('node:fs');
      expect(r.file_bytes).toBe(statSync(file).size);
      expect(r.backend).toBe('cpu');
      expect(r.peak_source).toBe('process-max-rss');
      resetRegistry();
    }
  });

  it('prints a text summary without --json and warns that --threads is not applied', async () => {
    const io = capture();
    expect(await main(['bench', tvm, '--backend', 'wasm', '--runs', '2', '--threads', '4'], io)).toBe(0);
    expect(io.stdout()).toMatch(/median [\d.]+ ms {2}p90 [\d.]+ ms/);
    expect(io.stderr()).toContain('--threads 4 is not applied');
  });

  it.each([
    [['bench', 'no_such_model'], 'neither a model file'],
    [['bench', tvm, '--runs', '0'], '--runs must be a positive integer'],
    [['bench', tvm, '--batch', '2'], 'fixed batch of 1'],
    [['bench', tvm, '--backend', 'nope'], "backend 'nope'"],
  ])('%j exits 1 with a message', async (args, msg) => {
    const io = capture();
    expect(await main(args, io)).toBe(1);
    expect(io.stderr()).toContain(msg);
  });
});
