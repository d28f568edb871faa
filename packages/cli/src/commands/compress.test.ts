import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

const root = mkdtempSync(join(tmpdir(), 'tv-cli-compress-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => resetRegistry());

/** A tiny, fast run: MobileNetV1 ×0.25 at 32×32, 2 fine-tuning steps, 32 test images. */
const TINY = ['--model', 'mobilenet_v1', '--width', '0.25', '--finetune-steps', '2', '--eval-images', '32'];

describe('tinyvision compress', () => {
  it('prunes and quantizes to int8 from flags, prints baseline and result, writes model.tvm and report.json', async () => {
    const dir = join(root, 'flags');
    const io = capture();
    const args = ['compress', ...TINY, '--dataset', 'embedded', '--prune', '0.5', '--quant', 'int8'];
    expect(await main([...args, '--calibration-batches', '1', '--out', dir, '--json'], io), io.stderr()).toBe(
      0,
    );
    const r = JSON.parse(io.stdout()) as Record<'baseline' | 'result', Record<string, number>>;
    for (const k of ['accuracy', 'params', 'macs', 'bytes', 'latency_ms']) {
      expect(typeof r.baseline[k]).toBe('number');
      expect(typeof r.result[k]).toBe('number');
    }
    expect(r.result.params).toBeLessThan(r.baseline.params * 0.5);
    expect(r.result.macs).toBeLessThan(r.baseline.macs * 0.5);
    expect(r.result.bytes).toBeLessThan(r.baseline.bytes * 0.35); // int8 weights, half the channels
    expect(existsSync(join(dir, 'model.tvm'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.result.params).toBe(r.result.params);
    expect(report.steps.some((s: string) => s.includes('QConv2D'))).toBe(true);
  }, 120_000);

  it('runs a pipeline.json (fp16) and prints a text summary', async () => {
    const dir = join(root, 'config');
    const cfg = join(root, 'fp16.json');
    writeFileSync(
      cfg,
      JSON.stringify({ model: 'mobilenet_v1', modelOptions: { width: 0.25 }, quant: 'fp16', evalImages: 32 }),
    );
    const io = capture();
    expect(await main(['compress', '--config', cfg, '--out', dir], io), io.stderr()).toBe(0);
    expect(io.stdout()).toMatch(/^baseline {2}accuracy .*\nresult {4}accuracy /);
  }, 120_000);

  it('rejects unknown keys, an empty calibration set and sparsity outside [0, 1) before any work', async () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.tvm'), 'keep me');
    const cases: [string[], RegExp][] = [
      [['--prune', '1.5'], /'prune' sparsity must be in \[0, 1\)/],
      [['--prune', '-0.1'], /'prune'/],
      [['--quant', 'int8', '--calibration-batches', '0'], /calibration set is empty/],
      [['--quant', 'int3'], /'quant' must be one of/],
      [['--qat'], /'qat' needs quant 'int8'/],
    ];
    for (const [flags, msg] of cases) {
      const io = capture();
      expect(await main(['compress', ...TINY, ...flags, '--out', dir], io)).toBe(1);
      expect(io.stderr()).toMatch(msg);
    }
    const cfg = join(root, 'unknown.json');
    writeFileSync(cfg, JSON.stringify({ model: 'mobilenet_v1', quantize: 'int8' }));
    const io = capture();
    expect(await main(['compress', '--config', cfg, '--out', join(root, 'never')], io)).toBe(1);
    expect(io.stderr()).toMatch(/'quantize' is not a known key/);
    expect(existsSync(join(root, 'never'))).toBe(false);
    expect(readFileSync(join(dir, 'model.tvm'), 'utf8')).toBe('keep me');
    const missing = capture();
    expect(await main(['compress', '--model', 'mobilenet_v1'], missing)).toBe(1);
    expect(missing.stderr()).toMatch(/--out DIR is required/);
  });
});
