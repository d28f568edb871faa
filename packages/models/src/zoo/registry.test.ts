// Architecture parity with torchvision 0.14 without weights: parameter counts at several widths, the exact
// state-dict keys and shapes at width 1.0, and MAC counts (scripts/fixtures/torchvision_parity.py).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, registerBackend } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeDivisible } from './common.js';
import { mobileNetV3Config } from './mobilenet-v3.js';
import { createModel, listModels, type ModelName, modelInfo } from './registry.js';

const DIR = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const fixture = JSON.parse(readFileSync(`${DIR}params.json`, 'utf8')) as {
  params: Record<string, Record<string, number>>;
  macs224: Record<string, number>;
  macs96: Record<string, number>;
  keys: Record<string, [string, number[]][]>;
};

beforeAll(() => registerBackend(cpu()));

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(InvalidArgumentError.isInstance(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('makeDivisible (torchvision _make_divisible)', () => {
  it('rounds to the nearest multiple, at least the divisor, never 10% below', () => {
    expect(makeDivisible(32 * 0.35, 8)).toBe(16); // 8 would be > 10% below 11.2
    expect(makeDivisible(1280 * 1.4, 8)).toBe(1792);
    expect(makeDivisible(96 * 0.75, 8)).toBe(72);
    expect(makeDivisible(3, 8)).toBe(8);
    expect(makeDivisible(20, 8)).toBe(24); // int(24) // 8 * 8
    expect(makeDivisible(16 * 0.25, 8)).toBe(8);
  });
});

describe('parameter counts equal torchvision', () => {
  for (const [name, widths] of Object.entries(fixture.params)) {
    const [model, variant] = name.split('+') as [ModelName, string | undefined];
    for (const [w, count] of Object.entries(widths)) {
      it(`${name} width ${w}: ${count}`, () => {
        const m = createModel(model, {
          width: Number(w),
          reducedTail: variant === 'reduced_tail',
          dilated: variant === 'dilated',
        });
        expect(m.numParameters()).toBe(count);
      });
    }
  }

  it('covers the requested widths (torchvision num_params for mobilenet_v2 1.0 is 3,504,872)', () => {
    expect(Object.keys(fixture.params.mobilenet_v2!)).toEqual(['0.35', '0.5', '0.75', '1.0', '1.4']);
    expect(fixture.params.mobilenet_v2!['1.0']).toBe(3504872);
    expect(fixture.params.mobilenet_v3_large!['1.0']).toBe(5483032);
    expect(Object.keys(fixture.params.mobilenet_v3_small!)).toEqual(['0.75', '1.0']);
  });

  it('minimalistic MobileNetV3 matches the TF-slim published sizes (3.9M large, 2.0M small, 209M MACs large)', () => {
    const round = (n: number) => Math.round(n / 1e5) / 10;
    expect(round(createModel('mobilenet_v3_large_minimalistic').numParameters())).toBe(3.9);
    expect(round(createModel('mobilenet_v3_small_minimalistic').numParameters())).toBe(2.0);
    expect(Math.round(fixture.macs224.mobilenet_v3_large_minimalistic! / 1e6)).toBe(209);
  });
});

describe('state-dict keys and shapes equal torchvision (width 1.0)', () => {
  for (const [name, keys] of Object.entries(fixture.keys)) {
    it(name, () => {
      const sd = createModel(name as ModelName).stateDict();
      expect([...sd].map(([k, t]) => [k, [...t.shape]])).toEqual(keys);
    });
  }
});

describe('modelInfo', () => {
  it('mobilenet_v3_small at 224: params, MACs from the traced graph, input shape', () => {
    const info = modelInfo('mobilenet_v3_small');
    expect(info.params).toBe(fixture.params.mobilenet_v3_small!['1.0']);
    expect(info.macs).toBe(fixture.macs224.mobilenet_v3_small);
    expect(info.inputShape).toEqual([1, 3, 224, 224]);
  });

  it('MACs scale with resolution and width', () => {
    const small = modelInfo('mobilenet_v2', { width: 0.35, resolution: 64 });
    const big = modelInfo('mobilenet_v2', { width: 0.35, resolution: 128 });
    expect(big.inputShape).toEqual([1, 3, 128, 128]);
    expect(big.params).toBe(small.params);
    // Convolutions scale with the area (4x), the classifier Linear(1280, 1000) does not.
    const linear = 1280 * 1000;
    expect(big.macs - linear).toBe(4 * (small.macs - linear));
  });

  for (const name of Object.keys(fixture.macs96) as ModelName[]) {
    it(`${name} MACs at 96x96 equal torchvision's (forward hooks on Conv2d / Linear)`, () => {
      expect(modelInfo(name, { resolution: 96 }).macs).toBe(fixture.macs96[name]);
    });
  }
});

describe('createModel', () => {
  it('lists the zoo', () => {
    expect(listModels()).toEqual([
      'mobilenet_v1',
      'mobilenet_v2',
      'mobilenet_v3_small',
      'mobilenet_v3_large',
      'mobilenet_v3_small_minimalistic',
      'mobilenet_v3_large_minimalistic',
      'efficientnet_lite0',
      'efficientnet_lite1',
      'efficientnet_lite2',
      'efficientnet_lite3',
      'efficientnet_lite4',
      'mobilevit_xxs',
      'mobilevit_xs',
      'mobilevit_s',
      'yolo_nano',
    ]);
  });

  it('rejects unknown names, listing the valid ones', () => {
    expectInvalid(
      () => createModel('resnet18' as ModelName),
      /unknown model 'resnet18'.*mobilenet_v2, mobilenet_v3_small/,
    );
  });

  it('rejects bad widths, resolutions, classes and dropout', () => {
    expectInvalid(() => createModel('mobilenet_v2', { width: 0 }), /'width' must be/);
    expectInvalid(() => createModel('mobilenet_v3_small', { width: Number.NaN }), /'width' must be/);
    expectInvalid(() => createModel('mobilenet_v3_large', { width: 8 }), /'width' must be/);
    expectInvalid(
      () => createModel('mobilenet_v2', { resolution: 100 }),
      /'resolution' must be a multiple of 32/,
    );
    expectInvalid(() => createModel('mobilenet_v2', { resolution: 0 }), /'resolution'/);
    expectInvalid(() => createModel('mobilenet_v2', { numClasses: 0 }), /'numClasses'/);
    expectInvalid(() => createModel('mobilenet_v3_small', { dropout: 1 }), /'dropout'/);
    expectInvalid(() => createModel('mobilenet_v2', { dilated: true }), /mobilenet_v3_\* only/);
  });

  it('applies numClasses, dropout and the MobileNetV3 options', () => {
    const m = createModel('mobilenet_v3_small', { numClasses: 7, dropout: 0.5, width: 0.5 });
    expect(m.stateDict().get('classifier.3.weight')!.shape).toEqual([7, 1024 / 2]);
    const { setting } = mobileNetV3Config('large', { reducedTail: true, dilated: true });
    expect(setting.map((s) => s.dilation)).toEqual([...Array(12).fill(1), 2, 2, 2]);
    expect(setting.slice(-3).map((s) => [s.inputChannels, s.expandedChannels, s.outChannels])).toEqual([
      [112, 672, 80],
      [80, 480, 80],
      [80, 480, 80],
    ]);
    const mini = mobileNetV3Config('small', { minimalistic: true }).setting;
    expect(mini.every((s) => s.kernel === 3 && !s.useSE && !s.useHS)).toBe(true);
  });
});
