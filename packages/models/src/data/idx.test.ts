import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FormatError } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, readIdxFile } from './idx.js';

function header(type: number, dims: number[]): number[] {
  return [
    0,
    0,
    type,
    dims.length,
    ...dims.flatMap((d) => [(d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255]),
  ];
}

function expectFormatError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(FormatError.isInstance(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a FormatError');
}

describe('parseIdx', () => {
  it('reads a hand-written big-endian header', () => {
    const bytes = new Uint8Array([...header(8, [2, 3]), 1, 2, 3, 4, 5, 6]);
    const a = parseIdx(bytes);
    expect(a.shape).toEqual([2, 3]);
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads dimensions above 65535 (uint32, big-endian)', () => {
    const n = 70_000;
    const bytes = new Uint8Array([...header(8, [n]), ...new Array<number>(n).fill(7)]);
    expect(parseIdx(bytes).shape).toEqual([n]);
  });

  it('round-trips encodeIdx, including rank 0 and empty arrays', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256);
    expect(parseIdx(encodeIdx(data, [2, 3, 4]))).toEqual({ shape: [2, 3, 4], data });
    expect(parseIdx(encodeIdx(new Uint8Array([9]), []))).toEqual({ shape: [], data: new Uint8Array([9]) });
    expect(parseIdx(encodeIdx(new Uint8Array(0), [0, 28]))).toEqual({
      shape: [0, 28],
      data: new Uint8Array(0),
    });
  });

  it('returns a copy, not a view of the input', () => {
    const bytes = encodeIdx(new Uint8Array([1, 2]), [2]);
    const a = parseIdx(bytes);
    bytes[bytes.length - 1] = 99;
    expect(a.data[1]).toBe(2);
  });

  it('rejects bad magic, gzip input and unsupported element types with FormatError', () => {
    expectFormatError(() => parseIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0])), /bad magic '01 00 08 01'/);
    expectFormatError(() => parseIdx(new Uint8Array([0, 0])), /bad magic/);
    expectFormatError(() => parseIdx(gzipSync(encodeIdx(new Uint8Array([1]), [1]))), /gzip-compressed/);
    expectFormatError(() => parseIdx(new Uint8Array(header(0x0d, [1]))), /0x0d \(float32\) is not supported/);
  });

  it('rejects truncation and trailing bytes with FormatError naming the sizes', () => {
    expectFormatError(
      () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2])),
      /header truncated: rank 3 needs 16 bytes, file has 8/,
    );
    const full = encodeIdx(new Uint8Array(12), [3, 4]);
    expectFormatError(
      () => parseIdx(full.subarray(0, full.length - 1), 'x.idx'),
      /x\.idx: data truncated: shape \[3,4\] needs 12 bytes.*has 11/,
    );
    expectFormatError(
      () => parseIdx(new Uint8Array([...full, 0])),
      /size mismatch: shape \[3,4\] needs 12 bytes.*has 13/,
    );
  });

  it('encodeIdx rejects data that does not fill the shape', () => {
    expectFormatError(() => encodeIdx(new Uint8Array(5), [2, 3]), /5 values do not fill shape \[2,3\]/);
    expectFormatError(() => encodeIdx(new Uint8Array(0), [-1]), /dimension -1/);
  });
});

describe('readIdxFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tv-idx-'));
  const data = Uint8Array.from({ length: 6 }, (_, i) => i + 10);

  it('reads raw and gzip files to the same array', async () => {
    writeFileSync(join(dir, 'a.idx'), encodeIdx(data, [2, 3]));
    writeFileSync(join(dir, 'a.idx.gz'), gzipSync(encodeIdx(data, [2, 3])));
    const raw = await readIdxFile(join(dir, 'a.idx'));
    const gz = await readIdxFile(join(dir, 'a.idx.gz'));
    expect(gz).toEqual(raw);
    expect([...raw.data]).toEqual([...data]);
  });

  it('reports corrupt gzip as FormatError with the path', async () => {
    const gz = gzipSync(encodeIdx(data, [2, 3]));
    writeFileSync(join(dir, 'bad.gz'), gz.subarray(0, gz.length - 10));
    await expect(readIdxFile(join(dir, 'bad.gz'))).rejects.toSatisfy(
      (e: unknown) => FormatError.isInstance(e) && /bad\.gz: corrupt gzip data/.test((e as Error).message),
    );
  });
});
