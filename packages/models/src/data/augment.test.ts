import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, Rng, registerBackend, ShapeError } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ChwImage,
  horizontalFlip,
  imageAt,
  randomCrop,
  randomHorizontalFlip,
  stackImages,
} from './augment.js';
import { colorJitter, compose, normalize, normalizeTransform } from './augment-color.js';
import { syntheticDetection } from './synthetic-detection.js';

beforeAll(() => registerBackend(cpu()));

/** Pixel (c, y, x) = c·100 + y·10 + x. */
function ramp(c: number, h: number, w: number): ChwImage {
  const data = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(k * h + y) * w + x] = k * 100 + y * 10 + x;
  return { data, channels: c, height: h, width: w };
}

const px = (img: ChwImage, c: number, y: number, x: number) =>
  img.data[(c * img.height + y) * img.width + x]!;

describe('horizontalFlip', () => {
  it('mirrors pixels and boxes (x1 = W - x2)', () => {
    const img = ramp(2, 3, 5);
    const out = horizontalFlip({
      image: img,
      boxes: new Float32Array([1, 0, 3, 2]),
      labels: new Int32Array([4]),
    });
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 5; x++) expect(px(out.image, c, y, x)).toBe(px(img, c, y, 4 - x));
    expect([...out.boxes!]).toEqual([2, 0, 4, 2]);
    expect([...out.labels!]).toEqual([4]);
    expect(img.data[0]).toBe(0); // input untouched
  });

  it('keeps a box tight around a flipped synthetic object', () => {
    const S = 32;
    const ds = syntheticDetection({ count: 1, size: S, seed: 3, returnMasks: true });
    const mask = ds.masks![0]!;
    const maskImg: ChwImage = { data: Float32Array.from(mask), channels: 1, height: S, width: S };
    const out = horizontalFlip({ image: maskImg, boxes: ds.targets.boxes[0]! });
    const b = out.boxes!;
    for (let j = 0; j < b.length / 4; j++) {
      let x1 = S;
      let x2 = -1;
      for (let p = 0; p < S * S; p++) {
        if (out.image.data[p] === j + 1) {
          x1 = Math.min(x1, p % S);
          x2 = Math.max(x2, p % S);
        }
      }
      expect([b[4 * j], b[4 * j + 2]]).toEqual([x1, x2 + 1]);
    }
  });

  it('randomHorizontalFlip flips with probability p, deterministically per seed', () => {
    const img = ramp(1, 2, 4);
    const t = randomHorizontalFlip({ p: 0.5 });
    const rng = new Rng(1);
    let flips = 0;
    for (let i = 0; i < 400; i++) if (t({ image: img }, rng).image.data[0] === 3) flips++;
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    expect(randomHorizontalFlip({ p: 0 })({ image: img }, rng).image).toBe(img);
    expect(() => randomHorizontalFlip({ p: 2 })).toThrow(InvalidArgumentError);
  });
});

