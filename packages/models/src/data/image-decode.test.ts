import { FormatError, InvalidArgumentError, Rng } from '@tinyvision/tensor';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { type DecodedImage, decodeImage, imageFormat } from './image-decode.js';

/** A deterministic RGBA test pattern. */
function pattern(w: number, h: number, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const d = new Uint8Array(w * h * 4);
  for (let i = 0; i < d.length; i++) d[i] = i % 4 === 3 ? 255 : rng.int(256);
  return d;
}

function encodePng(w: number, h: number, rgba: Uint8Array, colorType: 2 | 6 = 6): Uint8Array {
  const png = new PNG({ width: w, height: h, colorType, inputColorType: 6 });
  png.data = Buffer.from(rgba);
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6 }));
}

function encodeJpeg(w: number, h: number, rgba: Uint8Array, quality = 95): Uint8Array {
  return new Uint8Array(jpeg.encode({ width: w, height: h, data: Buffer.from(rgba) }, quality).data);
}

describe('decodeImage', () => {
  it('decodes PNG (RGBA and RGB) losslessly to RGB', async () => {
    const rgba = pattern(7, 5);
    for (const ct of [6, 2] as const) {
      const img = await decodeImage(encodePng(7, 5, rgba, ct), 'a.png');
      expect([img.width, img.height, img.channels]).toEqual([7, 5, 3]);
      for (let p = 0; p < 35; p++) {
        expect([...img.data.subarray(p * 3, p * 3 + 3)]).toEqual([...rgba.subarray(p * 4, p * 4 + 3)]);
      }
    }
  });

  it('replicates grey PNGs to RGB and scales 16-bit PNGs to 8 bits', async () => {
    const grey = new PNG({ width: 3, height: 2, colorType: 0, inputColorType: 0, bitDepth: 8 });
    grey.data = Buffer.from([0, 50, 100, 150, 200, 250]);
    const g = await decodeImage(
      new Uint8Array(PNG.sync.write(grey, { colorType: 0, inputColorType: 0 })),
      'g.png',
    );
    expect([...g.data.subarray(0, 6)]).toEqual([0, 0, 0, 50, 50, 50]);
    expect(g.data[15]).toBe(250);
    const deep = new PNG({ width: 2, height: 1, colorType: 2, inputColorType: 6, bitDepth: 16 });
    // 16-bit input: one Uint16 per sample
    deep.data = new Uint16Array(
      [10, 20, 30, 255, 200, 210, 220, 255].map((v) => v * 257),
    ) as unknown as Buffer;
    const bytes = new Uint8Array(PNG.sync.write(deep, { colorType: 2, inputColorType: 6, bitDepth: 16 }));
    expect(bytes[24]).toBe(16); // IHDR bit depth
    const d = await decodeImage(bytes, 'd.png');
    expect([...d.data]).toEqual([10, 20, 30, 200, 210, 220]);
  });

  it('decodes JPEG to RGB close to the source', async () => {
    const w = 16;
    const h = 8;
    const rgba = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) rgba.set([200, 40 + (p % w) * 8, 90, 255], p * 4);
    const img = await decodeImage(encodeJpeg(w, h, rgba), 'a.jpg');
    expect([img.width, img.height, img.data.length]).toEqual([w, h, w * h * 3]);
    let maxErr = 0;
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++)
        maxErr = Math.max(maxErr, Math.abs(img.data[p * 3 + c]! - rgba[p * 4 + c]!));
    }
    expect(maxErr).toBeLessThan(16);
  });

  it('detects formats by magic bytes', () => {
    expect(imageFormat(encodePng(2, 2, pattern(2, 2)))).toBe('png');
    expect(imageFormat(encodeJpeg(2, 2, pattern(2, 2)))).toBe('jpeg');
    expect(imageFormat(new Uint8Array([0x47, 0x49, 0x46, 0x38]))).toBeNull();
  });

  it('rejects unknown, empty and non-byte input with typed errors', async () => {
    await expect(decodeImage(new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]), 'x.gif')).rejects.toThrow(
      /x\.gif: unknown image format \(magic '47 49 46 38 39 61'\)/,
    );
    await expect(decodeImage(new Uint8Array(0), 'e.png')).rejects.toThrow(/e\.png: .*empty file/);
    await expect(decodeImage([1, 2] as unknown as Uint8Array)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('rejects truncated PNG and JPEG files with FormatError naming the file', async () => {
    const png = encodePng(9, 9, pattern(9, 9));
    const jpg = encodeJpeg(9, 9, pattern(9, 9));
    for (const cut of [9, 20, 40, png.length - 13, png.length - 1]) {
      await expect(decodeImage(png.subarray(0, cut), 'cut.png')).rejects.toThrow(
        /cut\.png: corrupt or truncated PNG/,
      );
    }
    for (const cut of [4, 30, 200, jpg.length - 2]) {
      await expect(decodeImage(jpg.subarray(0, cut), 'cut.jpg')).rejects.toThrow(
        /cut\.jpg: corrupt or truncated JPEG/,
      );
    }
  });

  it('only ever throws FormatError on random bytes, with or without a valid magic', async () => {
    const rng = new Rng(7);
    const prefixes = [[], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0xff, 0xd8, 0xff]];
    for (let t = 0; t < 60; t++) {
      const prefix = prefixes[t % 3]!;
      const bytes = new Uint8Array(prefix.length + 1 + rng.int(300));
      bytes.set(prefix);
      for (let i = prefix.length; i < bytes.length; i++) bytes[i] = rng.int(256);
      const result = await decodeImage(bytes, `r${t}`).then(
        (img): DecodedImage | Error => img,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      if (result instanceof Error) expect(result).toBeInstanceOf(FormatError);
      else expect(result.data.length).toBe(result.width * result.height * 3);
    }
  });

  it('flips bytes inside a valid PNG and JPEG and still only throws FormatError', async () => {
    const rng = new Rng(11);
    const files = [encodePng(12, 10, pattern(12, 10)), encodeJpeg(12, 10, pattern(12, 10))];
    for (let t = 0; t < 40; t++) {
      const bytes = files[t % 2]!.slice();
      for (let k = 0; k < 4; k++) bytes[8 + rng.int(bytes.length - 8)] = rng.int(256);
      const result = await decodeImage(bytes, 'flip').then(
        (img): DecodedImage | Error => img,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      if (result instanceof Error) expect(result).toBeInstanceOf(FormatError);
    }
  });
});
