import { cpu } from '@tinyvision/backend-cpu';
import type { Module } from '@tinyvision/models';
import {
  Adam,
  argMax,
  crossEntropy,
  InvalidArgumentError,
  noGrad,
  registerBackend,
  slice,
  type Tensor,
  tidy,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FashionFixture, fashionFixture, graphAccuracy, smallNet } from '../__fixtures__/fashion-net.js';
import { lowerQdq } from '../quantize/lower.js';
import { quantizeWeights } from '../quantize/weight-only.js';
import { prepareQat } from './qat.js';

let f: FashionFixture;
beforeAll(async () => {
  registerBackend(cpu());
  f = await fashionFixture();
}, 60_000);

function copyOfTrained(): Module {
  const m = smallNet(1);
  m.loadStateDict(f.model.stateDict());
  m.eval();
  return m;
}

function accuracy(m: Module, x: Tensor, y: Tensor): number {
  m.eval();
  return noGrad(() =>
    tidy(() => {
      const p = argMax(m.call(x), { axis: 1 }).dataSync();
      const l = y.dataSync();
      let c = 0;
      for (let i = 0; i < l.length; i++) if (p[i] === l[i]) c++;
      return c / l.length;
    }),
  );
}

function train(m: Module, steps: number, offset: number): void {
  const opt = new Adam(m.parameters(), { lr: 0.002 });
  m.train();
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const start = (offset + s * 32) % 2900;
      const x = slice(f.trainX, [start, 0, 0, 0], [start + 32, 1, 28, 28]);
      const y = slice(f.trainY, [start], [start + 32]);
      crossEntropy(m.call(x), y).backward();
      opt.step();
      opt.zeroGrad();
    });
  }
  m.eval();
}

describe('quantization-aware training', () => {
  it('folds Conv→BN pairs without changing the float function', () => {
    const m = copyOfTrained();
    const x = slice(f.testX, [0, 0, 0, 0], [16, 1, 28, 28]);
    const before = noGrad(() => m.call(x).toFloat32());
    const qat = prepareQat(m);
    expect(qat.foldedBatchNorms).toBe(3);
    expect(qat.layers).toBe(4);
    qat.remove();
    const after = noGrad(() => m.call(x).toFloat32());
    before.forEach((v, i) => expect(after[i]).toBeCloseTo(v, 4));
  });

  it('4-bit weight QAT recovers accuracy lost by 4-bit post-training quantization, then converts to QDQ', () => {
    const fp32 = graphAccuracy(f.graph, f.testX, f.testY);
    const ptq4 = graphAccuracy(quantizeWeights(f.graph, { bits: 4 }).graph, f.testX, f.testY);
    const m = copyOfTrained();
    const qat = prepareQat(m, { weightBits: 4 });
    train(m, 50, 1000);
    qat.freezeObservers();
    train(m, 10, 2000);
    expect(qat.frozen).toBe(true);
    const qat4 = accuracy(m, f.testX, f.testY); // the fake-quantized model: 4-bit weights, int8 inputs
    expect(qat4, `fp32 ${fp32}, PTQ 4-bit ${ptq4}, QAT 4-bit ${qat4}`).toBeGreaterThan(ptq4 + 0.01);

    const cal = [0, 1, 2].map((i) => slice(f.trainX, [i * 32, 0, 0, 0], [(i + 1) * 32, 1, 28, 28]));
    const qdq = qat.convert(slice(f.trainX, [0, 0, 0, 0], [2, 1, 28, 28]), cal);
    expect(qdq.metadata['tinyvision.quantization']).toBe('int8-qdq');
    expect(qdq.nodes.some((n) => n.op === 'BatchNorm')).toBe(false);
    const convs = qdq.nodes.filter((n) => n.op === 'FusedConv2D');
    expect(convs).toHaveLength(3);
    const int8 = graphAccuracy(lowerQdq(qdq), f.testX, f.testY);
    expect(int8).toBeGreaterThan(qat4 - 0.03);
  }, 120_000);

  it('rejects bad options', () => {
    expect(() => prepareQat(smallNet(2), { weightBits: 2 as never })).toThrow(InvalidArgumentError);
    expect(() => prepareQat(smallNet(2), { observer: 'kl' as never })).toThrow(InvalidArgumentError);
  });
});