describe('randomCrop', () => {
  it('crops a window of the padded image', () => {
    const img = ramp(2, 6, 7);
    const crop = randomCrop({ size: [4, 5], padding: 2, fill: -1 });
    const rng = new Rng(5);
    for (let t = 0; t < 20; t++) {
      const out = crop({ image: img }, rng).image;
      expect([out.channels, out.height, out.width]).toEqual([2, 4, 5]);
      // locate the window from any in-image pixel value and check every pixel
      let dy = 0;
      let dx = 0;
      let found = false;
      for (let y = 0; y < 4 && !found; y++) {
        for (let x = 0; x < 5 && !found; x++) {
          const v = px(out, 0, y, x);
          if (v >= 0) {
            dy = Math.floor(v / 10) - y;
            dx = (v % 10) - x;
            found = true;
          }
        }
      }
      expect(found).toBe(true);
      for (let c = 0; c < 2; c++) {
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 5; x++) {
            const sy = y + dy;
            const sx = x + dx;
            const want = sy >= 0 && sy < 6 && sx >= 0 && sx < 7 ? px(img, c, sy, sx) : -1;
            expect(px(out, c, y, x)).toBe(want);
          }
        }
      }
    }
  });

  it('shifts, clips and drops boxes with their labels', () => {
    const img = ramp(1, 10, 10);
    const boxes = new Float32Array([0, 0, 2, 2, 3, 3, 9, 9]);
    const labels = new Int32Array([7, 8]);
    const crop = randomCrop({ size: [5, 5] });
    const rng = new Rng(2);
    let dropped = 0;
    for (let t = 0; t < 40; t++) {
      const out = crop({ image: img, boxes, labels }, rng);
      const top = Math.floor(out.image.data[0]! / 10);
      const left = out.image.data[0]! % 10;
      const want: number[] = [];
      const wantLabels: number[] = [];
      for (let j = 0; j < 2; j++) {
        const c = [
          boxes[4 * j]! - left,
          boxes[4 * j + 1]! - top,
          boxes[4 * j + 2]! - left,
          boxes[4 * j + 3]! - top,
        ].map((v) => Math.min(5, Math.max(0, v)));
        if (c[2]! - c[0]! >= 1 && c[3]! - c[1]! >= 1) {
          want.push(...c);
          wantLabels.push(labels[j]!);
        }
      }
      expect([...out.boxes!]).toEqual(want);
      expect([...out.labels!]).toEqual(wantLabels);
      if (wantLabels.length < 2) dropped++;
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('is deterministic per seed and rejects bad options', () => {
    const img = ramp(1, 8, 8);
    const crop = randomCrop({ size: [4, 4], padding: 1 });
    expect(crop({ image: img }, new Rng(3)).image.data).toEqual(crop({ image: img }, new Rng(3)).image.data);
    expect(() => randomCrop({ size: [0, 4] })).toThrow(InvalidArgumentError);
    expect(() => randomCrop({ size: [20, 4] })({ image: img }, new Rng(0))).toThrow(/smaller than the crop/);
    expect(() => crop({ image: { ...img, height: 9 } }, new Rng(0))).toThrow(ShapeError);
    expect(() =>
      crop({ image: img, boxes: new Float32Array(4), labels: new Int32Array(2) }, new Rng(0)),
    ).toThrow(/1 boxes but 2 labels/);
  });
});

describe('colorJitter / normalize / compose', () => {
  const rgb = (): ChwImage => {
    const rng = new Rng(4);
    const data = new Float32Array(3 * 4 * 4).map(() => 0.3 + 0.4 * rng.next());
    return { data, channels: 3, height: 4, width: 4 };
  };

  it('brightness scales pixels by one factor within the range', () => {
    const img = rgb();
    const out = colorJitter({ brightness: 0.2 })({ image: img }, new Rng(1)).image;
    const f = out.data[0]! / img.data[0]!;
    expect(f).toBeGreaterThanOrEqual(0.8);
    expect(f).toBeLessThanOrEqual(1.2);
    for (let i = 0; i < img.data.length; i++)
      expect(out.data[i]).toBeCloseTo(Math.min(1, img.data[i]! * f), 5);
  });

  it("saturation keeps each pixel's grey level and contrast stays in [0, 1]", () => {
    const img = rgb();
    const sat = colorJitter({ saturation: 0.3 })({ image: img }, new Rng(9)).image;
    expect(sat.data).not.toEqual(img.data);
    // blending each pixel with its own grey keeps the grey level
    for (let p = 0; p < 16; p++) {
      const g0 = 0.299 * img.data[p]! + 0.587 * img.data[16 + p]! + 0.114 * img.data[32 + p]!;
      const g1 = 0.299 * sat.data[p]! + 0.587 * sat.data[16 + p]! + 0.114 * sat.data[32 + p]!;
      expect(g1).toBeCloseTo(g0, 5);
    }
    const con = colorJitter({ contrast: 0.5 })({ image: img }, new Rng(2)).image;
    expect(con.data).not.toEqual(img.data);
    expect(con.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(colorJitter({})({ image: img }, new Rng(0)).image.data).toEqual(img.data);
    expect(() => colorJitter({ brightness: -1 })).toThrow(InvalidArgumentError);
    expect(() => colorJitter({ contrast: 0.1 })({ image: ramp(1, 2, 2) }, new Rng(0))).toThrow(/3 channels/);
  });

  it('normalize subtracts the mean and divides by std per channel', () => {
    const img = ramp(3, 2, 2);
    const out = normalize(img, [1, 2, 3], [2, 4, 8]);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 4; p++)
        expect(out.data[c * 4 + p]).toBeCloseTo((img.data[c * 4 + p]! - [1, 2, 3][c]!) / [2, 4, 8][c]!, 6);
    expect(() => normalize(img, [1, 2], 1)).toThrow(/'mean'/);
    expect(() => normalize(img, 0, [1, 0, 1])).toThrow(/'std'/);
  });

  it('compose applies transforms in order, deterministically per seed', () => {
    const img = ramp(3, 8, 8);
    const aug = compose([
      randomCrop({ size: [6, 6], padding: 1 }),
      randomHorizontalFlip(),
      normalizeTransform(1, 2),
    ]);
    const a = aug({ image: img }, new Rng(7)).image;
    const b = aug({ image: img }, new Rng(7)).image;
    expect(a.data).toEqual(b.data);
    expect([a.height, a.width]).toEqual([6, 6]);
  });
});

describe('imageAt / stackImages', () => {
  it('round-trips images through a tensor', () => {
    const t = stackImages([ramp(3, 2, 3), ramp(3, 2, 3)]);
    expect(t.shape).toEqual([2, 3, 2, 3]);
    expect(imageAt(t, 1).data).toEqual(ramp(3, 2, 3).data);
    expect(() => imageAt(t, 2)).toThrow(/out of range/);
    expect(() => stackImages([ramp(3, 2, 3), ramp(3, 3, 3)])).toThrow(ShapeError);
    expect(() => stackImages([])).toThrow(ShapeError);
  });
});
