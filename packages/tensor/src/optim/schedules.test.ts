import { readFileSync } from 'node:fs';
import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend } from '../backend/registry.js';
import { tensor } from '../creation.js';
import { InvalidArgumentError } from '../errors/index.js';
import { AdamW } from './adamw.js';
import {
  CosineAnnealingLR,
  LinearWarmup,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  StepLR,
} from './lr-scheduler.js';
import type { BaseHyperparams, Optimizer } from './optimizer.js';
import {
  cosineAnnealingLr,
  type LrSchedule,
  linearWarmup,
  multiStepLr,
  oneCycleLr,
  stepLr,
} from './schedules.js';
import { SGD } from './sgd.js';

type Opts = Record<string, unknown>;
interface ScheduleCase {
  name: string;
  kind: string;
  options: Opts & { after?: { kind: string; options: Opts } };
  optimizer: 'SGD' | 'AdamW';
  baseLrs: number[];
  lrs: number[][];
  momentum: number[][];
}

const CASES = (
  JSON.parse(
    readFileSync(new URL('../testing/__fixtures__/optim/schedules.json', import.meta.url), 'utf8'),
  ) as { cases: ScheduleCase[] }
).cases;

beforeAll(() => registerBackend(cpu()));

// biome-ignore lint/suspicious/noExplicitAny: options come from JSON
type AnyOpts = any;

function pure(kind: string, o: AnyOpts): LrSchedule {
  if (kind === 'StepLR') return stepLr(o);
  if (kind === 'MultiStepLR') return multiStepLr(o);
  if (kind === 'CosineAnnealingLR') return cosineAnnealingLr(o);
  if (kind === 'OneCycleLR') return oneCycleLr(o);
  if (kind === 'LinearWarmup') return linearWarmup(o, pure(o.after.kind, o.after.options));
  throw new Error(`unknown schedule ${kind}`);
}

function scheduler(kind: string, opt: Optimizer<BaseHyperparams>, o: AnyOpts): LRScheduler {
  if (kind === 'StepLR') return new StepLR(opt, o);
  if (kind === 'MultiStepLR') return new MultiStepLR(opt, o);
  if (kind === 'CosineAnnealingLR') return new CosineAnnealingLR(opt, o);
  if (kind === 'OneCycleLR') return new OneCycleLR(opt, o);
  // Wrap a scheduler object (built first, as with torch's SequentialLR).
  const after = scheduler(o.after.kind, opt, o.after.options);
  return new LinearWarmup(opt, { ...o, after });
}

function optimizerFor(c: ScheduleCase): Optimizer<BaseHyperparams> {
  const groups = c.baseLrs.map((lr) => ({ params: [tensor([0])], lr }));
  if (c.optimizer === 'SGD') {
    return new SGD(groups, { lr: c.baseLrs[0]!, momentum: c.name.includes('no-momentum') ? 0.5 : 0.9 });
  }
  return new AdamW(groups, { lr: c.baseLrs[0]! });
}

function close(a: number, e: number, what: string): void {
  if (!(Math.abs(a - e) <= 1e-10 * Math.abs(e) + 1e-15)) expect.fail(`${what}: got ${a}, expected ${e}`);
}

describe('LR schedules match torch.optim.lr_scheduler', () => {
  for (const c of CASES) {
    it(`${c.kind}: ${c.name}`, () => {
      const opt = optimizerFor(c);
      const s = scheduler(c.kind, opt, c.options);
      const f = pure(c.kind, c.options);
      const maxLrs = c.kind === 'OneCycleLR' ? [c.options.maxLr].flat() : c.baseLrs;
      c.lrs.forEach((want, k) => {
        if (k > 0) s.step();
        opt.paramGroups.forEach((g, i) => {
          close(g.lr, want[i]!, `${c.name} step ${k} group ${i} lr`);
          close(f(k, (maxLrs[i] ?? maxLrs[0]) as number), want[i]!, `${c.name} pure step ${k} group ${i}`);
          const m =
            c.optimizer === 'SGD' ? (g as unknown as { momentum: number }).momentum : (g as AnyOpts).betas[0];
          close(m, c.momentum[k]![i]!, `${c.name} step ${k} group ${i} momentum`);
        });
        expect(s.lastEpoch).toBe(k);
        expect(s.getLastLr()).toEqual(opt.paramGroups.map((g) => g.lr));
      });
    });
  }
});

describe('LR scheduler behaviour', () => {
  it('one-cycle throws past totalSteps, like torch', () => {
    const opt = new SGD([tensor([0])], { lr: 0.1, momentum: 0.9 });
    const s = new OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    s.step();
    s.step();
    s.step();
    expect(() => s.step()).toThrow(/tried to step 5 times; totalSteps is 3/);
    expect(() => new OneCycleLR(opt, { maxLr: 1 })).toThrow(InvalidArgumentError);
    expect(() => new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 3 })).toThrow(/expected 1 values/);
  });

  it('stateDict restores position and learning rates', () => {
    const opt = new SGD([tensor([0])], { lr: 0.1 });
    const s = new CosineAnnealingLR(opt, { tMax: 10 });
    for (let i = 0; i < 4; i++) s.step();
    const saved = JSON.parse(JSON.stringify(s.stateDict()));
    const lr4 = opt.paramGroups[0]!.lr;
    const opt2 = new SGD([tensor([0])], { lr: 0.1 });
    const s2 = new CosineAnnealingLR(opt2, { tMax: 10 });
    s2.loadStateDict(saved);
    expect(opt2.paramGroups[0]!.lr).toBe(lr4);
    s.step();
    s2.step();
    expect(opt2.paramGroups[0]!.lr).toBe(opt.paramGroups[0]!.lr);
  });

  it('a second scheduler starts from initialLr, not the current lr', () => {
    const opt = new SGD([tensor([0])], { lr: 0.1 });
    new StepLR(opt, { stepSize: 1, gamma: 0.5 }).step();
    expect(opt.paramGroups[0]!.lr).toBe(0.05);
    const s = new LRScheduler(opt, (step, lr) => lr * (step + 1));
    expect(s.baseLrs).toEqual([0.1]);
    expect(opt.paramGroups[0]!.lr).toBe(0.1);
  });

  it('rejects invalid options', () => {
    expect(() => stepLr({ stepSize: 0 })).toThrow(/'stepSize' must be an integer >= 1/);
    expect(() => cosineAnnealingLr({ tMax: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => linearWarmup({ warmupSteps: 3, startFactor: 0 })).toThrow(/startFactor/);
    expect(() => stepLr({ stepSize: 2 })(-1, 0.1)).toThrow(/step must be an integer >= 0/);
  });
});
