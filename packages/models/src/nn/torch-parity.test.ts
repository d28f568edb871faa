// The torch oracle (scripts/fixtures/nn_safetensors.py): a Conv/BN/act/pool/Linear stack with warmed BN stats.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { fromStorage, mul, parseNpy, registerBackend, SGD, sum, type Tensor } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Hardswish,
  Linear,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sequential,
} from './index.js';
import { decodeSafetensors } from './safetensors.js';

const FIX = join(import.meta.dirname, '__fixtures__');
const bytes = (f: string) => new Uint8Array(readFileSync(join(FIX, f)));
const npy = (f: string) => {
  const a = parseNpy(bytes(f), f);
  return fromStorage(a.data, a.shape, a.dtype);
};

function build(): Sequential {
  return new Sequential(
    new Conv2d(3, 8, 3, { padding: 1 }),
    new BatchNorm2d(8),
    new ReLU(),
    new Conv2d(8, 8, 3, { stride: 2, padding: 1, groups: 8, bias: false }),
    new BatchNorm2d(8),
    new Hardswish(),
    new Conv2d(8, 16, 1, { bias: false }),
    new BatchNorm2d(16),
    new ReLU6(),
    new MaxPool2d(2),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Dropout(0.2),
    new Linear(16, 10),
  );
}

function expectClose(actual: Tensor, expected: Tensor, rtol: number, atol: number, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  const a = actual.toFloat32();
  const e = expected.toFloat32();
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - e[i]!) - rtol * Math.abs(e[i]!);
    worst = Math.max(worst, err);
  }
  expect(worst, `${what}: max excess error`).toBeLessThanOrEqual(atol);
}

beforeAll(() => registerBackend(cpu()));

describe('torch parity of a Conv/BN/ReLU/.../Linear stack', () => {
  it('has torch state-dict keys in torch order and the same parameter count', () => {
    const model = build();
    const { tensors, metadata } = decodeSafetensors(bytes('stack.safetensors'));
    expect([...model.stateDict().keys()]).toEqual([...tensors.keys()]);
    expect(metadata.format).toBe('pt');
    // torch: sum(p.numel() for p in model.parameters()), computed from the fixture's parameter tensors
    const torchCount = [...tensors]
      .filter(([k]) => !/running_|num_batches/.test(k))
      .reduce((a, [, t]) => a + t.size, 0);
    expect(model.numParameters()).toBe(torchCount);
  });

  it('matches torch eval outputs after loadStateDict', () => {
    const model = build();
    const { tensors } = decodeSafetensors(bytes('stack.safetensors'));
    expect(tensors.get('1.num_batches_tracked')!.dtype).toBe('int32'); // saved as I64 by torch
    const res = model.loadStateDict(tensors);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect((model.at(1) as BatchNorm2d).numBatchesTracked!.item()).toBe(3);
    const y = model.eval().call(npy('input.npy'));
    expectClose(y, npy('output.npy'), 1e-5, 1e-6, 'eval output');
  });

  it('matches torch gradients and running-stat updates of one train-mode step', () => {
    const model = build();
    model.loadStateDict(decodeSafetensors(bytes('stack.safetensors')).tensors);
    const ref = decodeSafetensors(bytes('grads.safetensors')).tensors;
    model.train();
    model.at(12).eval(); // dropout off, as in the fixture
    const out = model.call(npy('input.npy'));
    sum(mul(out, ref.get('g')!)).backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      // atol 1e-5: the bias of a conv followed by train-mode BN has a true gradient of 0 (BN removes it),
      // so both sides hold float32 rounding noise of ~1e-6 there
      expectClose(p.grad!, ref.get(`grad.${name}`)!, 1e-4, 1e-5, `grad of ${name}`);
    }
    for (const [name, b] of model.namedBuffers()) {
      expectClose(b, ref.get(`after.${name}`)!, 1e-5, 1e-6, `buffer ${name} after the step`);
    }
    expect((model.at(4) as BatchNorm2d).numBatchesTracked!.dtype).toBe('int32');
  });

  it('keeps optimizer-held parameters working across loadStateDict', () => {
    const model = build();
    const params = model.parameters();
    const opt = new SGD(params, { lr: 0.1 });
    model.loadStateDict(decodeSafetensors(bytes('stack.safetensors')).tensors);
    // same tensor objects, now holding the loaded values
    expect(model.parameters()).toEqual(params);
    const w = (model.at(0) as Conv2d).weight;
    const before = w.toFloat32();
    model.train();
    sum(model.call(npy('input.npy'))).backward();
    opt.step();
    const after = w.toFloat32();
    const g = w.grad!.toFloat32();
    for (let i = 0; i < before.length; i += 17) expect(after[i]).toBeCloseTo(before[i]! - 0.1 * g[i]!, 5);
  });
});
