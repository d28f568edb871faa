// EfficientNet-Lite0–4 against tensorflow/tpu models/official/efficientnet/lite (efficientnet_lite_builder.py,
// efficientnet_model.py with fix_head_stem=True) and the size table of its README.
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
import { BatchNorm2d, Conv2d } from '../nn/index.js';
import { chainMacs } from './chain-macs.js';
import {
  EfficientNetLite,
  type EfficientNetLiteVariant,
  efficientNetLiteConfig,
} from './efficientnet-lite.js';
import { countMacs } from './macs.js';
import { createModel, type ModelName, modelInfo } from './registry.js';

beforeAll(() => registerBackend(cpu()));

const VARIANTS: EfficientNetLiteVariant[] = [0, 1, 2, 3, 4];

describe('EfficientNet-Lite configs (tensorflow/tpu efficientnet_model.Model, fix_head_stem)', () => {
  it('repeats: ceil(depth * r) except the first and last stage', () => {
    const repeats = VARIANTS.map((v) => efficientNetLiteConfig(v).map((s) => s.length));
    expect(repeats).toEqual([
      [1, 2, 2, 3, 3, 4, 1],
      [1, 3, 3, 4, 4, 5, 1],
      [1, 3, 3, 4, 4, 5, 1],
      [1, 3, 3, 5, 5, 6, 1],
      [1, 4, 4, 6, 6, 8, 1],
    ]);
  });

  it('channels: round_filters(c * width, 8); the first block reads the unscaled 32-channel stem', () => {
    const outs = (v: EfficientNetLiteVariant) => efficientNetLiteConfig(v).map((s) => s[0]!.outChannels);
    expect(outs(0)).toEqual([16, 24, 40, 80, 112, 192, 320]);
    expect(outs(4)).toEqual([24, 32, 56, 112, 160, 272, 448]);
    expect(efficientNetLiteConfig(4)[0]![0]!.inputChannels).toBe(32);
    const m = new EfficientNetLite(4, { numClasses: 3 });
    const sd = m.stateDict();
    expect(sd.get('features.0.0.weight')!.shape).toEqual([32, 3, 3, 3]);
    expect(sd.get('features.1.0.block.0.0.weight')!.shape).toEqual([32, 1, 3, 3]);
    expect(sd.get('features.8.0.weight')!.shape).toEqual([1280, 448, 1, 1]);
    expect(sd.get('classifier.1.weight')!.shape).toEqual([3, 1280]);
    const bns = m.namedModules().filter(([, c]) => c instanceof BatchNorm2d) as [string, BatchNorm2d][];
    expect(bns.every(([, b]) => b.eps === 1e-3 && b.momentum === 0.01)).toBe(true);
    // No squeeze-excitation: every conv is on the main path (1x1, or depthwise 3x3 / 5x5, or the stem).
    const convs = m.namedModules().filter(([, c]) => c instanceof Conv2d) as [string, Conv2d][];
    expect(convs.every(([, c]) => c.kernelSize[0] === 1 || c.groups > 1 || c.weight.shape[1] === 3)).toBe(
      true,
    );
  });
});

