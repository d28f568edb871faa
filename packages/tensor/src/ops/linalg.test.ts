import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Attrs } from '../backend/backend-spec-v1.js';
import { registerBackend, useBackend } from '../backend/registry.js';
import { randn, tensor } from '../creation.js';
import { setTraceHook } from '../engine.js';
import { DTypeError, ShapeError } from '../errors/index.js';
import type { Tensor } from '../tensor.js';
import { cast } from './elementwise.js';
import { linear, matmul } from './linalg.js';
import { transpose } from './movement.js';
import { sum } from './reduce.js';

beforeAll(async () => {
  registerBackend(cpu());
  await useBackend('cpu');
});

/** Top-level ops recorded while `fn` runs. */
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

describe('matmul', () => {
  it('rejects mismatched inner dims, scalars, unbroadcastable batches and bad dtypes with named errors', () => {
    expect(() => matmul(randn([2, 3]), randn([4, 5]))).toThrow(ShapeError);
    expect(() => matmul(randn([2, 3]), randn([4, 5]))).toThrow(
      /matmul: inner dims differ: 'a' \[2,3\] has K=3/,
    );
    expect(() => matmul(randn([]), randn([3]))).toThrow(/rank >= 1/);
    expect(() => matmul(randn([2, 2, 3]), randn([3, 3, 4]))).toThrow(ShapeError);
    expect(() => matmul(tensor([[1]], [1, 1], 'int32'), tensor([[1]], [1, 1], 'int32'))).toThrow(DTypeError);
    expect(() => matmul(cast(randn([2, 3]), 'float16'), randn([3, 2]))).toThrow(
      /'a' is float16 but 'b' is float32/,
    );
  });

  it('reads a transposed view without a copy by flipping the transpose flag', () => {
    const a = randn([5, 3]);
    const b = randn([5, 4]);
    let y: Tensor | undefined;
    const ops = traced(() => {
      y = matmul(transpose(a, [1, 0]), b);
    });
    const mm = ops.filter((o) => o.kernel === 'MatMul');
    expect(mm).toHaveLength(1);
    expect(mm[0]!.attrs.transposeA).toBe(true);
    expect(ops.some((o) => o.kernel === 'StridedCopy')).toBe(false);
    close(y!, matmul(a, b, { transposeA: true }));
  });

  it('computes float32 × float16 weights in float32 and returns float32 gradients cast to each input dtype', () => {
    const x = randn([3, 8]).requiresGrad_();
    const w16 = cast(randn([8, 5]), 'float16').requiresGrad_();
    const y = matmul(x, w16);
    expect(y.dtype).toBe('float32');
    close(y, matmul(x, cast(w16, 'float32')));
    sum(y).backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(w16.grad!.dtype).toBe('float16');
    const w32 = cast(w16, 'float32').detach().requiresGrad_();
    const x32 = x.detach().requiresGrad_();
    sum(matmul(x32, w32)).backward();
    close(x.grad!, x32.grad!);
    close(cast(w16.grad!, 'float32'), w32.grad!, 2e-3);
  });
});

describe('linear', () => {
  it('validates shapes with messages naming the argument', () => {
    expect(() => linear(randn([2, 3]), randn([4, 3, 1]))).toThrow(
      /linear: 'w' shape \[4,3,1\] must have rank 2/,
    );
    expect(() => linear(randn([2, 3]), randn([4, 5]))).toThrow(/must end with in=5/);
    expect(() => linear(randn([2, 3]), randn([4, 3]), randn([3]))).toThrow(
      /'bias' shape \[3\] must be \[4\]/,
    );
  });

  it('runs as one fused node without gradients and as matmul + add with them, with equal results', () => {
    const x = randn([6, 7]);
    const w = randn([4, 7]);
    const b = randn([4]);
    let fused: Tensor | undefined;
    const ops = traced(() => {
      fused = linear(x, w, b);
    });
    expect(ops.map((o) => o.kernel)).toEqual(['Linear']);
    const xg = x.detach().requiresGrad_();
    close(fused!, linear(xg, w, b));
  });

  it('accepts float16 weights and bias with float32 input (float32 output)', () => {
    const x = randn([2, 6]);
    const w = randn([3, 6]);
    const b = randn([3]);
    const y = linear(x, cast(w, 'float16'), cast(b, 'float16'));
    expect(y.dtype).toBe('float32');
    close(y, linear(x, cast(cast(w, 'float16'), 'float32'), cast(cast(b, 'float16'), 'float32')));
  });
});
