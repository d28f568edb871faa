// Round trip: graph → exportTflite → importTflite → runGraph gives the original graph's outputs (float32,
// fp16 widened, QDQ int8); every failure on bad input is a FormatError or UnsupportedOpError.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { quantizeStatic } from '@tinyvision/compress';
import { createModel, traceModule } from '@tinyvision/models';
import {
  add,
  concat,
  conv2d,
  FormatError,
  flatten,
  fusedConv2d,
  type Graph,
  globalAvgPool,
  hardSwish,
  layerNorm,
  linear,
  manualSeed,
  matmul,
  maxPool2d,
  mean,
  noGrad,
  optimizeGraph,
  pad,
  randn,
  registerBackend,
  resize,
  runGraph,
  slice,
  softmax,
  type Tensor,
  tensor,
  trace,
  transpose,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTflite, saveTflite } from './node.js';
import { importTflite } from './reader.js';
import { nchwToNhwc, nhwcToNchw } from './testing/oracle.js';
import { exportTflite } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(21);
});

const w = (shape: number[], name: string, scale = 0.3): Tensor => {
  const t = randn(shape).mul(scale);
  t.name = name;
  return t;
};

/** max |imported − original| / range(original) over all outputs, feeding NHWC inputs to the imported graph. */
function roundTripError(g: Graph, model: Uint8Array, inputs: Tensor[]): number {
  const back = importTflite(model);
  const ours = runGraph(g, inputs).outputs;
  const nhwc = inputs.map((t) =>
    t.shape.length === 4
      ? tensor(Float32Array.from(nchwToNhwc(t.dataSync() as Float32Array, t.shape)), [
          t.shape[0]!,
          t.shape[2]!,
          t.shape[3]!,
          t.shape[1]!,
        ])
      : t,
  );
  const theirs = runGraph(back, nhwc).outputs;
  let worst = 0;
  ours.forEach((o, k) => {
    const a = o.dataSync() as Float32Array;
    const t = theirs[k]!;
    const b =
      o.shape.length === 4
        ? nhwcToNchw(t.dataSync() as Float32Array, o.shape)
        : Array.from(t.dataSync() as Float32Array);
    expect(b.length).toBe(a.length);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of a) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    for (let i = 0; i < a.length; i++)
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(hi - lo, 1e-3));
  });
  return worst;
}

describe('importTflite round trip', () => {
  it('hand graphs covering every written op come back with the same outputs', () => {
    const c = w([6, 3, 3, 3], 'c');
    const dw = w([6, 1, 3, 3], 'dw');
    const fc = w([4, 6], 'fc');
    const g = trace(
      (x, v) => ({
        conv: fusedConv2d(x, c, w([6], 'cb'), { padding: 1, stride: 2, activation: 'relu6' }),
        dw: hardSwish(conv2d(conv2d(x, c, null, { padding: 'same' }), dw, null, { padding: 1, groups: 6 })),
        pool: maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        head: softmax(linear(flatten(globalAvgPool(conv2d(x, c)), 1), fc), -1),
        mv: matmul(layerNorm(v, 5), transpose(v, [0, 2, 1])),
        mov: concat(
          [
            slice(x, [0, 0, 0, 0], [1, 3, 6, 6], [1, 1, 2, 1]),
            pad(slice(x, [0, 0, 0, 0], [1, 3, 2, 6]), [0, 0, 0, 0, 1, 0, 0, 0]).mul(2),
          ],
          1,
        ),
        rs: resize(add(x, x), { size: [12, 12], mode: 'bilinear' }),
        mean: mean(x, { axes: [1], keepDims: true }),
      }),
      [randn([1, 3, 6, 6]), randn([2, 4, 5])],
    );
    const inputs = [randn([1, 3, 6, 6]), randn([2, 4, 5])];
    expect(roundTripError(g, exportTflite(g), inputs)).toBeLessThanOrEqual(1e-6);
    const back = importTflite(exportTflite(g));
    expect(back.values.get(back.inputs[0]!)!.shape).toEqual([1, 6, 6, 3]);
  });

  it('zoo models (float32, fp16) and a QDQ int8 model round-trip', () => {
    const m = createModel('mobilenet_v3_small', { width: 0.35, resolution: 32, numClasses: 10 });
    m.eval();
    const g = optimizeGraph(traceModule(m, [randn([1, 3, 32, 32])]));
    const x = [randn([1, 3, 32, 32])];
    expect(roundTripError(g, exportTflite(g), x)).toBeLessThanOrEqual(1e-5);
    const vit = createModel('mobilevit_xxs', { resolution: 64, numClasses: 10 });
    vit.eval();
    const gv = optimizeGraph(traceModule(vit, [randn([1, 3, 64, 64])]));
    expect(roundTripError(gv, exportTflite(gv), [randn([1, 3, 64, 64])])).toBeLessThanOrEqual(1e-5);
    // fp16: the imported graph holds the widened fp16 weights; compare with the fp32 model loosely
    expect(roundTripError(g, exportTflite(g, { quantization: 'fp16' }), x)).toBeLessThanOrEqual(1e-2);
    const net = (t: Tensor) =>
      linear(
        flatten(
          globalAvgPool(
            fusedConv2d(t, w([4, 3, 3, 3], 'q'), w([4], 'qb'), { padding: 1, activation: 'relu' }),
          ),
          1,
        ),
        w([3, 4], 'qf'),
      );
    const qdq = quantizeStatic(optimizeGraph(trace(net, [randn([1, 3, 8, 8])])), [[randn([1, 3, 8, 8])]]);
    const back = importTflite(exportTflite(qdq));
    expect(back.nodes.some((n) => n.op === 'QuantizeLinear')).toBe(true);
    expect(roundTripError(qdq, exportTflite(qdq), [randn([1, 3, 8, 8])])).toBeLessThanOrEqual(1e-6);
    noGrad(() => undefined);
  });

  it('rejects non-TFLite bytes with FormatError', () => {
    expect(() => importTflite(new Uint8Array(3))).toThrow(FormatError);
    expect(() => importTflite(new TextEncoder().encode('xxxxTFL4xxxxxxxx'))).toThrow(/identifier/);
    const g = trace((t) => t.mul(2), [randn([2, 2])]);
    const bytes = exportTflite(g);
    expect(() => importTflite(bytes.subarray(0, bytes.length / 2))).toThrow(FormatError);
  });

  it('saveTflite writes atomically and loadTflite reads the file back', async () => {
    const g = trace((t) => t.mul(3), [randn([2, 3])]);
    const path = join(mkdtempSync(join(tmpdir(), 'tv-tflite-node-')), 'm.tflite');
    await saveTflite(path, g);
    const back = await loadTflite(path);
    const x = randn([2, 3]);
    expect(Array.from(runGraph(back, [x]).outputs[0]!.dataSync())).toEqual(Array.from(x.mul(3).dataSync()));
    await expect(saveTflite(join(path, 'no-such-dir', 'x.tflite'), g)).rejects.toThrow();
  });
});
