import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { saveOnnx } from '@tinyvision/export/node';
import {
  encodeNpy,
  linear,
  parseNpy,
  randn,
  registerBackend,
  relu,
  runGraph,
  softmax,
  type Tensor,
  trace,
} from '@tinyvision/tensor';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { saveTvm } from '@tinyvision/tensor/node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-cli-run-'));
let expected: Float32Array;

beforeAll(async () => {
  registerBackend(cpu());
  const w = randn([5, 8]);
  w.name = 'w';
  const g = trace((x: Tensor) => softmax(relu(linear(x, w)), -1), [randn([2, 8])], { dynamicBatch: true });
  await saveOnnx(join(dir, 'model.onnx'), g);
  await saveTvm(join(dir, 'model.tvm'), g);
  const x = randn([3, 8]);
  writeFileSync(join(dir, 'x.npy'), encodeNpy(x.dataSync(), x.shape, 'float32'));
  expected = runGraph(g, [x]).outputs[0]!.toFloat32().slice();
  resetRegistry();
});

afterEach(() => resetRegistry());

describe('tinyvision run', () => {
  it.each(['model.onnx', 'model.tvm'])(
    'runs %s on an .npy input and writes the .npy output',
    async (file) => {
      const io = capture();
      const out = join(dir, `y-${file}.npy`);
      const code = await main(
        ['run', join(dir, file), '--input', join(dir, 'x.npy'), '--output', out, '--json'],
        io,
      );
      expect(io.stderr()).toBe('');
      expect(code).toBe(0);
      const report = JSON.parse(io.stdout()) as { backend: string; outputs: { shape: number[] }[] };
      expect(report.backend).toBe('cpu');
      expect(report.outputs[0]!.shape).toEqual([3, 5]);
      const y = parseNpy(new Uint8Array(readFileSync(out)), out);
      expect(y.shape).toEqual([3, 5]);
      const got = y.data as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 6);
    },
  );

  it('reports a wrong input count, an unknown file type and a missing backend with exit code 1', async () => {
    let io = capture();
    expect(
      await main(['run', join(dir, 'model.onnx'), '-i', join(dir, 'x.npy'), '-i', join(dir, 'x.npy')], io),
    ).toBe(1);
    expect(io.stderr()).toMatch(/takes 1 input/);
    io = capture();
    expect(await main(['run', join(dir, 'x.npy'), '-i', join(dir, 'x.npy')], io)).toBe(1);
    expect(io.stderr()).toMatch(/not a model file/);
    io = capture();
    expect(await main(['run', join(dir, 'model.onnx'), '-i', join(dir, 'x.npy'), '-b', 'nosuch'], io)).toBe(
      1,
    );
    expect(io.stderr()).toMatch(/backend 'nosuch'/);
  });
});
