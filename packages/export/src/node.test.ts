import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import {
  makeGraph,
  randn,
  registerBackend,
  relu,
  type Tensor,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveOnnx } from './node.js';
import { exportOnnx } from './onnx/writer.js';
import { onnxCheck } from './test/onnx-oracle.js';

beforeAll(() => registerBackend(cpu()));

const graph = () => trace((x: Tensor) => relu(x), [randn([2, 4])], { dynamicBatch: true });
const bad = makeGraph({
  inputs: ['x'],
  outputs: ['y'],
  nodes: [{ name: 'fold_1', op: 'Fold', inputs: ['x'], outputs: ['y'], attrs: {} }],
  values: [
    { name: 'x', shape: [1, 4, 4], dtype: 'float32' },
    { name: 'y', shape: [1, 1, 4, 4], dtype: 'float32' },
  ],
});

describe('saveOnnx', () => {
  it('writes the exported bytes, accepted by the ONNX checker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-save-'));
    const path = join(dir, 'relu.onnx');
    const g = graph();
    await saveOnnx(path, g, { producerName: 'save-test' });
    expect(new Uint8Array(readFileSync(path))).toEqual(exportOnnx(g, { producerName: 'save-test' }));
    onnxCheck(path);
    expect(readdirSync(dir)).toEqual(['relu.onnx']);
  });

  it('leaves an existing file untouched when the graph cannot be exported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-save-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, 'old');
    await expect(saveOnnx(path, bad)).rejects.toThrow(UnsupportedOpError);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it('leaves no partial or temporary file when the write fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-save-'));
    await expect(saveOnnx(join(dir, 'missing', 'm.onnx'), graph())).rejects.toThrow(/ENOENT/);
    // renaming onto a directory fails after the temp file was written: it must be cleaned up
    mkdirSync(join(dir, 'taken.onnx'));
    await expect(saveOnnx(join(dir, 'taken.onnx'), graph())).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken.onnx']);
  });
});
