// MobileNetV1 against the paper (Howard et al. 2017, arXiv:1704.04861, Tables 6 and 7) and TF-slim's layout.
import { cpu } from '@tinyvision/backend-cpu';
import {
  crossEntropy,
  InvalidArgumentError,
  manualSeed,
  randn,
  registerBackend,
  runGraph,
  tensor,
  trace,
  zeros,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conv2d } from '../nn/index.js';
import { chainMacs } from './chain-macs.js';
import { countMacs } from './macs.js';
import { MobileNetV1, mobileNetV1Channels } from './mobilenet-v1.js';
import { createModel, modelInfo } from './registry.js';

beforeAll(() => registerBackend(cpu()));

describe('MobileNetV1 sizes equal the paper', () => {
  // Table 6 (width at 224): [width, params in millions, MACs in millions].
  const table6: [number, number, number][] = [
    [1.0, 4.2, 569],
    [0.75, 2.6, 325],
    [0.5, 1.3, 149],
    [0.25, 0.5, 41],
  ];
  for (const [width, params, macs] of table6) {
    it(`${width} MobileNet-224: ${params}M params, ${macs}M MACs`, () => {
      const info = modelInfo('mobilenet_v1', { width });
      // The paper rounds params to 0.1M and MACs to 1M (sometimes down: 290.7M is printed as 290).
      expect(Math.abs(info.params / 1e6 - params)).toBeLessThanOrEqual(0.05);
      expect(Math.abs(info.macs / 1e6 - macs)).toBeLessThan(1);
      expect(info).toMatchObject({ width, resolution: 224, inputShape: [1, 3, 224, 224] });
    });
  }
  // Table 7 (1.0 MobileNet at each resolution): MACs in millions; params do not change.
  for (const [resolution, macs] of [
    [224, 569],
    [192, 418],
    [160, 290],
    [128, 186],
  ] as const) {
    it(`1.0 MobileNet-${resolution}: ${macs}M MACs, 4.2M params`, () => {
      const info = modelInfo('mobilenet_v1', { resolution });
      expect(Math.abs(info.macs / 1e6 - macs)).toBeLessThan(1);
      expect(info.params).toBe(4231976);
    });
  }

  it('layer-config MACs equal countMacs over a traced graph (0.25 at 224, 0.5 at 64)', () => {
    for (const [width, res] of [
      [0.25, 224],
      [0.5, 64],
    ] as const) {
      const model = new MobileNetV1({ width, resolution: res }).eval();
      const graph = trace((x) => model.call(x), [zeros([1, 3, res, res])]);
      expect(chainMacs(model, res)).toBe(countMacs(graph).total);
    }
  });
});

describe('MobileNetV1 layout (TF-slim mobilenet_v1.py)', () => {
  it('channels are max(floor(c * width), 8) (slim min_depth 8)', () => {
    expect(mobileNetV1Channels(32, 0.25)).toBe(8);
    expect(mobileNetV1Channels(1024, 0.75)).toBe(768);
    expect(mobileNetV1Channels(64, 0.1)).toBe(8);
  });

  it('stem, 13 depthwise-separable layers with ReLU6 and BN eps 1e-3, Linear classifier', () => {
    const m = createModel('mobilenet_v1', { width: 0.5, numClasses: 10 });
    const sd = m.stateDict();
    expect(sd.get('features.0.0.weight')!.shape).toEqual([16, 3, 3, 3]);
    expect(sd.get('features.1.0.0.weight')!.shape).toEqual([16, 1, 3, 3]);
    expect(sd.get('features.1.1.0.weight')!.shape).toEqual([32, 16, 1, 1]);
    expect(sd.get('features.13.1.0.weight')!.shape).toEqual([512, 512, 1, 1]);
    expect(sd.get('classifier.1.weight')!.shape).toEqual([10, 512]);
    expect(sd.has('features.14.0.0.weight')).toBe(false);
    const convs = m.namedModules().filter(([, c]) => c instanceof Conv2d) as [string, Conv2d][];
    expect(convs.filter(([, c]) => c.groups > 1)).toHaveLength(13);
    expect(convs.map(([, c]) => c.stride[0]).filter((s) => s === 2)).toHaveLength(5);
    const names = new Set(m.namedModules().map(([, c]) => c.constructor.name));
    expect(names.has('ReLU6')).toBe(true);
    expect(names.has('ReLU')).toBe(false);
  });

  it('rejects bad widths and resolutions, listing the published values', () => {
    const msg = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(InvalidArgumentError.isInstance(e)).toBe(true);
        return (e as Error).message;
      }
      throw new Error('expected an InvalidArgumentError');
    };
    expect(msg(() => createModel('mobilenet_v1', { width: 0 }))).toMatch(/'width'.*0\.25, 0\.5, 0\.75, 1/);
    expect(msg(() => createModel('mobilenet_v1', { resolution: 100 }))).toMatch(/128, 160, 192, 224/);
    expect(msg(() => createModel('mobilenet_v1', { dilated: true }))).toMatch(/mobilenet_v3_\* only/);
  });
});

describe('MobileNetV1 training and export', () => {
  it('forward + backward: finite loss, finite non-zero grads', () => {
    manualSeed(3);
    const model = createModel('mobilenet_v1', { width: 0.25, resolution: 32, numClasses: 4 }).train();
    const loss = crossEntropy(model.call(randn([2, 3, 32, 32])), tensor([0, 3], [2], 'int32'));
    expect(Number.isFinite(loss.item())).toBe(true);
    loss.backward();
    const params = model.namedParameters();
    const bad = params.filter(([, p]) => !p.grad?.dataSync().every(Number.isFinite));
    expect(bad.map(([k]) => k)).toEqual([]);
    const nonZero = params.filter(([, p]) => p.grad!.dataSync().some((v) => v !== 0)).length;
    expect(nonZero).toBeGreaterThan(params.length * 0.9);
  });

  it('trace → runGraph equals eager', () => {
    manualSeed(4);
    const model = createModel('mobilenet_v1', { width: 0.25, resolution: 64, numClasses: 6 });
    model.train().call(randn([4, 3, 64, 64])); // non-trivial BN running statistics
    model.eval().nameParameters();
    const x = randn([2, 3, 64, 64]);
    const graph = trace((input) => model.call(input), [x], { dynamicBatch: true });
    const eager = Array.from(model.call(x).dataSync());
    const out = runGraph(graph, [x]).outputs[0]!;
    expect(out.shape).toEqual([2, 6]);
    const scale = Math.max(...eager.map(Math.abs));
    const diff = Math.max(...Array.from(out.dataSync()).map((v, i) => Math.abs(v - eager[i]!)));
    expect(diff).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
  });
});
