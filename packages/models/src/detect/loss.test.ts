// Target assignment and decoding, hand-computed (the YOLOv5 parity of the loss itself is in
// zoo/yolo-nano.test.ts, against Ultralytics' ComputeLoss).
import { cpu } from '@tinyvision/backend-cpu';
import { fromStorage, InvalidArgumentError, registerBackend, ShapeError, zeros } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeYolo } from './decode.js';
import { assignYoloTargets, yoloLoss } from './loss.js';

beforeAll(() => registerBackend(cpu()));

describe('assignYoloTargets', () => {
  it('matches anchors by side ratio < 4 and adds the two nearest neighbour cells', () => {
    // One 16×16 box centred at (19, 11) px in a 64×64 image.
    const [l0, l1, l2] = assignYoloTargets([{ boxes: [11, 3, 27, 19], labels: [2] }], { imageSize: 64 });
    // Stride 8: centre (2.375, 1.375), size 2×2 cells; anchors/8 = (1.25, 1.625), (2, 3.75), (4.125, 2.875):
    // worst ratios 1.6, 1.875, 2.06 < 4 → all three. x frac .375 < .5 and x > 1 → left cell; y frac .375 and
    // y > 1 → upper cell; from the right/bottom (5.625, 6.625) the fractions .625 are not < .5.
    expect(l0!.map((p) => [p.anchor, p.gi, p.gj])).toEqual([
      [0, 2, 1],
      [1, 2, 1],
      [2, 2, 1],
      [0, 1, 1],
      [1, 1, 1],
      [2, 1, 1],
      [0, 2, 0],
      [1, 2, 0],
      [2, 2, 0],
    ]);
    expect(l0![0]!.box).toEqual([0.375, 0.375, 2, 2]);
    expect(l0![3]!.box).toEqual([1.375, 0.375, 2, 2]);
    expect(l0![0]!.row).toBe(0 * 64 + 1 * 8 + 2);
    expect(l0![1]!.row).toBe(1 * 64 + 1 * 8 + 2);
    // Stride 16: centre (1.1875, 0.6875), size 1×1; anchors/16 = (1.875, 3.8125), (3.875, 2.8125),
    // (3.6875, 7.4375): the third has ratio 7.44 ≥ 4. x > 1 with frac .1875 → left cell 0; y < 1 → no upper;
    // from the bottom 4 − 0.6875 = 3.3125, frac .3125 → lower cell 1.
    expect(l1!.map((p) => [p.anchor, p.gi, p.gj])).toEqual([
      [0, 1, 0],
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 1],
      [1, 1, 1],
    ]);
    expect(l1![0]!.row).toBe(3 * 64 + 0 * 16 + 0 * 4 + 1); // level 0 holds 3·8·8 rows
    // Stride 32: size 0.5 cells vs anchors ≥ 2.8 cells → every ratio ≥ 4: no positives.
    expect(l2).toEqual([]);
  });

  it('keeps neighbour cells inside the grid and honours anchorThreshold', () => {
    const [l0] = assignYoloTargets([{ boxes: [0, 0, 8, 8], labels: [0] }], {
      imageSize: 32,
      anchorThreshold: 1.3,
    });
    // Centre (0.5, 0.5) cells, size 1×1; anchors/8 = (1.25, 1.625), (2, 3.75), (4.125, 2.875): worst ratios
    // 1.625, 3.75, 4.125. Threshold 1.3 keeps none; the default 4 keeps anchors 0 and 1, at cell (0, 0) only
    // (x, y < 1: no left/upper neighbour; from the far side 3.5: fraction .5 is not < .5).
    expect(l0).toEqual([]);
    const [d0] = assignYoloTargets([{ boxes: [0, 0, 8, 8], labels: [0] }], { imageSize: 32 });
    expect(d0!.map((p) => [p.anchor, p.gi, p.gj])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(() => assignYoloTargets([], { imageSize: 30 })).toThrow(InvalidArgumentError);
    expect(() => assignYoloTargets([], { imageSize: 32, anchorThreshold: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('decodeYolo', () => {
  it('maps zero logits to the cell centre, the anchor size and probability 0.5', () => {
    const dec = decodeYolo(zeros([1, 3 * (16 + 4 + 1), 6]), { imageSize: 32 }).toArray() as number[][][];
    // Row 0: level 0, anchor 0, cell (0, 0): xy = (2·0.5 − 0.5 + 0) · 8 = 4, wh = (2·0.5)² · (10, 13).
    expect(dec[0]![0]).toEqual([4, 4, 10, 13, 0.5, 0.5]);
    // Row 16 + 5: level 0, anchor 1, cell (1, 1): xy = 12, wh = (16, 30).
    expect(dec[0]![21]).toEqual([12, 12, 16, 30, 0.5, 0.5]);
    // Last row: level 2 (stride 32), anchor 2, cell (0, 0): xy = 16, wh = (373, 326).
    expect(dec[0]![62]).toEqual([16, 16, 373, 326, 0.5, 0.5]);
  });

  it('rejects outputs that do not fit the layout', () => {
    expect(() => decodeYolo(zeros([1, 10, 6]), { imageSize: 32 })).toThrow(ShapeError);
    expect(() =>
      decodeYolo(zeros([1, 63, 6]), { imageSize: 32, anchors: [[[1, 1]]], strides: [8, 16] }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('yoloLoss', () => {
  it('checks classes, labels and the batch', () => {
    const raw = zeros([1, 63, 7]);
    const t = [{ boxes: [0, 0, 8, 8], labels: [1] }];
    expect(yoloLoss(raw, t, { imageSize: 32, numClasses: 2 }).positives).toBe(2); // see above
    expect(() => yoloLoss(raw, t, { imageSize: 32, numClasses: 3 })).toThrow(InvalidArgumentError);
    expect(() =>
      yoloLoss(raw, [{ boxes: [0, 0, 8, 8], labels: [2] }], { imageSize: 32, numClasses: 2 }),
    ).toThrow(InvalidArgumentError);
    expect(() => yoloLoss(raw, [...t, ...t], { imageSize: 32, numClasses: 2 })).toThrow(ShapeError);
  });

  it('has only the objectness term without targets', () => {
    const r = yoloLoss(
      zeros([2, 63, 7]),
      [
        { boxes: [], labels: [] },
        { boxes: [], labels: [] },
      ],
      { imageSize: 32, numClasses: 2 },
    );
    expect(r.positives).toBe(0);
    expect(r.box).toBe(0);
    expect(r.cls).toBe(0);
    // BCE(0, 0) = ln 2 per cell, mean per level × balance (4 + 1 + 0.4), × obj gain (32/640)², × batch 2.
    expect(r.obj).toBeCloseTo(Math.LN2 * 5.4 * (32 / 640) ** 2, 6);
    expect(r.loss.item()).toBeCloseTo(2 * r.obj, 6);
  });

  it('stays finite for predicted boxes far smaller than a float32 ulp of their centre', () => {
    // Logits −10: w = (2σ(−10))² · anchor ≈ 1e-8 cells; as x2 − x1 around a centre ≈ 0.5 that would cancel to 0
    // and make CIoU's aspect term 0/0.
    const raw = fromStorage(new Float32Array(63 * 7).fill(-10), [1, 63, 7], 'float32').requiresGrad_();
    const r = yoloLoss(raw, [{ boxes: [8, 8, 24, 20], labels: [1] }], { imageSize: 32, numClasses: 2 });
    expect(Number.isFinite(r.loss.item())).toBe(true);
    r.loss.backward();
    expect((raw.grad!.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
