// NMS against torchvision.ops.nms / batched_nms: fixtures from __fixtures__/gen_nms.py (torchvision 0.14).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, ShapeError } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { batchedNms, nms, yoloPostprocess } from './nms.js';

interface NmsCase {
  name: string;
  iouThreshold: number;
  boxes: number[];
  scores: number[];
  categories: number[];
  nms: number[];
  batched: number[];
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./__fixtures__/nms.json', import.meta.url)), 'utf8'),
) as { cases: NmsCase[] };

describe('nms / batchedNms vs torchvision', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const boxes = Float32Array.from(c.boxes);
    const scores = Float32Array.from(c.scores);
    expect(Array.from(nms(boxes, scores, c.iouThreshold))).toEqual(c.nms);
    expect(Array.from(batchedNms(boxes, scores, c.categories, c.iouThreshold))).toEqual(c.batched);
  });

  it('keeps boxes in decreasing score order and suppresses only within a category', () => {
    const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30];
    expect(Array.from(nms(boxes, [0.8, 0.9, 0.7], 0.5))).toEqual([1, 2]);
    expect(Array.from(batchedNms(boxes, [0.8, 0.9, 0.7], [0, 1, 0], 0.5))).toEqual([1, 0, 2]);
  });

  it('rejects mismatched lengths and NaN thresholds', () => {
    expect(() => nms([0, 0, 1], [1], 0.5)).toThrow(ShapeError);
    expect(() => nms([0, 0, 1, 1], [1, 2], 0.5)).toThrow(ShapeError);
    expect(() => batchedNms([0, 0, 1, 1], [1], [0, 1], 0.5)).toThrow(ShapeError);
    expect(() => nms([0, 0, 1, 1], [1], Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('yoloPostprocess', () => {
  it('filters by objectness × class score, converts to xyxy and runs class-aware NMS', () => {
    // 1 image, 4 rows, 2 classes: [cx, cy, w, h, obj, c0, c1]
    const rows = [
      [10, 10, 4, 4, 0.9, 0.9, 0.1], // score 0.81, class 0
      [10.5, 10, 4, 4, 0.8, 0.8, 0.2], // overlaps row 0, class 0 → suppressed
      [10, 10, 4, 4, 0.9, 0.1, 0.6], // same place, class 1 → kept
      [30, 30, 2, 2, 0.2, 0.9, 0.1], // objectness 0.2 below 0.25 → dropped
    ];
    const [d] = yoloPostprocess(rows.flat(), [1, 4, 7], { scoreThreshold: 0.25, iouThreshold: 0.45 });
    expect(Array.from(d!.labels)).toEqual([0, 1]);
    expect(Array.from(d!.scores)).toEqual(
      [Math.fround(0.81), Math.fround(0.54)].map((v) => expect.closeTo(v, 6)),
    );
    expect(Array.from(d!.boxes)).toEqual([8, 8, 12, 12, 8, 8, 12, 12]);
    const [one] = yoloPostprocess(rows.flat(), [1, 4, 7], { scoreThreshold: 0.25, maxDetections: 1 });
    expect(one!.scores.length).toBe(1);
  });

  it('rejects data that does not fit the shape and bad thresholds', () => {
    expect(() => yoloPostprocess([1, 2, 3], [1, 1, 7])).toThrow(ShapeError);
    expect(() => yoloPostprocess(new Float32Array(7), [1, 1, 7], { iouThreshold: 2 })).toThrow(
      InvalidArgumentError,
    );
  });
});
