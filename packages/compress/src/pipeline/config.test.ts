import { describe, expect, it } from 'vitest';
import { PipelineConfigError, parsePipelineConfig } from './config.js';

describe('parsePipelineConfig', () => {
  it('accepts a full configuration', () => {
    const cfg = {
      model: 'mobilenet_v2',
      modelOptions: { width: 0.5, resolution: 32, numClasses: 10, inChannels: 3 },
      dataset: 'fashion-mnist:system',
      prune: 0.5,
      pruneCriterion: 'bn',
      distill: true,
      temperature: 2,
      quant: 'int8',
      qat: true,
      calibrationBatches: 2,
      observer: 'kl',
      fineTuneSteps: 10,
    };
    expect(parsePipelineConfig(cfg)).toEqual(cfg);
  });

  it.each([
    [{ model: 'm', quantise: 'int8' }, 'quantise', /not a known key/],
    [{ model: 'm', modelOptions: { depth: 2 } }, 'modelOptions.depth', /not a known key/],
    [{ model: 'm', prune: 1 }, 'prune', /\[0, 1\)/],
    [{ model: 'm', prune: -0.2 }, 'prune', /\[0, 1\)/],
    [{ model: 'm', prune: '0.5' }, 'prune', /\[0, 1\)/],
    [{ model: 'm', calibrationBatches: 0 }, 'calibrationBatches', /calibration set is empty/],
    [{ model: 'm', quant: 'int2' }, 'quant', /one of/],
    [{ model: 'm', qat: true }, 'qat', /int8/],
    [{ model: 'm', observer: 'entropy' }, 'observer', /one of/],
    [{ model: 'm', dataset: 'cifar10' }, 'dataset', /fashion-mnist/],
    [{ model: 'm', fineTuneSteps: 1.5 }, 'fineTuneSteps', /integer/],
    [{}, 'model', /zoo model/],
    [[], '(root)', /object/],
  ])('rejects %j (key %s)', (cfg, key, msg) => {
    let err: unknown;
    try {
      parsePipelineConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PipelineConfigError);
    expect((err as PipelineConfigError).key).toBe(key);
    expect((err as Error).message).toMatch(msg);
  });
});
