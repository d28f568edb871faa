import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, randn, registerBackend } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, type ModelName, modelInfo } from './registry.js';

beforeAll(() => registerBackend(cpu()));

describe('createModel inChannels', () => {
  const cases: [ModelName, string, number][] = [
    ['mobilenet_v1', 'features.0.0.weight', 32],
    ['mobilenet_v2', 'features.0.0.weight', 32],
    ['mobilenet_v3_small', 'features.0.0.weight', 32],
    ['efficientnet_lite0', 'features.0.0.weight', 32],
    ['mobilevit_xxs', 'conv_1.block.conv.weight', 64],
  ];
  it.each(cases)('%s builds a grayscale stem and runs 1-channel images', (name, stemKey, res) => {
    const m = createModel(name, {
      inChannels: 1,
      width: name === 'mobilenet_v1' ? 0.25 : undefined,
      resolution: res,
      numClasses: 4,
    });
    const stem = m.namedParameters().find(([k]) => k === stemKey)?.[1];
    expect(stem?.shape[1]).toBe(1);
    expect(m.eval().call(randn([2, 1, res, res])).shape).toEqual([2, 4]);
    expect(() => m.call(randn([1, 3, res, res]))).toThrow();
  });

  it('defaults to 3 channels and reports the input shape', () => {
    expect(modelInfo('mobilenet_v1', { width: 0.25, resolution: 32 }).inputShape).toEqual([1, 3, 32, 32]);
    expect(modelInfo('mobilenet_v1', { width: 0.25, resolution: 32, inChannels: 1 }).inputShape).toEqual([
      1, 1, 32, 32,
    ]);
  });

  it('rejects a bad channel count', () => {
    for (const c of [0, 1.5, Number.NaN]) {
      expect(() => createModel('mobilenet_v2', { inChannels: c })).toThrow(InvalidArgumentError);
      expect(() => createModel('mobilenet_v2', { inChannels: c })).toThrow(
        /'inChannels' must be a positive integer/,
      );
    }
  });
});
