// MobileViT v1 against the plain-torch reference of scripts/fixtures/mobilevit_reference.py (ml-cvnets
// configuration and module names): parameter counts, state-dict keys and shapes, MACs, eval-mode outputs with the
// same weights, training gradients and graph export.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import {
  crossEntropy,
  fromStorage,
  InvalidArgumentError,
  manualSeed,
  noGrad,
  parseNpy,
  randn,
  registerBackend,
  runGraph,
  type Tensor,
  tensor,
  trace,
  zeros,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../nn/safetensors.js';
import { countMacs } from './macs.js';
import { MobileViT, type MobileViTArch, type MobileViTConfig } from './mobilevit.js';
import { createModel, modelInfo } from './registry.js';
import { MultiHeadAttention } from './transformer.js';

const DIR = fileURLToPath(new URL('./__fixtures__/mobilevit/', import.meta.url));
const fixture = JSON.parse(readFileSync(`${DIR}params.json`, 'utf8')) as {
  params: Record<string, number>;
  macs256: Record<string, number>;
  macs64: Record<string, number>;
  keys: Record<string, [string, number[]][]>;
  mini: { expansion: number; channels: number[]; dims: number[]; depths: number[]; last: number };
};

beforeAll(() => registerBackend(cpu()));

/** Paper (Mehta & Rastegari 2022, Table 1 / Fig. 1): 1.3M, 2.3M, 5.6M parameters. */
const PAPER_PARAMS: Record<MobileViTArch, number> = { xxs: 1.3e6, xs: 2.3e6, s: 5.6e6 };
/** Published compute at 256×256 (MobileViTv2 paper, Table 1: 0.4G, 1.0G, 2.0G "FLOPs", i.e. MACs). */
const PAPER_MACS: Record<MobileViTArch, number> = { xxs: 0.4e9, xs: 1.0e9, s: 2.0e9 };
const ARCHS: MobileViTArch[] = ['xxs', 'xs', 's'];

function miniConfig(): MobileViTConfig {
  const m = fixture.mini;
  return {
    expansion: m.expansion,
    channels: m.channels as unknown as MobileViTConfig['channels'],
    dims: m.dims as unknown as MobileViTConfig['dims'],
    depths: m.depths as unknown as MobileViTConfig['depths'],
    lastChannels: m.last,
  };
}

