import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Attrs } from '../backend/backend-spec-v1.js';
import { registerBackend, useBackend } from '../backend/registry.js';
import { randn, tensor } from '../creation.js';
import { setTraceHook } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import type { Tensor } from '../tensor.js';
import { relu6 } from './activation.js';
import { conv2d, convTranspose2d, fusedConv2d } from './conv.js';
import { cast } from './elementwise.js';
import { sum } from './reduce.js';

beforeAll(async () => {
  registerBackend(cpu());
  await useBackend('cpu');
});

function traced(fn: () => unknown): { kernel: string; attrs: Attrs }[] {
  const seen: { kernel: string; attrs: Attrs }[] = [];
  const prev = setTraceHook({ record: (kernel, _i, _o, attrs) => seen.push({ kernel, attrs }) });
  try {
    fn();
  } finally {
    setTraceHook(prev);
  }
  return seen;
}

function close(a: Tensor, b: Tensor, tol = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.toFloat32();
  const y = b.toFloat32();
  for (let i = 0; i < x.length; i++)
    expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(tol * (1 + Math.abs(y[i]!)));
}

describe('conv2d', () => {
  it("resolves padding 'same' with TensorFlow's rule (extra pixel bottom/right) to explicit pads", () => {
    // H=8, stride 2: out 4, total = 3·2 + 3 − 8 = 1 → [0, 1]; W=7: out 4, total 2 → [1, 1].
    let y: Tensor | undefined;
    const ops = traced(() => {
      y = conv2d(randn([1, 2, 8, 7]), randn([3, 2, 3, 3]), null, { stride: 2, padding: 'same' });
    });
    expect(ops[0]!.attrs.pads).toEqual([0, 1, 1, 1]);
    expect(y!.shape).toEqual([1, 3, 4, 4]);
    const big = traced(() => conv2d(randn([1, 1, 5, 5]), randn([1, 1, 4, 4]), null, { padding: 'same' }));
    expect(big[0]!.attrs.pads).toEqual([1, 1, 2, 2]);
  });

  it('accepts number, [pH, pW], [top, left, bottom, right] and valid padding', () => {
    const x = randn([1, 1, 6, 6]);
    const w = randn([1, 1, 3, 3]);
    const pads = (padding: Parameters<typeof conv2d>[3]) =>
      traced(() => conv2d(x, w, null, padding))[0]!.attrs.pads;
    expect(pads({ padding: 2 })).toEqual([2, 2, 2, 2]);
    expect(pads({ padding: [1, 2] })).toEqual([1, 2, 1, 2]);
    expect(pads({ padding: [0, 1, 2, 3] })).toEqual([0, 1, 2, 3]);
    expect(pads({ padding: 'valid' })).toEqual([0, 0, 0, 0]);
  });

  it('rejects bad arguments with typed errors naming the op and argument', () => {
    const x = randn([1, 4, 5, 5]);
    expect(() => conv2d(randn([4, 5, 5]), randn([2, 4, 3, 3]))).toThrow(
      /conv2d: 'x' shape \[4,5,5\] must have rank 4/,
    );
    expect(() => conv2d(x, randn([2, 4, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, randn([2, 3, 3, 3]))).toThrow(/needs \[O, C\/groups, kH, kW\]/);
    expect(() => conv2d(x, randn([3, 2, 3, 3]), null, { groups: 2 })).toThrow(ShapeError);
    expect(() => conv2d(x, randn([2, 4, 3, 3]), randn([3]))).toThrow(/'bias' shape \[3\] must be \[2\]/);
    expect(() => conv2d(x, randn([2, 4, 7, 7]))).toThrow(/does not fit the padded input/);
    expect(() => conv2d(x, randn([2, 4, 3, 3]), null, { stride: 0 })).toThrow(InvalidArgumentError);
    expect(() => conv2d(x, randn([2, 4, 3, 3]), null, { padding: -1 })).toThrow(InvalidArgumentError);
    expect(() => conv2d(x, randn([2, 4, 3, 3]), null, { groups: 0 })).toThrow(InvalidArgumentError);
    expect(() => conv2d(tensor(new Int32Array(100), [1, 4, 5, 5], 'int32'), randn([2, 4, 3, 3]))).toThrow(
      DTypeError,
    );
    expect(() => conv2d(cast(x, 'float16'), randn([2, 4, 3, 3]))).toThrow(
      /'x' is float16 but 'w' is float32/,
    );
  });

  it('computes float32 input with float16 weights in float32; the weight gradient comes back as float16', () => {
    const x = randn([1, 3, 6, 6]).requiresGrad_();
    const w16 = cast(randn([4, 3, 3, 3]), 'float16').requiresGrad_();
    const b16 = cast(randn([4]), 'float16').requiresGrad_();
    const y = conv2d(x, w16, b16, { padding: 1 });
    expect(y.dtype).toBe('float32');
    close(y, conv2d(x.detach(), cast(w16, 'float32'), cast(b16, 'float32'), { padding: 1 }));
    sum(y).backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(w16.grad!.dtype).toBe('float16');
    expect(b16.grad!.dtype).toBe('float16');
  });
});

describe('fusedConv2d', () => {
  it('is one FusedConv2D node equal to conv2d + activation, and differentiable through its parts', () => {
    const x = randn([2, 3, 7, 7]);
    const w = randn([4, 3, 3, 3]);
    const b = randn([4]);
    let y: Tensor | undefined;
    const ops = traced(() => {
      y = fusedConv2d(x, w, b, { stride: 2, padding: 'same', activation: 'relu6' });
    });
    expect(ops.map((o) => o.kernel)).toEqual(['FusedConv2D']);
    close(y!, relu6(conv2d(x, w, b, { stride: 2, padding: 'same' })));
    const wg = w.detach().requiresGrad_();
    sum(fusedConv2d(x, wg, b, { stride: 2, padding: 'same', activation: 'relu6' })).backward();
    expect(wg.grad!.shape).toEqual([4, 3, 3, 3]);
  });

  it('rejects an unknown activation', () => {
    const bad = { activation: 'gelu' } as unknown as Parameters<typeof fusedConv2d>[3];
    expect(() => fusedConv2d(randn([1, 1, 3, 3]), randn([1, 1, 1, 1]), null, bad)).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('convTranspose2d', () => {
  it('checks outputPadding < max(stride, dilation) and computes the torch output size', () => {
    const x = randn([1, 4, 5, 5]);
    const w = randn([4, 2, 3, 3]);
    expect(() => convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding/);
    expect(convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }).shape).toEqual([
      1, 2, 10, 10,
    ]);
    expect(convTranspose2d(x, randn([4, 1, 3, 3]), null, { groups: 2 }).shape).toEqual([1, 2, 7, 7]);
    expect(() => convTranspose2d(x, randn([3, 2, 3, 3]))).toThrow(ShapeError);
  });
});
