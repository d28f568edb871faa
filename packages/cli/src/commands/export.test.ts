import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

afterEach(() => resetRegistry());
const dir = mkdtempSync(join(tmpdir(), 'tv-cli-export-'));
const zoo = ['mobilenet_v1', '--width', '0.25', '--resolution', '32', '--num-classes', '7'];

describe('tinyvision export / info (in-process)', () => {
  it('exports a zoo model to TFLite (fp32 and fp16) and info --json reports ops, params, NHWC input', async () => {
    const out = join(dir, 'm.tflite');
    const io = capture();
    const code = await main(['export', ...zoo, '--format', 'tflite', '-o', out], io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(/wrote .*m\.tflite \(tflite, \d+ bytes\)/);
    expect(new TextDecoder().decode(readFileSync(out).subarray(4, 8))).toBe('TFL3');
    const info = capture();
    expect(await main(['info', out, '--json'], info)).toBe(0);
    const d = JSON.parse(info.stdout());
    expect(d.format).toBe('tflite');
    expect(d.ops.CONV_2D).toBeGreaterThan(5);
    expect(d.ops.DEPTHWISE_CONV_2D).toBe(13);
    expect(d.inputs[0].shape).toEqual([1, 32, 32, 3]);
    expect(d.outputs[0].shape).toEqual([1, 7]);
    expect(d.params).toBeGreaterThan(10_000);
    const half = join(dir, 'h.tflite');
    expect(
      await main(['export', ...zoo, '--format', 'tflite', '--quant', 'fp16', '-o', half], capture()),
    ).toBe(0);
    const hi = capture();
    expect(await main(['info', half, '--json'], hi)).toBe(0);
    expect(JSON.parse(hi.stdout()).ops.DEQUANTIZE).toBeGreaterThan(10);
    const int8 = join(dir, 'q.tflite');
    expect(
      await main(['export', ...zoo, '--format', 'tflite', '--quant', 'int8', '-o', int8], capture()),
    ).toBe(0);
    expect(readFileSync(int8).length).toBeLessThan(readFileSync(half).length);
    const text = capture();
    expect(await main(['info', out], text)).toBe(0);
    expect(text.stdout()).toMatch(/CONV_2D×\d+/);
  }, 60_000);

  it('exports to ONNX with an opset and reads .onnx info', async () => {
    const out = join(dir, 'm.onnx');
    expect(await main(['export', ...zoo, '--format', 'onnx', '--opset', '17', '-o', out], capture())).toBe(0);
    const info = capture();
    expect(await main(['info', out, '--json'], info)).toBe(0);
    const d = JSON.parse(info.stdout());
    expect(d.format).toBe('onnx');
    expect(d.operators).toBeGreaterThan(10);
    expect(d.inputs[0].shape.slice(1)).toEqual([3, 32, 32]);
  }, 60_000);

  it('exports Core ML .mlmodel (int8 weights) and .mlpackage files that validate', async () => {
    const { validateCoreML } = await import('@tinyvision/export');
    const { loadMLPackage } = await import('@tinyvision/export/node');
    const ml = join(dir, 'm.mlmodel');
    const io = capture();
    expect(
      await main(['export', ...zoo, '--format', 'coreml', '--quant', 'int8', '-o', ml], io),
      io.stderr(),
    ).toBe(0);
    const v = validateCoreML(readFileSync(ml));
    expect(v.issues).toEqual([]);
    expect(v.modelType).toBe('neuralNetwork');
    const pkg = join(dir, 'm.mlpackage');
    expect(await main(['export', ...zoo, '--format', 'mlpackage', '-o', pkg], capture())).toBe(0);
    const g = await loadMLPackage(pkg);
    expect(g.values.get(g.outputs[0] as string)?.shape).toEqual([1, 7]);
  }, 60_000);

  it('reports bad arguments and files with exit code 1', async () => {
    const io = capture();
    expect(await main(['export', 'nope', '--format', 'tflite', '-o', join(dir, 'x.tflite')], io)).toBe(1);
    expect(io.stderr()).toMatch(/neither a \.tvm file nor a zoo model/);
    const bad = capture();
    expect(await main(['export', ...zoo, '--format', 'caffe', '-o', join(dir, 'x')], bad)).toBe(1);
    expect(bad.stderr()).toMatch(/--format must be one of tflite, onnx, coreml, mlpackage/);
    const q = capture();
    expect(
      await main(['export', ...zoo, '--format', 'tflite', '--quant', 'int4', '-o', join(dir, 'x')], q),
    ).toBe(1);
    const junk = join(dir, 'junk.tflite');
    await import('node:fs/promises').then((fs) => fs.writeFile(junk, 'not a model at all'));
    const j = capture();
    expect(await main(['info', junk], j)).toBe(1);
    expect(j.stderr()).toMatch(/tinyvision info: tflite: file identifier/);
  }, 60_000);
});
