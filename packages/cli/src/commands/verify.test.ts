import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import {
  conv2d,
  type Graph,
  makeGraph,
  randn,
  registerBackend,
  relu,
  type Tensor,
  trace,
} from '@tinyvision/tensor';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { saveTvm } from '@tinyvision/tensor/node';
import { afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';
import { builtinRunner, verifyFormats } from '../verify.js';

afterEach(() => resetRegistry());

describe('tinyvision verify', () => {
  it('a zoo model matches in onnxruntime, the TFLite interpreter and through the Core ML file (--json)', async () => {
    const io = capture();
    const code = await main(
      ['verify', 'mobilenet_v3_small', '--resolution', '64', '--width', '0.5', '--json'],
      io,
    );
    expect(code, io.stderr()).toBe(0);
    const r = JSON.parse(io.stdout()) as {
      formats: { format: string; status: string; maxRelError: number }[];
    };
    expect(r.formats.map((f) => [f.format, f.status])).toEqual([
      ['onnx', 'ok'],
      ['tflite', 'ok'],
      ['coreml', 'ok'],
    ]);
    for (const f of r.formats) expect(f.maxRelError).toBeLessThan(1e-4);
  }, 180_000);

  it('finds the first divergent node when an exported file computes something else', async () => {
    registerBackend(cpu());
    const w1 = randn([4, 3, 3, 3]);
    const w2 = randn([4, 4, 3, 3]);
    const g = trace(
      (x: Tensor) => relu(conv2d(relu(conv2d(x, w1, null, { padding: 1 })), w2, null, { padding: 1 })),
      [randn([1, 3, 8, 8])],
    );
    const conv2 = g.nodes.filter((n) => n.op === 'Conv2D')[1]?.name;
    // A stand-in for a converter bug: the file onnxruntime runs has the second conv dilated.
    const sabotage = (h: Graph): Graph =>
      makeGraph({
        ...h,
        nodes: h.nodes.map((n) =>
          n.name === conv2 ? { ...n, attrs: { ...n.attrs, dilations: [2, 2], pads: [2, 2, 2, 2] } } : n,
        ),
      });
    const onnx = builtinRunner('onnx');
    if (!onnx) throw new Error('no onnx runner');
    const rows = await verifyFormats(g, ['onnx'], {
      runners: { onnx: { runtime: 'sabotaged onnxruntime', run: (h, x) => onnx(sabotage(h), x) } },
    });
    expect(rows[0]?.status).toBe('mismatch');
    expect(rows[0]?.firstDivergentNode?.name).toBe(conv2);
    expect(rows[0]?.firstDivergentNode?.op).toBe('Conv2D');
    expect((await verifyFormats(g, ['onnx']))[0]?.status).toBe('ok');
  }, 120_000);

  it('rejects unknown formats and models with exit 1; reads .tvm files', async () => {
    let io = capture();
    expect(await main(['verify', 'mobilenet_v1', '--formats', 'onnx,caffe'], io)).toBe(1);
    expect(io.stderr()).toMatch(/unknown format\(s\) caffe/);
    io = capture();
    expect(await main(['verify', 'nope'], io)).toBe(1);
    registerBackend(cpu());
    const w = randn([2, 3, 3, 3]);
    const path = join(mkdtempSync(join(tmpdir(), 'tv-verify-')), 'm.tvm');
    await saveTvm(
      path,
      trace((x: Tensor) => relu(conv2d(x, w, null, { padding: 1 })), [randn([1, 3, 8, 8])]),
    );
    io = capture();
    expect(await main(['verify', path, '--formats', 'onnx'], io), io.stderr()).toBe(0);
    expect(io.stdout()).toMatch(/onnx\s+ok/);
  }, 120_000);
});
