// yolo_nano against Ultralytics YOLOv5 itself: fixtures from __fixtures__/yolo_nano_gen.py (YOLOv5 v7.0 source,
// torch 1.13), weights filled with the same deterministic values on both sides.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import {
  fromStorage,
  InvalidArgumentError,
  noGrad,
  parseNpy,
  randn,
  registerBackend,
  runGraph,
  type Tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeYolo } from '../detect/decode.js';
import { yoloLoss } from '../detect/loss.js';
import { traceModule } from '../nn/trace.js';
import { countMacs } from './macs.js';
import { createModel, modelInfo } from './registry.js';
import { YoloNano } from './yolo-nano.js';

const DIR = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const meta = JSON.parse(readFileSync(`${DIR}yolo_nano.json`, 'utf8')) as {
  params_nc80: number;
  params_nc3: number;
  filled_tensors: number;
  numClasses: number;
  resolution: number;
  targets: number[][];
  loss: number;
  lbox: number;
  lobj: number;
  lcls: number;
};

/** Published YOLOv5n (Ultralytics YOLOv5 v6.0 release table): 1.9M params, 4.5 GFLOPs at 640 (FLOPs = 2·MACs, thop). */
const PUBLISHED = { params: 1.9e6, gflops: 4.5 };

function npy(file: string): Tensor {
  const a = parseNpy(new Uint8Array(readFileSync(`${DIR}${file}`)));
  return fromStorage(a.data, a.shape, a.dtype);
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / scale;
}

/** The generator's `fill`: the same deterministic values, tensor by tensor in state-dict order. */
function fillDeterministic(model: YoloNano): number {
  let k = 0;
  for (const [name, t] of model.stateDict()) {
    if (name.endsWith('num_batches_tracked')) continue;
    const n = t.size;
    const v = new Float32Array(n);
    const fanIn = t.rank > 1 ? n / t.shape[0]! : 1;
    for (let i = 0; i < n; i++) {
      const s = Math.sin(0.7 * i + 1.3 * k + 0.1);
      if (name.endsWith('running_var')) v[i] = 1 + 0.5 * Math.abs(s);
      else if (name.endsWith('running_mean') || name.endsWith('.bias')) v[i] = 0.1 * s;
      else if (name.endsWith('bn.weight')) v[i] = 1 + 0.2 * s;
      else v[i] = s * (1.5 / Math.sqrt(fanIn));
    }
    noGrad(() => t.assign_(fromStorage(v, t.shape, 'float32')));
    k++;
  }
  return k;
}

function targetsFromFixture(res: number) {
  const boxes: number[][] = [[], []];
  const labels: number[][] = [[], []];
  for (const [b, c, cx, cy, w, h] of meta.targets as [number, number, number, number, number, number][]) {
    boxes[b]!.push((cx - w / 2) * res, (cy - h / 2) * res, (cx + w / 2) * res, (cy + h / 2) * res);
    labels[b]!.push(c);
  }
  return boxes.map((bx, i) => ({ boxes: Float32Array.from(bx), labels: Int32Array.from(labels[i]!) }));
}

beforeAll(() => registerBackend(cpu()));

describe('yolo_nano size', () => {
  it('has YOLOv5n parameter count (exactly Ultralytics, within 2% of the published 1.9M) and MACs', () => {
    // Traced at 160 px to keep the test fast: every layer is a convolution whose cost scales with H·W, so
    // the MACs at 640 are exactly 16 times those at 160 (checked: 2,234,060,800 at 640).
    const info = modelInfo('yolo_nano', { resolution: 160 });
    expect(info.params).toBe(meta.params_nc80); // 1,872,157 as YOLOv5's model summary
    expect(Math.abs(info.params / PUBLISHED.params - 1)).toBeLessThan(0.02);
    expect(info.inputShape).toEqual([1, 3, 160, 160]);
    // 2·MACs vs the published 4.5 GFLOPs at 640 (thop counts conv multiply-adds; 4.47 here, 0.7% off).
    expect(Math.abs((2 * 16 * info.macs) / 1e9 / PUBLISHED.gflops - 1)).toBeLessThan(0.02);
    expect(new YoloNano().resolution).toBe(640);
    expect(createModel('yolo_nano', { numClasses: 3, resolution: 64 }).numParameters()).toBe(meta.params_nc3);
  });
});

