import { readFileSync } from 'node:fs';
import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend } from '../backend/registry.js';
import { tensor } from '../creation.js';
import { tidy } from '../engine.js';
import { DTypeError, InvalidArgumentError, ShapeError } from '../errors/index.js';
import { mul, sub } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';
import { Adam } from './adam.js';
import { AdamW } from './adamw.js';
import { type LRScheduler, OneCycleLR, StepLR } from './lr-scheduler.js';
import type { BaseHyperparams, Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';

interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  groups?: (Record<string, unknown> & { params: number[] })[];
  shapes: number[][];
  init: number[][];
  grads?: (number[] | null)[][];
  params: number[][][];
  scheduler?: { kind: 'OneCycleLR' | 'StepLR'; options: Record<string, unknown> };
  lrs?: number[][];
  target?: number[];
  weight?: number[];
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../testing/__fixtures__/optim/${name}`, import.meta.url), 'utf8')) as {
    cases: unknown[];
  };
const CASES = fixture('optimizers.json').cases as OptimCase[];

beforeAll(() => registerBackend(cpu()));

/**
 * Elementwise |a − e| ≤ rtol·|e| + atol, reporting the first mismatch. `atol` defaults to `rtol·max|e|`: an update
 * that cancels a parameter down to near zero keeps the absolute error of its O(1) operands (torch's `add` with
 * `alpha` is a fused multiply-add, ours rounds twice; 1 ulp apart).
 */
function expectNear(
  actual: ArrayLike<number>,
  expected: readonly number[],
  what: string,
  rtol = 1e-6,
  atol?: number,
) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  atol ??= rtol * Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol))
      expect.fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

function build(c: OptimCase, ps: Tensor[]): Optimizer<BaseHyperparams> {
  const groups = c.groups?.map((g) => ({ ...g, params: g.params.map((i) => ps[i]!) }));
  const params = (groups ?? ps) as Tensor[];
  // biome-ignore lint/suspicious/noExplicitAny: options come from JSON
  const o = c.options as any;
  if (c.optimizer === 'SGD') return new SGD(params, o);
  if (c.optimizer === 'Adam') return new Adam(params, o);
  return new AdamW(params, o);
}

function schedulerFor(c: OptimCase, opt: Optimizer<BaseHyperparams>): LRScheduler | undefined {
  if (!c.scheduler) return undefined;
  // biome-ignore lint/suspicious/noExplicitAny: options come from JSON
  const o = c.scheduler.options as any;
  return c.scheduler.kind === 'OneCycleLR' ? new OneCycleLR(opt, o) : new StepLR(opt, o);
}

function setGrads(ps: Tensor[], grads: (number[] | null)[], shapes: number[][]) {
  ps.forEach((p, i) => {
    const g = grads[i];
    p.grad = g ? tensor(g, shapes[i]) : null;
  });
}

describe('optimizers match torch trajectories (20 steps, torch-recorded gradients)', () => {
  for (const c of CASES.filter((c) => c.grads)) {
    it(c.name, () => {
      const ps = c.init.map((v, i) => tensor(v, c.shapes[i]).requiresGrad_());
      const opt = build(c, ps);
      const sched = schedulerFor(c, opt);
      c.params.forEach((want, k) => {
        setGrads(ps, c.grads![k]!, c.shapes);
        opt.step();
        ps.forEach((p, i) => expectNear(p.toFloat32(), want[i]!, `${c.name} step ${k} param ${i}`));
        if (sched) {
          sched.step();
          expectNear(
            opt.paramGroups.map((g) => g.lr),
            c.lrs![k]!,
            `${c.name} lr after step ${k}`,
            1e-12,
            0,
          );
        }
        opt.zeroGrad();
      });
    });
  }

  it('sgd/autograd: gradients from tinyvision autograd give the same trajectory', () => {
    const c = CASES.find((x) => x.name === 'sgd/autograd')!;
    const w = tensor(c.init[0]!, c.shapes[0]).requiresGrad_();
    const t = tensor(c.target!, c.shapes[0]);
    const weight = tensor(c.weight!, c.shapes[0]);
    const opt = new SGD([w], c.options as { lr: number });
    c.params.forEach((want, k) => {
      tidy(() => {
        const d = sub(w, t);
        sum(mul(weight, mul(d, d))).backward();
        opt.step();
        opt.zeroGrad();
      });
      expectNear(w.toFloat32(), want[0]!, `step ${k}`, 1e-5, 1e-6);
    });
  });

  it('state survives enclosing tidy scopes and a JSON stateDict round trip resumes exactly', () => {
    const c = CASES.find((x) => x.name === 'adamw/wd-amsgrad-eps')!;
    const ps = c.init.map((v, i) => tensor(v, c.shapes[i]).requiresGrad_());
    const opt = build(c, ps);
    for (let k = 0; k < 10; k++) {
      tidy(() => {
        setGrads(ps, c.grads![k]!, c.shapes);
        opt.step();
        opt.zeroGrad();
      });
    }
    const saved = JSON.parse(JSON.stringify(opt.stateDict()));
    expect(Object.keys(saved.state)).toEqual(['0', '1', '2']);
    expect(saved.state['0'].step).toBe(10);
    expect(saved.state['2'].step).toBe(5); // `e` only had gradients on even steps
    const ps2 = ps.map((p, i) => tensor(Array.from(p.toFloat32()), c.shapes[i]).requiresGrad_());
    const opt2 = new AdamW(ps2, { lr: 123 });
    opt2.loadStateDict(saved);
    expect(opt2.paramGroups[0]!.lr).toBe(0.02);
    for (let k = 10; k < 20; k++) {
      setGrads(ps2, c.grads![k]!, c.shapes);
      opt2.step();
      ps2.forEach((p, i) => expectNear(p.toFloat32(), c.params[k]![i]!, `resumed step ${k} param ${i}`));
      opt2.zeroGrad();
    }
  });
});

describe('optimizer API', () => {
  it('validates arguments with typed errors', () => {
    const w = tensor([1, 2]);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(InvalidArgumentError);
    expect(() => new SGD([w], { lr: -1 })).toThrow(/SGD: 'lr' of group 0/);
    expect(() => new SGD([w], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 })).toThrow(/more than one group/);
    expect(() => new Adam([w], { betas: [0.9, 1] })).toThrow(/betas/);
    expect(() => new AdamW([tensor([1], [1], 'int32')])).toThrow(DTypeError);
    const opt = new SGD(new Set([w]), { lr: 0.1 }); // any iterable of parameters
    expect(opt.paramGroups[0]!.params).toEqual([w]);
    w.grad = tensor([1, 2, 3]);
    expect(() => opt.step()).toThrow(ShapeError);
  });

  it('skips parameters without gradients and zeroGrad clears them', () => {
    const a = tensor([1, 2]).requiresGrad_();
    const b = tensor([3]).requiresGrad_();
    const opt = new SGD([a, b], { lr: 0.5, momentum: 0.9 });
    a.grad = tensor([2, 4]);
    opt.step();
    expect(a.toArray()).toEqual([0, 0]);
    expect(b.toArray()).toEqual([3]);
    expect(opt.getState(b)).toBeUndefined();
    expect(opt.getState(a)?.momentumBuffer).toBeDefined();
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(opt.stepCount).toBe(1);
  });

  it('uses per-group hyperparameters and schedulers change them', () => {
    const a = tensor([1]).requiresGrad_();
    const b = tensor([1]).requiresGrad_();
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    const s = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    s.step();
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.05, 0.005]);
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    opt.step();
    expect(a.item()).toBeCloseTo(0.95, 7);
    expect(b.item()).toBeCloseTo(0.995, 7);
  });
});
