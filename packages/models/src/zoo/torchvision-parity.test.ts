// Parity with torchvision 0.14: the same weights give the same outputs. Fixtures come from
// scripts/fixtures/torchvision_parity.py (random init, BN statistics warmed on random data, eval mode).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { fromStorage, noGrad, parseNpy, registerBackend, type Tensor } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../nn/safetensors.js';
import { createModel, type ModelName } from './registry.js';

const DIR = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

interface ParityCase {
  readonly name: string;
  readonly model: ModelName;
  readonly width: number;
  readonly resolution: number;
  readonly numClasses: number;
  readonly batch: number;
  readonly reducedTail?: boolean;
  readonly dilated?: boolean;
  readonly trainKeys: { grads: string[]; stats: string[] };
}

const manifest = JSON.parse(readFileSync(`${DIR}manifest.json`, 'utf8')) as { cases: ParityCase[] };

/** Max |got - want| relative to max |want| (0 when both are zero). */
function relErr(got: Tensor, want: Tensor): number {
  expect(got.shape).toEqual(want.shape);
  const g = got.dataSync();
  const w = want.dataSync();
  let err = 0;
  let scale = 0;
  for (let i = 0; i < w.length; i++) {
    err = Math.max(err, Math.abs(Number(g[i]) - Number(w[i])));
    scale = Math.max(scale, Math.abs(Number(w[i])));
  }
  return err === 0 ? 0 : err / scale;
}

function load(c: ParityCase, opts: { dropout?: number } = {}) {
  const model = createModel(c.model, {
    width: c.width,
    resolution: c.resolution,
    numClasses: c.numClasses,
    reducedTail: c.reducedTail ?? false,
    dilated: c.dilated ?? false,
    ...opts,
  });
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(`${DIR}${c.name}.safetensors`)));
  return { model, result: model.loadStateDict(tensors) };
}

function npy(file: string): Tensor {
  const a = parseNpy(new Uint8Array(readFileSync(`${DIR}${file}`)));
  return fromStorage(a.data, a.shape, a.dtype);
}

beforeAll(() => registerBackend(cpu()));

describe('torchvision parity (eval-mode outputs with torchvision weights)', () => {
  it('has the four fixture cases', () => {
    expect(manifest.cases.map((c) => c.model)).toEqual([
      'mobilenet_v2',
      'mobilenet_v3_small',
      'mobilenet_v3_large',
      'mobilenet_v3_small_minimalistic',
    ]);
  });

  for (const c of manifest.cases) {
    it(`${c.name}: loads the torchvision state dict and matches its logits within 1e-4 of their range`, () => {
      const { model, result: res } = load(c);
      expect(res.missingKeys).toEqual([]);
      expect(res.unexpectedKeys).toEqual([]);
      model.eval();
      const x = npy(`${c.name}.input.npy`);
      expect(x.shape).toEqual([c.batch, 3, c.resolution, c.resolution]);
      const want = Array.from(npy(`${c.name}.output.npy`).dataSync());
      const got = Array.from(model.call(x).dataSync());
      expect(got.length).toBe(c.batch * c.numClasses);
      const range = Math.max(...want) - Math.min(...want);
      expect(range).toBeGreaterThan(0.1);
      const err = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
      expect(err).toBeLessThanOrEqual(1e-4 * range);
    });
  }

  for (const c of manifest.cases) {
    it(`${c.name}: one train-mode step matches torchvision (logits, parameter grads, BN running stats)`, () => {
      const { model } = load(c, { dropout: 0 });
      model.train();
      const ref = decodeSafetensors(
        new Uint8Array(readFileSync(`${DIR}${c.name}.train.safetensors`)),
      ).tensors;
      const y = model.call(npy(`${c.name}.input.npy`));
      expect(relErr(y, ref.get('output')!)).toBeLessThan(1e-4);
      y.mul(ref.get('gy')!).sum().backward();
      const params = new Map(model.namedParameters());
      for (const k of c.trainKeys.grads) {
        expect([k, relErr(params.get(k)!.grad!, ref.get(`grad.${k}`)!) < 1e-4]).toEqual([k, true]);
      }
      const sd = model.stateDict();
      for (const k of c.trainKeys.stats) {
        expect([k, relErr(sd.get(k)!, ref.get(`state.${k}`)!) < 1e-5]).toEqual([k, true]);
      }
    });
  }

  it('a perturbed weight breaks parity (the comparison can fail)', () => {
    const c = manifest.cases[1]!;
    const model = createModel(c.model, {
      width: c.width,
      resolution: c.resolution,
      numClasses: c.numClasses,
    });
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(`${DIR}${c.name}.safetensors`)));
    model.loadStateDict(tensors);
    model.eval();
    const w = model.stateDict().get('features.0.1.weight')!;
    noGrad(() => w.assign_(w.detach().mul(1.5)));
    const want = Array.from(npy(`${c.name}.output.npy`).dataSync());
    const got = Array.from(model.call(npy(`${c.name}.input.npy`)).dataSync());
    const range = Math.max(...want) - Math.min(...want);
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeGreaterThan(1e-3 * range);
  });
});