describe('EfficientNet-Lite sizes vs the published table', () => {
  // tensorflow/tpu models/official/efficientnet/lite/README.md: params (M) and MACs (M).
  const published: [number, number][] = [
    [4.7, 407],
    [5.4, 631],
    [6.1, 899],
    [8.2, 1440],
    [13.0, 2640],
  ];
  for (const v of VARIANTS) {
    const [params, macs] = published[v]!;
    it(`efficientnet_lite${v}: ${params}M params, ${macs}M published MACs`, () => {
      const info = modelInfo(`efficientnet_lite${v}` as ModelName);
      expect(Math.round(info.params / 1e5) / 10).toBe(params);
      if (v === 0) expect(info.params).toBe(4652008); // the count the brief quotes for the TF model ("4.7M")
      // Our MACs count convolutions and the classifier only. The README's figures are 2–6% higher, more than
      // conv MACs can explain (B0 = Lite0 plus SE is published as 0.39B), so they count other ops as well.
      expect(info.macs / (macs * 1e6)).toBeGreaterThan(0.94);
      expect(info.macs / (macs * 1e6)).toBeLessThan(0.98);
      expect(info.resolution).toBe([224, 240, 260, 280, 300][v]);
    });
  }

  it('Lite0 conv MACs are within 2% of EfficientNet-B0 (0.39B, Tan & Le 2019 Table 2; SE adds < 1M)', () => {
    expect(Math.abs(modelInfo('efficientnet_lite0').macs / 390e6 - 1)).toBeLessThan(0.02);
  });

  it('layer-config MACs equal countMacs over a traced graph (even and odd sizes)', () => {
    for (const [v, res] of [
      [0, 64],
      [2, 65],
    ] as const) {
      const model = new EfficientNetLite(v, { resolution: res }).eval();
      const graph = trace((x) => model.call(x), [zeros([1, 3, res, res])]);
      expect(chainMacs(model, res)).toBe(countMacs(graph).total);
    }
  });
});

describe('EfficientNet-Lite options', () => {
  it('accepts only the variant width and resolutions >= 32', () => {
    const msg = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(InvalidArgumentError.isInstance(e)).toBe(true);
        return (e as Error).message;
      }
      throw new Error('expected an InvalidArgumentError');
    };
    expect(createModel('efficientnet_lite2', { width: 1.1, resolution: 64 }).width).toBe(1.1);
    expect(msg(() => createModel('efficientnet_lite2', { width: 1 }))).toMatch(
      /fixed by the variant to 1\.1 \(lite0–lite4: 1, 1, 1\.1, 1\.2, 1\.4\)/,
    );
    expect(msg(() => createModel('efficientnet_lite0', { resolution: 31 }))).toMatch(/'resolution'.*224/);
    expect(msg(() => createModel('efficientnet_lite0', { reducedTail: true }))).toMatch(/mobilenet_v3/);
    expect(msg(() => new EfficientNetLite(5 as EfficientNetLiteVariant))).toMatch(/0, 1, 2, 3, 4/);
  });
});

describe('EfficientNet-Lite training and export', () => {
  it('lite0 at 64x64: forward + backward gives finite, non-zero grads', () => {
    manualSeed(5);
    const model = createModel('efficientnet_lite0', { resolution: 64, numClasses: 5 }).train();
    const loss = crossEntropy(model.call(randn([2, 3, 64, 64])), tensor([1, 4], [2], 'int32'));
    expect(Number.isFinite(loss.item())).toBe(true);
    loss.backward();
    const params = model.namedParameters();
    const bad = params.filter(([, p]) => !p.grad?.dataSync().every(Number.isFinite));
    expect(bad.map(([k]) => k)).toEqual([]);
    const nonZero = params.filter(([, p]) => p.grad!.dataSync().some((v) => v !== 0)).length;
    expect(nonZero).toBeGreaterThan(params.length * 0.9);
  });

  it('lite0 trace → runGraph equals eager', () => {
    manualSeed(6);
    const model = createModel('efficientnet_lite0', { resolution: 64, numClasses: 6 });
    model.train().call(randn([4, 3, 64, 64])); // non-trivial BN running statistics
    model.eval().nameParameters();
    const x = randn([2, 3, 64, 64]);
    const graph = trace((input) => model.call(input), [x], { dynamicBatch: true });
    expect(graph.nodes.filter((n) => n.op === 'Conv2D').length).toBe(49);
    const eager = Array.from(model.call(x).dataSync());
    const out = runGraph(graph, [x]).outputs[0]!;
    expect(out.shape).toEqual([2, 6]);
    const scale = Math.max(...eager.map(Math.abs));
    const diff = Math.max(...Array.from(out.dataSync()).map((v, i) => Math.abs(v - eager[i]!)));
    expect(diff).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
  });
});