describe('yolo_nano vs Ultralytics YOLOv5 v7.0', () => {
  it('names its state dict as YOLOv5, and forward, decode, loss and loss gradient match', () => {
    const model = new YoloNano({ numClasses: meta.numClasses, resolution: meta.resolution });
    const keys = [...model.stateDict().keys()];
    expect(keys[0]).toBe('model.0.conv.weight');
    expect(keys.at(-1)).toBe('model.24.m.2.bias');
    expect(fillDeterministic(model)).toBe(meta.filled_tensors);
    model.eval();
    const raw = noGrad(() => model.call(npy('yolo_nano.input.npy')));
    expect(raw.shape).toEqual([2, 3 * (64 + 16 + 4), 8]);
    expect(
      maxRelErr(raw.dataSync() as Float32Array, npy('yolo_nano.raw.npy').dataSync() as Float32Array),
    ).toBeLessThan(1e-4);
    // Decode and loss from YOLOv5's own raw output, so they are compared independently of the forward pass.
    const want = npy('yolo_nano.raw.npy');
    const dec = decodeYolo(want, { imageSize: meta.resolution });
    expect(
      maxRelErr(dec.dataSync() as Float32Array, npy('yolo_nano.decoded.npy').dataSync() as Float32Array),
    ).toBeLessThan(1e-5);
    const leaf = fromStorage(
      Float32Array.from(want.dataSync() as Float32Array),
      want.shape,
      'float32',
    ).requiresGrad_();
    const r = yoloLoss(leaf, targetsFromFixture(meta.resolution), {
      imageSize: meta.resolution,
      numClasses: meta.numClasses,
    });
    expect(r.loss.item()).toBeCloseTo(meta.loss, 5);
    expect(r.box).toBeCloseTo(meta.lbox, 6);
    expect(r.obj).toBeCloseTo(meta.lobj, 6);
    expect(r.cls).toBeCloseTo(meta.lcls, 6);
    r.loss.backward();
    expect(
      maxRelErr(leaf.grad!.dataSync() as Float32Array, npy('yolo_nano.grad.npy').dataSync() as Float32Array),
    ).toBeLessThan(1e-4);
  });
});

describe('yolo_nano training and export', () => {
  it('runs forward and backward in training mode at 64 px (every parameter gets a finite gradient)', () => {
    const model = createModel('yolo_nano', { numClasses: 2, resolution: 64 });
    const x = randn([2, 3, 64, 64]);
    const targets = [
      { boxes: Float32Array.from([4, 4, 30, 20]), labels: Int32Array.from([1]) },
      { boxes: Float32Array.from([10, 12, 50, 60, 40, 2, 60, 18]), labels: Int32Array.from([0, 1]) },
    ];
    const r = yoloLoss(model.call(x), targets, { imageSize: 64, numClasses: 2 });
    expect(r.positives).toBeGreaterThan(0);
    r.loss.backward();
    for (const [name, p] of model.namedParameters()) {
      const g = p.grad?.dataSync() as Float32Array | undefined;
      expect(g, name).toBeDefined();
      expect(g!.every(Number.isFinite), name).toBe(true);
    }
  });

  it('traces to the graph IR and the graph reproduces the eager output', () => {
    const model = new YoloNano({ numClasses: 2, resolution: 64 });
    const x = randn([1, 3, 64, 64]);
    const g = traceModule(model, [x]);
    expect(g.nodes.some((n) => n.op === 'Resize')).toBe(true);
    const eager = noGrad(() => model.eval().call(x));
    const { outputs } = runGraph(g, [x]);
    expect(maxRelErr(outputs[0]!.dataSync() as Float32Array, eager.dataSync() as Float32Array)).toBeLessThan(
      1e-5,
    );
    expect(countMacs(g).total).toBeGreaterThan(0);
  });

  it.each(['mobilenet_v2', 'mobilenet_v3_small'] as const)(
    'builds on a %s backbone, forward + backward',
    (backbone) => {
      const model = new YoloNano({ numClasses: 2, resolution: 64, backbone });
      const raw = model.call(randn([2, 3, 64, 64]));
      expect(raw.shape).toEqual([2, 3 * (64 + 16 + 4), 7]);
      const r = yoloLoss(
        raw,
        [
          { boxes: Float32Array.from([4, 4, 30, 20]), labels: Int32Array.from([1]) },
          { boxes: Float32Array.from([]), labels: Int32Array.from([]) },
        ],
        { imageSize: 64, numClasses: 2 },
      );
      r.loss.backward();
      expect(model.backbone!.parameters().every((p) => p.grad !== null && p.grad !== undefined)).toBe(true);
      expect(model.stateDict().has('backbone.0.0.weight')).toBe(true);
    },
  );

  it('rejects bad options with typed errors', () => {
    expect(() => createModel('yolo_nano', { resolution: 100 })).toThrow(InvalidArgumentError);
    expect(() => createModel('yolo_nano', { numClasses: 0 })).toThrow(InvalidArgumentError);
    expect(() => createModel('yolo_nano', { dropout: 0.1 })).toThrow(InvalidArgumentError);
    expect(() => new YoloNano({ backbone: 'resnet' as never })).toThrow(/backbone/);
  });
});
