// Training (forward + backward) and graph export (trace → runGraph) of the MobileNets at small sizes.
import { cpu } from '@tinyvision/backend-cpu';
import {
  crossEntropy,
  manualSeed,
  randn,
  registerBackend,
  runGraph,
  tensor,
  trace,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, type ModelName } from './registry.js';

beforeAll(() => registerBackend(cpu()));

const SMALL: [ModelName, number][] = [
  ['mobilenet_v2', 0.35],
  ['mobilenet_v3_small', 0.35],
  ['mobilenet_v3_large', 0.35],
  ['mobilenet_v3_small_minimalistic', 0.35],
];

describe('forward + backward', () => {
  for (const [name, width] of SMALL) {
    it(`${name} width ${width}: finite loss and a finite, non-zero grad for every parameter`, () => {
      manualSeed(1);
      const model = createModel(name, { width, resolution: 32, numClasses: 5 });
      model.train();
      const x = randn([2, 3, 32, 32]);
      const loss = crossEntropy(model.call(x), tensor([1, 3], [2], 'int32'));
      expect(Number.isFinite(loss.item())).toBe(true);
      loss.backward();
      const params = model.namedParameters();
      expect(params.length).toBeGreaterThan(50);
      const bad: string[] = [];
      let nonZero = 0;
      for (const [key, p] of params) {
        const g = p.grad;
        if (!g || !shapeEq(g.shape, p.shape)) {
          bad.push(`${key}: ${g ? `grad shape [${g.shape}]` : 'no grad'}`);
          continue;
        }
        const d = g.dataSync();
        if (!d.every((v) => Number.isFinite(v))) bad.push(`${key}: non-finite grad`);
        if (d.some((v) => v !== 0)) nonZero++;
      }
      expect(bad).toEqual([]);
      expect(nonZero).toBeGreaterThan(params.length * 0.9);
      // Train mode updated the BatchNorm running statistics.
      expect(model.stateDict().get('features.0.1.num_batches_tracked')!.item()).toBe(1);
    });
  }
});

function shapeEq(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

describe('trace → runGraph equals eager', () => {
  for (const [name, width] of SMALL) {
    it(`${name} width ${width}`, () => {
      manualSeed(2);
      const model = createModel(name, {
        width,
        resolution: 64,
        numClasses: 6,
        dilated: name === 'mobilenet_v3_large',
      });
      // Random BN statistics so eval-mode BatchNorm is not the identity.
      model.train();
      model.call(randn([4, 3, 64, 64]));
      model.eval();
      model.nameParameters();
      const x = randn([2, 3, 64, 64]);
      const graph = trace((input) => model.call(input), [x], { dynamicBatch: true });
      expect(graph.initializers.has('features.0.0.weight')).toBe(true);
      expect(graph.nodes.filter((n) => n.op === 'Conv2D').length).toBeGreaterThan(20);
      const eager = Array.from(model.call(x).dataSync());
      const { outputs } = runGraph(graph, [x]);
      const out = Array.from(outputs[0]!.dataSync());
      expect(outputs[0]!.shape).toEqual([2, 6]);
      const scale = Math.max(...eager.map(Math.abs));
      expect(Math.max(...out.map((v, i) => Math.abs(v - eager[i]!)))).toBeLessThanOrEqual(
        1e-5 * scale + 1e-6,
      );
    });
  }
});
