import type { Activation, FusedConv2DAttrs } from '@tinyvision/tensor';
import { kernelNames as K } from '@tinyvision/tensor';
import { describe, expect, it, vi } from 'vitest';
import { WasmBackend } from './backend.js';
import { WasmMemoryError } from './errors.js';
import { wasmKernels } from './kernels/index.js';
import { simdSupported } from './module.js';
import { randF32, rng, runCpu, runWasm, worstRatio } from './test-util.js';

const builds = [new WasmBackend(wasmKernels, { simd: true }), new WasmBackend(wasmKernels, { simd: false })];

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  groups: number;
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
}

const CONVS: Record<string, ConvCase> = {
  'pointwise 1x1': {
    x: [2, 13, 7, 9],
    w: [19, 13, 1, 1],
    groups: 1,
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
  },
  'stem 3x3 s2 p1': {
    x: [1, 3, 17, 15],
    w: [16, 3, 3, 3],
    groups: 1,
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
  '5x5 asym pads dil2': {
    x: [1, 5, 12, 11],
    w: [7, 5, 5, 5],
    groups: 1,
    strides: [1, 2],
    pads: [2, 0, 3, 1],
    dilations: [2, 1],
  },
  'grouped 3x3': {
    x: [1, 8, 9, 9],
    w: [12, 2, 3, 3],
    groups: 4,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
  'depthwise 3x3 s1': {
    x: [2, 11, 14, 13],
    w: [11, 1, 3, 3],
    groups: 11,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
  'depthwise 3x3 s2': {
    x: [1, 9, 15, 17],
    w: [9, 1, 3, 3],
    groups: 9,
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  },
  'depthwise 5x5 s2 mult2': {
    x: [1, 4, 16, 16],
    w: [8, 1, 5, 5],
    groups: 4,
    strides: [2, 2],
    pads: [2, 2, 2, 2],
    dilations: [1, 1],
  },
  'depthwise 3x3 s3 dil2 crop': {
    x: [1, 3, 20, 19],
    w: [3, 1, 3, 3],
    groups: 3,
    strides: [3, 3],
    pads: [-1, 2, 0, 1],
    dilations: [2, 2],
  },
};
const ACTS: Activation[] = ['none', 'relu', 'relu6', 'hardSwish', 'hardSigmoid', 'sigmoid', 'silu', 'tanh'];

describe.each(builds.map((b) => [b.simd ? 'simd' : 'scalar', b] as const))(
  'wasm kernels (%s build)',
  (_, b) => {
    it('loads the requested build', () => {
      expect(b.info().simd).toBe(b.simd);
      expect(b.k.simd()).toBe(b.simd ? 1 : 0);
    });

    for (const [name, c] of Object.entries(CONVS)) {
      it(`FusedConv2D ${name} with every activation matches the CPU reference`, () => {
        const r = rng(name.length * 7919);
        const x = randF32(r, c.x);
        const w = randF32(r, c.w);
        const bias = randF32(r, [c.w[0]]);
        for (const activation of ACTS) {
          const attrs: FusedConv2DAttrs = { ...c, activation };
          const [got] = runWasm(b, K.FusedConv2D, [x, w, bias], attrs as never);
          const [want] = runCpu(K.FusedConv2D, [x, w, bias], attrs as never);
          expect(got!.shape).toEqual(want!.shape);
          expect(worstRatio(got!.values, want!.values), `${name} ${activation}`).toBeLessThanOrEqual(1);
        }
      });
    }

    it('MatMul over edge sizes and transposes matches the CPU reference', () => {
      const r = rng(3);
      for (const [m, k, n] of [
        [1, 1, 1],
        [5, 3, 7],
        [6, 8, 8],
        [13, 33, 17],
        [7, 300, 9],
      ] as const) {
        for (const [tA, tB] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const a = randF32(r, tA ? [2, k, m] : [2, m, k]);
          const bb = randF32(r, tB ? [n, k] : [k, n]);
          const attrs = { transposeA: tA, transposeB: tB };
          const [got] = runWasm(b, K.MatMul, [a, bb], attrs);
          const [want] = runCpu(K.MatMul, [a, bb], attrs);
          expect(got!.shape).toEqual(want!.shape);
          expect(worstRatio(got!.values, want!.values), `${m}x${k}x${n} ${tA} ${tB}`).toBeLessThanOrEqual(1);
        }
      }
    });

    it('Linear (GEMV and GEMM paths) matches the CPU reference', () => {
      const r = rng(4);
      for (const rows of [1, 3, 9]) {
        const x = randF32(r, [rows, 37]);
        const w = randF32(r, [21, 37]);
        const bias = randF32(r, [21]);
        const [got] = runWasm(b, K.Linear, [x, w, bias], {});
        const [want] = runCpu(K.Linear, [x, w, bias], {});
        expect(worstRatio(got!.values, want!.values), `rows ${rows}`).toBeLessThanOrEqual(1);
      }
    });

    it('broadcasting binary ops match the CPU reference', () => {
      const r = rng(5);
      const shapes: [number[], number[]][] = [
        [
          [2, 8, 5, 5],
          [2, 8, 1, 1],
        ],
        [
          [3, 1, 7],
          [1, 4, 1],
        ],
        [[9], []],
        [[], [6, 2]],
        [
          [2, 3, 4, 5, 6],
          [3, 1, 5, 1],
        ],
      ];
      for (const [sa, sb] of shapes) {
        for (const op of [K.Add, K.Sub, K.Mul, K.Div, K.Maximum, K.Minimum]) {
          const x = randF32(r, sa);
          const y = randF32(r, sb);
          const [got] = runWasm(b, op, [x, y], {});
          const [want] = runCpu(op, [x, y], {});
          expect(got!.shape).toEqual(want!.shape);
          expect(worstRatio(got!.values, want!.values), `${op} ${sa} ${sb}`).toBeLessThanOrEqual(1);
        }
      }
    });
  },
);

describe('wasm backend', () => {
  it('loads the SIMD build when the engine validates SIMD', () => {
    expect(simdSupported()).toBe(true);
    expect(new WasmBackend(wasmKernels).simd).toBe(true);
    expect(new WasmBackend(wasmKernels).info()).toMatchObject({ threads: 1, simd: true, build: 'simd128' });
  });

  it('falls back to the scalar build when the engine rejects the SIMD probe', () => {
    const spy = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    try {
      expect(simdSupported()).toBe(false);
      const b = new WasmBackend(wasmKernels);
      expect(b.info()).toMatchObject({ simd: false, build: 'scalar' });
      expect(b.k.simd()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('throws WasmMemoryError naming the size when memory cannot grow', () => {
    const b = new WasmBackend(wasmKernels, { maxMemoryBytes: 4 * 1024 * 1024 });
    const ask = 8 * 1024 * 1024;
    let err: unknown;
    try {
      b.alloc(ask / 4, 'float32');
    } catch (e) {
      err = e;
    }
    expect(WasmMemoryError.isInstance(err)).toBe(true);
    expect((err as WasmMemoryError).requestedBytes).toBe(ask);
    expect((err as Error).message).toContain(String(ask));
  });

  it('reuses freed blocks and releases packed weights with their handle', () => {
    const b = new WasmBackend(wasmKernels);
    const before = b.heap.inUse;
    const h = b.write(new Float32Array(1000), 'float32');
    expect(b.heap.inUse).toBeGreaterThan(before);
    b.free(h);
    b.free(h); // second free is a no-op
    expect(b.heap.inUse).toBe(before);
    const h2 = b.write(new Float32Array(1000), 'float32');
    expect(h2.ptr).toBe(h.ptr);
  });

  it('passes its self-check', async () => {
    const r = await new WasmBackend(wasmKernels).selfCheck();
    expect(r.ok, r.details.join()).toBe(true);
  });
});
