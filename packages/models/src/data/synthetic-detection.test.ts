import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, registerBackend } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticDetection } from './synthetic-detection.js';

beforeAll(() => registerBackend(cpu()));

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe('syntheticDetection', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = syntheticDetection({ count: 6, size: 32, seed: 3 });
    const b = syntheticDetection({ count: 6, size: 32, seed: 3 });
    const c = syntheticDetection({ count: 6, size: 32, seed: 4 });
    expect(bytes(a.images.dataSync())).toEqual(bytes(b.images.dataSync()));
    expect(a.targets.boxes.map((x) => [...x])).toEqual(b.targets.boxes.map((x) => [...x]));
    expect(a.targets.labels.map((x) => [...x])).toEqual(b.targets.labels.map((x) => [...x]));
    expect(bytes(a.images.dataSync())).not.toEqual(bytes(c.images.dataSync()));
    // image i depends only on (seed, i): a longer dataset extends a shorter one
    const d = syntheticDetection({ count: 2, size: 32, seed: 3 });
    expect([...d.images.dataSync()]).toEqual([...a.images.dataSync().subarray(0, 2 * 3 * 32 * 32)]);
  });

  it('returns [N,3,S,S] float32 in [0,1] with 1..maxObjects boxes per image', () => {
    const { images, targets, classNames } = syntheticDetection({
      count: 40,
      size: 48,
      seed: 1,
      maxObjects: 3,
    });
    expect(images.shape).toEqual([40, 3, 48, 48]);
    expect(images.dtype).toBe('float32');
    const px = images.dataSync();
    expect(px.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(classNames).toEqual(['circle', 'square', 'triangle']);
    for (let i = 0; i < 40; i++) {
      const k = targets.labels[i]!.length;
      expect(k).toBeGreaterThanOrEqual(1);
      expect(k).toBeLessThanOrEqual(3);
      expect(targets.boxes[i]!.length).toBe(4 * k);
      for (let j = 0; j < k; j++) {
        const [x1, y1, x2, y2] = targets.boxes[i]!.subarray(4 * j, 4 * j + 4);
        expect(0 <= x1! && x1! < x2! && x2! <= 48).toBe(true);
        expect(0 <= y1! && y1! < y2! && y2! <= 48).toBe(true);
      }
    }
  });

  it('draws boxes tight around flat-coloured objects with background just outside', () => {
    const S = 40;
    const { images, targets, masks } = syntheticDetection({ count: 30, size: S, seed: 9, returnMasks: true });
    const px = images.dataSync();
    const plane = S * S;
    let checked = 0;
    for (let i = 0; i < 30; i++) {
      const mask = masks![i]!;
      const bx = targets.boxes[i]!;
      for (let j = 0; j < bx.length / 4; j++) {
        const [x1, y1, x2, y2] = [...bx.subarray(4 * j, 4 * j + 4)] as [number, number, number, number];
        const id = j + 1;
        const at = (x: number, y: number) => mask[y * S + x];
        // every object pixel lies inside its box and has one flat colour
        const first = mask.indexOf(id);
        for (let p = 0; p < plane; p++) {
          if (mask[p] !== id) continue;
          const x = p % S;
          const y = Math.floor(p / S);
          expect(x >= x1 && x < x2 && y >= y1 && y < y2).toBe(true);
          for (let c = 0; c < 3; c++)
            expect(px[i * 3 * plane + c * plane + p]).toBe(px[i * 3 * plane + c * plane + first]);
        }
        // tight: each edge row/column of the box holds an object pixel
        const rowHas = (y: number) => Array.from({ length: x2 - x1 }, (_, t) => at(x1 + t, y)).includes(id);
        const colHas = (x: number) => Array.from({ length: y2 - y1 }, (_, t) => at(x, y1 + t)).includes(id);
        expect(rowHas(y1) && rowHas(y2 - 1) && colHas(x1) && colHas(x2 - 1)).toBe(true);
        // just outside each side: background (mask 0), where inside the image
        if (y1 > 0) for (let x = x1; x < x2; x++) expect(at(x, y1 - 1)).toBe(0);
        if (y2 < S) for (let x = x1; x < x2; x++) expect(at(x, y2)).toBe(0);
        if (x1 > 0) for (let y = y1; y < y2; y++) expect(at(x1 - 1, y)).toBe(0);
        if (x2 < S) for (let y = y1; y < y2; y++) expect(at(x2, y)).toBe(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('draws background that is textured, not flat', () => {
    const S = 32;
    const { images, masks } = syntheticDetection({ count: 1, size: S, seed: 2, returnMasks: true });
    const px = images.dataSync();
    const bg = new Set<number>();
    for (let p = 0; p < S * S; p++) if (masks![0]![p] === 0) bg.add(px[p]!);
    expect(bg.size).toBeGreaterThan(100);
  });

  it('balances classes over 300 images', () => {
    const { targets } = syntheticDetection({ count: 300, size: 32, seed: 5 });
    const counts = [0, 0, 0];
    for (const l of targets.labels) for (const c of l) counts[c]!++;
    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(300);
    for (const n of counts) expect(Math.abs(n / total - 1 / 3)).toBeLessThan(0.05);
  });

  it('supports custom shape classes', () => {
    const { targets, classNames } = syntheticDetection({
      count: 20,
      size: 32,
      seed: 1,
      classes: ['cross', 'diamond'],
    });
    expect(classNames).toEqual(['cross', 'diamond']);
    for (const l of targets.labels) for (const c of l) expect(c === 0 || c === 1).toBe(true);
  });

  it('rejects bad options', () => {
    expect(() => syntheticDetection({ count: -1 })).toThrow(InvalidArgumentError);
    expect(() => syntheticDetection({ count: 1, size: 8 })).toThrow(/'size'/);
    expect(() => syntheticDetection({ count: 1, maxObjects: 0 })).toThrow(/'maxObjects'/);
    expect(() => syntheticDetection({ count: 1, classes: ['hexagon'] })).toThrow(
      /'hexagon' is not a known shape/,
    );
    expect(() => syntheticDetection({ count: 1, classes: ['circle', 'circle'] })).toThrow(/distinct/);
  });
});
