import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { Conv2d, Linear, Sequential, traceModule } from '@tinyvision/models';
import {
  Adam,
  crossEntropy,
  InvalidArgumentError,
  optimizeGraph,
  Rng,
  registerBackend,
  slice,
  tidy,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { fashionFixture, graphAccuracy, smallNet } from '../__fixtures__/fashion-net.js';
import { applyMasks, magnitudePrune, nmPrune, polynomialSparsity, sparsityReport } from './unstructured.js';

beforeAll(() => registerBackend(cpu()));

const ORACLE = fileURLToPath(new URL('./__fixtures__/torch_prune.py', import.meta.url));

function net(seed: number) {
  const rng = new Rng(seed);
  return new Sequential(
    new Conv2d(4, 8, 3, { rng }),
    new Conv2d(8, 6, 1, { rng }),
    new Linear(12, 5, { rng }),
  );
}

describe('magnitude pruning against torch.nn.utils.prune', () => {
  it('layer-wise (l1_unstructured) and global (global_unstructured) masks are identical', () => {
    const amount = 0.6;
    const a = net(1);
    const weights = Object.fromEntries(
      a
        .namedParameters()
        .filter(([n, p]) => n.endsWith('weight') && p.rank >= 2)
        .map(([n, p]) => [n, { shape: p.shape, data: Array.from(p.toFloat32()) }]),
    );
    const torch = JSON.parse(
      execFileSync('/usr/bin/python3', [ORACLE], {
        input: JSON.stringify({ weights, amount }),
        encoding: 'utf8',
      }),
    ) as { layer: Record<string, number[]>; global: Record<string, number[]> };
    const layer = magnitudePrune(a, { amount });
    const glob = magnitudePrune(net(1), { amount, scope: 'global' });
    expect([...layer.keys()]).toEqual(Object.keys(torch.layer));
    for (const [n, m] of layer) expect(Array.from(m)).toEqual(torch.layer[n]);
    for (const [n, m] of glob) expect(Array.from(m)).toEqual(torch.global[n]);
    // layer-wise: every layer at 60 %; global: layers differ but the total is 60 %
    const rl = sparsityReport(a, layer);
    for (const r of rl.slice(0, -1)) expect(r.sparsity).toBeCloseTo(0.6, 1);
    const n = net(1);
    magnitudePrune(n, { amount, scope: 'global' });
    const rg = sparsityReport(n);
    expect(Math.abs(rg.at(-1)!.sparsity - 0.6)).toBeLessThan(2 / rg.at(-1)!.size);
    expect(new Set(rg.slice(0, -1).map((r) => r.sparsity.toFixed(3))).size).toBeGreaterThan(1);
  });

  it('rejects amounts outside [0, 1)', () => {
    for (const amount of [1, -0.5, Number.NaN]) {
      expect(() => magnitudePrune(net(1), { amount })).toThrow(InvalidArgumentError);
    }
    expect(() => magnitudePrune(net(1), { amount: 0.5, scope: 'tensor' as never })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('N:M sparsity', () => {
  it('2:4 keeps the two largest magnitudes of every 4 input channels; layers with I % 4 ≠ 0 are skipped', () => {
    const m = net(2);
    const before = new Map(m.namedParameters().map(([n, p]) => [n, p.toFloat32()]));
    const masks = nmPrune(m);
    expect([...masks.keys()]).toEqual(['0.weight', '1.weight', '2.weight']);
    const skipped = nmPrune(new Sequential(new Conv2d(3, 4, 3)));
    expect(skipped.size).toBe(0); // 3 input channels
    for (const [name, p] of m.namedParameters().filter(([n]) => masks.has(n))) {
      const [o, i] = p.shape as [number, number];
      const k = p.size / (o * i);
      const v = p.toFloat32();
      const orig = before.get(name)!;
      for (let oc = 0; oc < o; oc++) {
        for (let pos = 0; pos < k; pos++) {
          for (let g = 0; g < i; g += 4) {
            const idx = [0, 1, 2, 3].map((j) => (oc * i + g + j) * k + pos);
            const kept = idx.filter((x) => v[x] !== 0);
            expect(kept).toHaveLength(2);
            const minKept = Math.min(...kept.map((x) => Math.abs(orig[x]!)));
            const maxDropped = Math.max(...idx.filter((x) => v[x] === 0).map((x) => Math.abs(orig[x]!)));
            expect(minKept).toBeGreaterThanOrEqual(maxDropped);
          }
        }
      }
    }
    expect(sparsityReport(m, masks).at(-1)!.sparsity).toBe(0.5);
    expect(() => nmPrune(m, { n: 4, m: 4 })).toThrow(InvalidArgumentError);
  });
});

describe('gradual pruning', () => {
  it('polynomial schedule (Zhu & Gupta): endpoints, midpoint and clamping', () => {
    const o = { initial: 0.1, final: 0.9, beginStep: 10, endStep: 110 };
    expect(polynomialSparsity(0, o)).toBeCloseTo(0.1, 12);
    expect(polynomialSparsity(10, o)).toBeCloseTo(0.1, 12);
    expect(polynomialSparsity(60, o)).toBeCloseTo(0.9 - 0.8 / 8, 12);
    expect(polynomialSparsity(110, o)).toBeCloseTo(0.9, 12);
    expect(polynomialSparsity(500, o)).toBeCloseTo(0.9, 12);
    expect(() => polynomialSparsity(0, { final: 1, endStep: 5 })).toThrow(InvalidArgumentError);
    expect(() => polynomialSparsity(0, { final: 0.5, endStep: 0 })).toThrow(InvalidArgumentError);
  });

  it('fine-tuning under the schedule reaches 70 % global sparsity with masks kept, and still classifies', async () => {
    const f = await fashionFixture();
    const model = smallNet(1);
    model.loadStateDict(f.model.stateDict());
    const opt = new Adam(model.parameters(), { lr: 0.003 });
    const steps = 40;
    let masks = new Map<string, Uint8Array>();
    model.train();
    for (let s = 0; s < steps; s++) {
      if (s % 5 === 0) {
        masks = magnitudePrune(model, {
          amount: polynomialSparsity(s, { final: 0.7, endStep: 30 }),
          scope: 'global',
        });
      }
      tidy(() => {
        const start = (s * 32) % 2900;
        const x = slice(f.trainX, [start, 0, 0, 0], [start + 32, 1, 28, 28]);
        const y = slice(f.trainY, [start], [start + 32]);
        crossEntropy(model.call(x), y).backward();
        opt.step();
        opt.zeroGrad();
      });
      applyMasks(model, masks);
    }
    model.eval();
    const report = sparsityReport(model, masks);
    expect(report.at(-1)!.sparsity).toBeCloseTo(0.7, 2);
    const g = optimizeGraph(
      traceModule(model, [slice(f.testX, [0, 0, 0, 0], [2, 1, 28, 28])], { dynamicBatch: true }),
    );
    const dense = graphAccuracy(f.graph, f.testX, f.testY);
    expect(graphAccuracy(g, f.testX, f.testY)).toBeGreaterThan(dense - 0.1);
  }, 60_000);
});
