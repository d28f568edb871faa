import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FormatError,
  maxPool2d,
  pad,
  Rng,
  randn,
  registerBackend,
  relu,
  TinyVisionError,
  tensor,
} from '../index.js';
import { runGraph } from './execute.js';
import { sha256Hex } from './sha256.js';
import { trace } from './trace.js';
import { decodeTvm } from './tvm-decode.js';
import { encodeTvm } from './tvm-encode.js';
import { type Graph, makeGraph } from './types.js';

beforeAll(() => registerBackend(cpu()));

const enc = new TextEncoder();

/** A small graph with f32, f16, int8 (quantized) and int32 initializers and non-finite attrs. */
function sample(): Graph {
  return makeGraph({
    name: 'sample',
    inputs: ['x'],
    outputs: ['y', 'z'],
    nodes: [
      { name: 'a', op: 'Add', inputs: ['x', 'b'], outputs: ['h'], attrs: {} },
      {
        name: 'c',
        op: 'Clip',
        inputs: ['h'],
        outputs: ['y'],
        attrs: { min: Number.NEGATIVE_INFINITY, max: 1 },
      },
      {
        name: 'p',
        op: 'Pad',
        inputs: ['h'],
        outputs: ['z'],
        attrs: { pads: [0, 0, 1, 1], mode: 'constant', value: Number.NaN },
      },
    ],
    values: [{ name: 'x', shape: ['N', 3], dtype: 'float32' }],
    initializers: [
      { name: 'b', dtype: 'float32', shape: [3], data: new Float32Array([1, -2, 0.5]) },
      { name: 'h16', dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      {
        name: 'q',
        dtype: 'int8',
        shape: [2, 2],
        data: new Int8Array([-128, 0, 5, 127]),
        quant: { scale: [0.1, 0.2], zeroPoint: [0, 0], axis: 0 },
      },
      { name: 'i', dtype: 'int32', shape: [], data: new Int32Array([-7]) },
    ],
    metadata: { license: 'MIT' },
  });
}

function header(bytes: Uint8Array): { json: Record<string, unknown>; blobStart: number } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return {
    json: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n))),
    blobStart: Math.ceil((12 + n) / 64) * 64,
  };
}

/** Re-encodes a file with a replaced JSON header (lengths and padding recomputed, blob kept). */
function withJson(bytes: Uint8Array, json: unknown): Uint8Array {
  const { blobStart } = header(bytes);
  const text = enc.encode(JSON.stringify(json));
  const start = Math.ceil((12 + text.length) / 64) * 64;
  const out = new Uint8Array(start + bytes.length - blobStart);
  out.set(bytes.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, 12);
  out.set(bytes.subarray(blobStart), start);
  return out;
}

function expectFormatError(bytes: Uint8Array, pattern: RegExp): void {
  expect(() => decodeTvm(bytes)).toThrow(FormatError);
  expect(() => decodeTvm(bytes)).toThrow(pattern);
}

