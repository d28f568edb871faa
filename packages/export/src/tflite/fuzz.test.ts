// Fuzz test of the TFLite reader: thousands of seeded mutations (bit flips, 32-bit overwrites of offsets and
// counts, truncations, splices) of our own exports must each either import or fail with a typed error
// (FormatError; UnsupportedOpError when a mutation yields a well-formed but unmapped operator), never another
// exception and never a hang.
import { cpu } from '@tinyvision/backend-cpu';
import { quantizeStatic } from '@tinyvision/compress';
import {
  add,
  concat,
  conv2d,
  FormatError,
  flatten,
  fusedConv2d,
  globalAvgPool,
  linear,
  manualSeed,
  maxPool2d,
  optimizeGraph,
  randn,
  registerBackend,
  resize,
  softmax,
  type Tensor,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { importTflite } from './reader.js';
import { exportTflite } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(99);
});

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const w = (shape: number[], name: string): Tensor => {
  const t = randn(shape).mul(0.3);
  t.name = name;
  return t;
};

describe('importTflite fuzzing', () => {
  it('only typed errors on 4000 mutated or truncated models, within 30 s', () => {
    const c = w([4, 3, 3, 3], 'c');
    const dw = w([4, 1, 3, 3], 'dw');
    const fc = w([3, 4], 'fc');
    const net = (x: Tensor) => {
      const h = fusedConv2d(x, c, w([4], 'cb'), { padding: 1, stride: 2, activation: 'relu6' });
      const d = add(conv2d(h, dw, null, { padding: 1, groups: 4 }), h);
      const m = concat([maxPool2d(d, { kernelSize: 2, stride: 2 }), resize(d, { size: [2, 2] })], 1);
      return softmax(linear(flatten(globalAvgPool(m), 1), w([3, 8], 'fc8')), -1);
    };
    const g = optimizeGraph(trace(net, [randn([1, 3, 8, 8])]));
    const qdq = quantizeStatic(g, [[randn([1, 3, 8, 8])]]);
    const bases = [
      exportTflite(g),
      exportTflite(g, { quantization: 'fp16' }),
      exportTflite(g, { quantization: 'dynamic' }),
      exportTflite(qdq),
      exportTflite(trace((x) => linear(x, fc), [randn([2, 4])])),
    ];
    for (const b of bases) expect(() => importTflite(b)).not.toThrow();
    const rand = rng(1234);
    const int = (n: number) => Math.floor(rand() * n);
    const counts = { ok: 0, format: 0, unsupported: 0 };
    const start = Date.now();
    const N = 4000;
    for (let iter = 0; iter < N; iter++) {
      const base = bases[iter % bases.length]!;
      let m = base.slice();
      const kind = int(5);
      if (kind === 0) {
        for (let k = 1 + int(8); k > 0; k--) m[int(m.length)] ^= 1 << int(8);
      } else if (kind === 1) {
        const dv = new DataView(m.buffer);
        const special = [0, 1, -1, 0x7fffffff, -0x80000000, m.length, m.length - 4, 0xffff, 16, int(1 << 30)];
        for (let k = 1 + int(3); k > 0; k--) {
          const at = int(Math.floor((m.length - 4) / 4)) * 4;
          dv.setInt32(at, special[int(special.length)]!, true);
        }
      } else if (kind === 2) {
        m = m.slice(0, int(m.length));
      } else if (kind === 3) {
        const at = int(m.length);
        const len = 1 + int(64);
        m = new Uint8Array([...m.subarray(0, at), ...m.subarray(Math.min(m.length, at + len))]);
      } else {
        // small signed deltas to 16-bit vtable entries and lengths
        const dv = new DataView(m.buffer);
        const at = int(Math.floor((m.length - 2) / 2)) * 2;
        dv.setUint16(at, (dv.getUint16(at, true) + int(64) - 32) & 0xffff, true);
      }
      try {
        importTflite(m);
        counts.ok++;
      } catch (e) {
        if (e instanceof FormatError) counts.format++;
        else if (e instanceof UnsupportedOpError) counts.unsupported++;
        else
          throw new Error(
            `iteration ${iter} (mutation ${kind}): untyped ${(e as Error).name}: ${(e as Error).message}`,
          );
      }
    }
    const ms = Date.now() - start;
    console.log('fuzz', counts, `${ms} ms`);
    expect(counts.ok + counts.format + counts.unsupported).toBe(N);
    expect(counts.format).toBeGreaterThan(N / 4);
    expect(ms).toBeLessThan(30_000);
  }, 60_000);
});