function npy(file: string): Tensor {
  const a = parseNpy(new Uint8Array(readFileSync(`${DIR}${file}`)));
  return fromStorage(a.data, a.shape, a.dtype);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

describe('MobileViT architecture', () => {
  // Exact counts: XXS 1,272,024, XS 2,317,848, S 5,578,632 (torch reference, 1000 classes).
  for (const arch of ARCHS) {
    it(`mobilevit_${arch}: parameters equal the torch reference and the paper within 0.05M`, () => {
      const n = new MobileViT(arch).numParameters();
      expect(n).toBe(fixture.params[`mobilevit_${arch}`]);
      expect(Math.abs(n - PAPER_PARAMS[arch])).toBeLessThan(0.05e6);
    });
  }

  it('mobilevit_xxs: state-dict keys and shapes equal the torch reference (ml-cvnets names)', () => {
    const sd = new MobileViT('xxs').stateDict();
    const got = [...sd.entries()].map(([k, t]) => [k, [...t.shape]]);
    expect(got).toEqual(fixture.keys.mobilevit_xxs);
    expect(sd.has('layer_3.1.global_rep.0.pre_norm_mha.1.qkv_proj.weight')).toBe(true);
  });

  for (const arch of ARCHS) {
    it(`mobilevit_${arch}: MACs of a traced 64×64 forward equal the torch count`, () => {
      const model = new MobileViT(arch, { resolution: 64 }).eval().nameParameters();
      const graph = trace((x) => model.call(x), [zeros([1, 3, 64, 64])]);
      expect(countMacs(graph).total).toBe(fixture.macs64[`mobilevit_${arch}`]);
    });
  }

  it('mobilevit_xxs: MACs of a traced 256×256 forward equal the torch count (407,364,096)', () => {
    const model = new MobileViT('xxs').eval().nameParameters();
    const graph = trace((x) => model.call(x), [zeros([1, 3, 256, 256])]);
    expect(countMacs(graph).total).toBe(fixture.macs256.mobilevit_xxs);
  });

  it('MACs at 256×256: torch counts (recorded) agree with the published 0.4G / 1.0G / 2.0G within 0.05G', () => {
    for (const arch of ARCHS) {
      expect(Math.abs(fixture.macs256[`mobilevit_${arch}`]! - PAPER_MACS[arch])).toBeLessThan(0.05e9);
    }
  });

  it('rejects bad options with InvalidArgumentError', () => {
    const bad: (() => unknown)[] = [
      () => new MobileViT('xxl' as MobileViTArch),
      () => new MobileViT('xxs', { resolution: 96 }),
      () => new MobileViT('xxs', { numClasses: 0 }),
      () => new MobileViT('xxs', { numHeads: 3 }),
      () => new MultiHeadAttention(64, 0),
    ];
    for (const fn of bad) {
      expect(() => fn()).toThrow();
      try {
        fn();
      } catch (e) {
        expect(InvalidArgumentError.isInstance(e)).toBe(true);
      }
    }
  });
});

describe('MobileViT in the zoo registry', () => {
  it('createModel / modelInfo build mobilevit_xxs at 256×256 with the reference params and MACs', () => {
    expect(createModel('mobilevit_s', { resolution: 64 })).toBeInstanceOf(MobileViT);
    const info = modelInfo('mobilevit_xxs');
    expect(info.inputShape).toEqual([1, 3, 256, 256]);
    expect(info.family).toBe('mobilevit');
    expect(info.params).toBe(fixture.params.mobilevit_xxs);
    expect(info.macs).toBe(fixture.macs256.mobilevit_xxs);
  });

  it('rejects a width multiplier and MobileNetV3-only options', () => {
    expect(() => createModel('mobilevit_xs', { width: 0.5 })).toThrow(/no width multiplier/);
    expect(() => createModel('mobilevit_xs', { dilated: true })).toThrow(/mobilenet_v3/);
  });
});

describe('MobileViT torch parity (reduced configuration, eval mode)', () => {
  function load(): MobileViT {
    const model = new MobileViT(miniConfig(), { resolution: 64, numClasses: 10 });
    const { tensors } = decodeSafetensors(
      new Uint8Array(readFileSync(`${DIR}mobilevit_mini-r64.safetensors`)),
    );
    const res = model.loadStateDict(tensors);
    expect(res.missingKeys).toEqual([]);
    expect(res.unexpectedKeys).toEqual([]);
    expect(model.numParameters()).toBe(fixture.params.mini);
    return model.eval();
  }

  it('matches the torch logits within 1e-4 of their range', () => {
    const model = load();
    const want = npy('mobilevit_mini-r64.output.npy').dataSync();
    const got = model.call(npy('mobilevit_mini-r64.input.npy'));
    expect(got.shape).toEqual([2, 10]);
    const w = Array.from(want);
    const range = Math.max(...w) - Math.min(...w);
    expect(range).toBeGreaterThan(0.1);
    expect(maxAbsDiff(got.dataSync(), want)).toBeLessThanOrEqual(1e-4 * range);
  });

  it('a perturbed LayerNorm weight breaks parity (the comparison can fail)', () => {
    const model = load();
    const w = model.stateDict().get('layer_3.1.global_rep.0.pre_norm_ffn.0.weight')!;
    noGrad(() => w.assign_(w.detach().mul(1.5)));
    const want = Array.from(npy('mobilevit_mini-r64.output.npy').dataSync());
    const got = model.call(npy('mobilevit_mini-r64.input.npy')).dataSync();
    const range = Math.max(...want) - Math.min(...want);
    expect(maxAbsDiff(got, want)).toBeGreaterThan(1e-3 * range);
  });
});

describe('MobileViT training and graph export', () => {
  it('mobilevit_xxs 64×64: finite loss and finite grads of the right shape for every parameter', () => {
    manualSeed(3);
    const model = new MobileViT('xxs', { resolution: 64, numClasses: 5 }).train();
    const loss = crossEntropy(model.call(randn([2, 3, 64, 64])), tensor([1, 3], [2], 'int32'));
    expect(Number.isFinite(loss.item())).toBe(true);
    loss.backward();
    const params = model.namedParameters();
    const bad: string[] = [];
    let nonZero = 0;
    for (const [key, p] of params) {
      const g = p.grad;
      if (!g || g.shape.join(',') !== p.shape.join(',')) {
        bad.push(`${key}: ${g ? `grad shape [${g.shape}]` : 'no grad'}`);
        continue;
      }
      const d = g.dataSync();
      if (!d.every((v) => Number.isFinite(v))) bad.push(`${key}: non-finite grad`);
      if (d.some((v) => v !== 0)) nonZero++;
    }
    expect(bad).toEqual([]);
    expect(nonZero).toBeGreaterThan(params.length * 0.9);
  });

  it('mobilevit_xxs: trace → runGraph equals eager within 1e-5', () => {
    manualSeed(4);
    const model = new MobileViT('xxs', { resolution: 64, numClasses: 6 });
    // Random BN statistics so eval-mode BatchNorm is not the identity.
    model.train();
    model.call(randn([4, 3, 64, 64]));
    model.eval().nameParameters();
    const x = randn([2, 3, 64, 64]);
    const graph = trace((input) => model.call(input), [x]);
    expect(graph.nodes.filter((n) => n.op === 'MatMul').length).toBeGreaterThanOrEqual(18);
    const eager = Array.from(model.call(x).dataSync());
    const out = runGraph(graph, [x]).outputs[0]!;
    expect(out.shape).toEqual([2, 6]);
    const scale = Math.max(...eager.map(Math.abs));
    expect(maxAbsDiff(out.dataSync(), eager)).toBeLessThanOrEqual(1e-5 * scale + 1e-6);
  });
});
