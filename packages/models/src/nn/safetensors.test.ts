import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import {
  FormatError,
  fromStorage,
  InvalidArgumentError,
  quantParams,
  randn,
  registerBackend,
  type Tensor,
  TinyVisionError,
  tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensors, saveSafetensors } from '../node.js';
import { BatchNorm2d, Conv2d, Linear, Sequential } from './index.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

const FIX = join(import.meta.dirname, '__fixtures__');
const fixture = (f: string) => new Uint8Array(readFileSync(join(FIX, f)));

beforeAll(() => registerBackend(cpu()));

function header(obj: unknown, data: number[] = [], pad = true): Uint8Array {
  let json = JSON.stringify(obj);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectFormatError(bytes: Uint8Array, re: RegExp): void {
  let caught: unknown;
  try {
    decodeSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(FormatError.isInstance(caught), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(re);
}

const raw = (t: Tensor) => Array.from(t.dataSync());

describe('safetensors', () => {
  it('decodes a torch-side file with every dtype (I64 → int32, F64 → float32)', () => {
    const { tensors, metadata } = decodeSafetensors(fixture('mixed.safetensors'));
    expect(metadata).toEqual({ k: 'v' });
    const get = (k: string) => tensors.get(k)!;
    expect([...tensors.keys()]).toEqual([
      'f32',
      'f16',
      'bf16',
      'i8',
      'u8',
      'i32',
      'i64',
      'bool',
      'f64',
      'scalar',
      'empty',
    ]);
    expect(get('f16').dtype).toBe('float16');
    expect(get('bf16').shape).toEqual([3, 1]);
    expect(get('i8').toArray()).toEqual([-128, -1, 0, 127]);
    expect(get('u8').toArray()).toEqual([0, 1, 255]);
    expect(get('i32').toArray()).toEqual([
      [-2147483648, 7],
      [2147483647, 0],
    ]);
    expect([get('i64').dtype, get('i64').toArray()]).toEqual(['int32', [-5, 2147483647, -2147483648]]);
    expect([get('bool').dtype, get('bool').toArray()]).toEqual(['bool', [1, 0, 1]]);
    expect(get('f64').dtype).toBe('float32');
    expect(get('f64').toArray()).toEqual([1.5, Math.fround(-0.1), 1e10]);
    expect([get('scalar').shape, get('scalar').item()]).toEqual([[], 3.25]);
    expect(get('empty').shape).toEqual([0, 4]);
  });

  it('re-encodes the python-written state dict byte for byte', () => {
    const bytes = fixture('floats.safetensors');
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.size).toBeGreaterThan(10);
    expect(encodeSafetensors(tensors, metadata)).toEqual(bytes);
  });

  it('round-trips every dtype, shapes, metadata and records', () => {
    const src: Record<string, Tensor> = {
      a: randn([2, 3, 4]),
      h: tensor([1.5, -2, 65504], [3], 'float16'),
      b: tensor([1.5, -2], [2], 'bfloat16'),
      i8: tensor([-3, 4], [2], 'int8'),
      u8: tensor([250], [1], 'uint8'),
      i32: tensor([1 << 30, -7], [2], 'int32'),
      flag: tensor([1, 0, 1], [3], 'bool'),
      s: tensor(7),
      e: randn([0, 3]),
    };
    const bytes = encodeSafetensors(src, { note: 'x' });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ note: 'x' });
    for (const [k, t] of Object.entries(src)) {
      const d = tensors.get(k)!;
      expect([d.dtype, d.shape], k).toEqual([t.dtype, t.shape]);
      expect(raw(d), k).toEqual(raw(t));
    }
    // non-contiguous views are written row-major
    const v = randn([3, 4]).transpose();
    expect(decodeSafetensors(encodeSafetensors({ v })).tensors.get('v')!.toArray()).toEqual(v.toArray());
  });

  it('rejects what it cannot represent', () => {
    const q = fromStorage(new Int8Array([1, 2]), [2], 'int8', quantParams(0.5));
    expect(() => encodeSafetensors({ q })).toThrow(InvalidArgumentError);
    expect(() => encodeSafetensors({ __metadata__: randn([1]) })).toThrow(InvalidArgumentError);
    expect(() => encodeSafetensors({}, { k: 1 as unknown as string })).toThrow(InvalidArgumentError);
  });

  it('validates headers, offsets and sizes with FormatErrors naming the key and byte', () => {
    expectFormatError(new Uint8Array(5), /shorter than the 8-byte/);
    expectFormatError(header({}).subarray(0, 9), /header length 8 .* does not fit/);
    const big = header({});
    new DataView(big.buffer).setUint32(4, 1, true);
    expectFormatError(big, /does not fit/);
    expectFormatError(header([1, 2]), /must be a JSON object/);
    const badJson = header({ a: 1 });
    badJson[9] = 0x7b;
    expectFormatError(badJson, /not valid UTF-8 JSON/);
    const badUtf8 = header({ a: 'xx' });
    badUtf8[14] = 0xff;
    expectFormatError(badUtf8, /not valid UTF-8 JSON/);
    const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const data8 = [0, 0, 128, 63, 0, 0, 0, 64];
    expect(
      decodeSafetensors(header({ w: ok }, data8))
        .tensors.get('w')!
        .toArray(),
    ).toEqual([1, 2]);
    expectFormatError(header({ w: { ...ok, dtype: 'U16' } }, data8), /'w': unsupported dtype "U16"/);
    expectFormatError(header({ w: { ...ok, shape: [-2] } }, data8), /'w': 'shape' must be/);
    expectFormatError(header({ w: { ...ok, shape: [1.5] } }, data8), /'w': 'shape' must be/);
    expectFormatError(header({ w: { ...ok, data_offsets: [0] } }, data8), /'data_offsets' must be/);
    expectFormatError(
      header({ w: { ...ok, data_offsets: [0, 16] } }, data8),
      /'w': data_offsets \[0, 16\].*outside/,
    );
    expectFormatError(header({ w: { ...ok, data_offsets: [8, 0] } }, data8), /outside/);
    expectFormatError(
      header({ w: { ...ok, shape: [3] } }, data8),
      /'w': 8 bytes at file byte \d+, expected 12/,
    );
    expectFormatError(header({ w: 5 }, data8), /'w': header entry must be an object/);
    expectFormatError(
      header({ w: ok, v: { ...ok, shape: [1], data_offsets: [4, 8] } }, data8),
      /'v' \(file bytes \d+\.\.\d+\) overlaps 'w'/,
    );
    expectFormatError(header({ __metadata__: { k: 1 } }), /'__metadata__' value 'k' must be a string/);
    expectFormatError(header({ __metadata__: [] }), /'__metadata__' must be an object/);
    const i64 = [0, 0, 0, 128, 0, 0, 0, 0]; // 2^31
    expectFormatError(
      header({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, i64),
      /'n': I64 value 2147483648 at file byte \d+ does not fit int32/,
    );
    expectFormatError(
      header({ b: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] } }, [2]),
      /'b': BOOL byte 2/,
    );
    // unpadded headers are accepted (the spec only recommends padding)
    expect(decodeSafetensors(header({ w: ok }, data8, false)).tensors.size).toBe(1);
  });

  it('fuzz: truncations and byte flips only ever throw TinyVision errors', () => {
    const model = new Sequential(new Conv2d(2, 3, 3), new BatchNorm2d(3), new Linear(4, 2));
    const bytes = encodeSafetensors(model.stateDict(), { arch: 'fuzz' });
    let errors = 0;
    const attempt = (b: Uint8Array) => {
      try {
        decodeSafetensors(b);
      } catch (e) {
        expect(TinyVisionError.isInstance(e), String(e)).toBe(true);
        errors++;
      }
    };
    for (let cut = 0; cut < bytes.length; cut += 3) attempt(bytes.subarray(0, cut));
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    for (let i = 0; i < 1500; i++) {
      const b = bytes.slice();
      const flips = 1 + Math.floor(rnd() * 3);
      for (let j = 0; j < flips; j++) {
        // mostly the header, where flips matter
        const pos = rnd() < 0.85 ? Math.floor(rnd() * Math.min(b.length, 300)) : Math.floor(rnd() * b.length);
        b[pos] = Math.floor(rnd() * 256);
      }
      attempt(b);
    }
    expect(errors).toBeGreaterThan(500);
  });

  it('saves modules and maps atomically and loads them back (node helpers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tv-st-'));
    const a = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
    const path = join(dir, 'm.safetensors');
    await saveSafetensors(path, a, { arch: 'test' });
    const { tensors, metadata } = await loadSafetensors(path);
    expect(metadata).toEqual({ arch: 'test' });
    const b = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
    b.loadStateDict(tensors);
    expect(raw((b.at(0) as Conv2d).weight)).toEqual(raw((a.at(0) as Conv2d).weight));
    await saveSafetensors(join(dir, 'x.safetensors'), new Map([['x', tensor([1, 2])]]));
    expect((await loadSafetensors(join(dir, 'x.safetensors'))).tensors.get('x')!.toArray()).toEqual([1, 2]);
  });
});