describe('.tvm format', () => {
  it('lays out magic, version, JSON length, padded JSON and a 64-byte aligned blob', () => {
    const bytes = encodeTvm(sample());
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('TVM1');
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(1);
    const { json, blobStart } = header(bytes);
    expect(blobStart % 64).toBe(0);
    const inits = json.initializers as { name: string; offset: number; length: number }[];
    expect(inits.map((i) => i.offset % 64)).toEqual([0, 0, 0, 0]);
    const q = inits.find((i) => i.name === 'q')!;
    expect(
      Array.from(new Int8Array(bytes.slice(blobStart + q.offset, blobStart + q.offset + 4).buffer)),
    ).toEqual([-128, 0, 5, 127]);
    expect(bytes.length).toBe(blobStart + (json.blobLength as number));
  });

  it('round-trips every field exactly', () => {
    const g = sample();
    const back = decodeTvm(encodeTvm(g, { checksums: true }));
    expect(back.name).toBe('sample');
    expect(back.metadata).toEqual({ license: 'MIT' });
    expect(back.inputs).toEqual(['x']);
    expect(back.outputs).toEqual(['y', 'z']);
    expect(back.nodes[1]!.attrs).toEqual({ min: Number.NEGATIVE_INFINITY, max: 1 });
    expect(Number.isNaN(back.nodes[2]!.attrs.value)).toBe(true);
    for (const [name, init] of g.initializers) expect(back.initializers.get(name)).toEqual(init);
    expect(back.values.get('z')).toEqual({ name: 'z', shape: ['N', 5], dtype: 'float32' });
    const x = randn([2, 3]);
    const [y1, z1] = runGraph(g, [x]).outputs;
    const [y2, z2] = runGraph(back, [x]).outputs;
    expect(y2!.dataSync()).toEqual(y1!.dataSync());
    expect(z2!.dataSync()).toEqual(z1!.dataSync());
  });

  it('computes standard SHA-256 digests and verifies them on decode', () => {
    expect(sha256Hex(enc.encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256Hex(enc.encode('a'.repeat(55)))).toBe(
      '9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318',
    );
    expect(sha256Hex(enc.encode('a'.repeat(64)))).toBe(
      'ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb',
    );
    expect(sha256Hex(enc.encode('a'.repeat(1000)))).toBe(
      '41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3',
    );
    const bytes = encodeTvm(sample(), { checksums: true });
    const { blobStart } = header(bytes);
    bytes[blobStart] ^= 1;
    expectFormatError(bytes, /initializers\[0\] \(b\): SHA-256 mismatch/);
    expect(() => decodeTvm(bytes, { verifyChecksums: false })).not.toThrow();
  });

  it('says what is wrong and where', () => {
    const good = encodeTvm(sample());
    const { json } = header(good);
    const bad = (f: (b: Uint8Array) => void) => {
      const b = good.slice();
      f(b);
      return b;
    };
    expectFormatError(good.subarray(0, 7), /shorter than the 12-byte header/);
    expectFormatError(
      bad((b) => b.set(enc.encode('ONNX'))),
      /bad magic "ONNX" at byte 0/,
    );
    expectFormatError(
      bad((b) => new DataView(b.buffer).setUint32(4, 9, true)),
      /format version 9 at byte 4/,
    );
    expectFormatError(
      bad((b) => new DataView(b.buffer).setUint32(8, 1e8, true)),
      /JSON length 100000000 at byte 8/,
    );
    expectFormatError(
      bad((b) => (b[12] = 0x7b + 1)),
      /JSON header .* does not parse/,
    );
    expectFormatError(good.subarray(0, good.length - 64), /header declares/);
    type Mut = {
      format: string;
      nodes: { op: string; inputs: unknown[]; attrs: Record<string, unknown> }[];
      initializers: Record<string, unknown>[];
    };
    const mutate = (f: (j: Mut) => void) => {
      const j = structuredClone(json) as unknown as Mut;
      f(j);
      return withJson(good, j);
    };
    expectFormatError(
      mutate((j) => (j.nodes[1].inputs[0] = 7)),
      /\$\.nodes\[1\]\.inputs\[0\] must be a non-empty string/,
    );
    expectFormatError(
      mutate((j) => (j.initializers[2].dtype = 'float64')),
      /\$\.initializers\[2\]\.dtype must be one of/,
    );
    expectFormatError(
      mutate((j) => (j.initializers[0].shape = [4])),
      /initializers\[0\] \(b\): float32\[4\] needs 16 bytes but length is 12/,
    );
    expectFormatError(
      mutate((j) => (j.initializers[1].offset = 32)),
      /offset 32 \(h16\) is not 64-byte aligned/,
    );
    expectFormatError(
      mutate((j) => (j.initializers[3].offset = 4096)),
      /lie past its end/,
    );
    expectFormatError(
      mutate((j) => (j.nodes[0].inputs[1] = 'ghost')),
      /invalid graph: .*'a' reads undefined value 'ghost'/,
    );
    expectFormatError(
      mutate((j) => (j.nodes[1].attrs.min = { $f: 'big' })),
      /\$\.nodes\[1\]\.attrs\.min is a malformed non-finite/,
    );
    expectFormatError(
      mutate((j) => (j.nodes[0].op = 'Nope')),
      /unknown op 'Nope'/,
    );
    expectFormatError(
      mutate((j) => (j.format = 'other')),
      /\$\.format must be "tinyvision\.tvm"/,
    );
  });

  it('throws only TinyVisionErrors on truncated, bit-flipped or structurally fuzzed input', () => {
    const x = randn([1, 3, 6, 6]);
    const g = trace((t) => relu(maxPool2d(pad(t, [0, 0, 0, 0, 1, 1, 1, 1]), { kernelSize: 2 })), [x]);
    const good = encodeTvm(g, { checksums: true });
    const outcomes = { ok: 0, rejected: 0 };
    const attempt = (bytes: Uint8Array) => {
      try {
        decodeTvm(bytes);
        outcomes.ok++;
      } catch (e) {
        if (!TinyVisionError.isInstance(e)) throw new Error(`non-tinyvision error: ${String(e)}`);
        outcomes.rejected++;
      }
    };
    for (let off = 0; off < good.length; off += 97) attempt(good.subarray(0, off));
    const rng = new Rng(7);
    const rand = (n: number) => Math.floor(rng.next() * n);
    const jsonEnd = 12 + new DataView(good.buffer).getUint32(8, true);
    for (let i = 0; i < 400; i++) {
      const b = good.slice();
      const flips = 1 + rand(4);
      for (let k = 0; k < flips; k++) b[i % 2 ? rand(jsonEnd) : rand(b.length)] ^= 1 + rand(255);
      attempt(b);
    }
    const { json } = header(good);
    const junk = [null, -1, 0, 1.5, 1e300, 'N', '', [], [1, -2], {}, { $f: 'NaN' }, true, 'Relu', [['x']]];
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]) => {
      paths.push(p);
      if (v && typeof v === 'object')
        for (const [k, c] of Object.entries(v)) walk(c, [...p, Array.isArray(v) ? Number(k) : k]);
    };
    walk(json, []);
    for (let i = 0; i < 600; i++) {
      const j = structuredClone(json);
      const p = paths[1 + rand(paths.length - 1)]!;
      type Bag = Record<string | number, unknown>;
      let parent = j as Bag;
      for (const k of p.slice(0, -1)) parent = parent[k] as Bag;
      parent[p[p.length - 1]!] = structuredClone(junk[rand(junk.length)]);
      attempt(withJson(good, j));
    }
    expect(outcomes.rejected).toBeGreaterThan(800);
    expect(outcomes.ok).toBeGreaterThan(0);
  });

  it('decodes a scalar-only graph and rejects an invalid graph before writing', () => {
    const g = trace((t) => relu(t), [tensor(3)]);
    expect(decodeTvm(encodeTvm(g)).values.get(g.outputs[0]!)!.shape).toEqual([]);
    const bad = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [],
      values: [{ name: 'x', shape: [1], dtype: 'float32' }],
    });
    expect(() => encodeTvm(bad)).toThrow(/output 'y' is not produced/);
  });
});
