import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, Rng, registerBackend, tensor } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { klThreshold, RangeHistogram } from './histogram.js';
import { createObserver } from './observers.js';

beforeAll(() => registerBackend(cpu()));

const ORACLE = fileURLToPath(new URL('./__fixtures__/torch_observers.py', import.meta.url));

interface TorchQ {
  scale: number[];
  zeroPoint: number[];
}

function gaussian(rng: Rng, n: number, sigma = 1, mean = 0): number[] {
  return Array.from({ length: n }, () => {
    const u = Math.max(rng.next(), 1e-12);
    return mean + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  });
}

type TorchResult = Record<'minmax' | 'minmax_sym' | 'moving' | 'perchannel' | 'histogram', TorchQ> & {
  percentile: [number, number];
};

function torchObservers(batches: number[][], shape: number[], axis: number | null): TorchResult {
  const out = execFileSync('/usr/bin/python3', [ORACLE], {
    input: JSON.stringify({ batches, shape, axis, percentile: 99 }),
    encoding: 'utf8',
  });
  return JSON.parse(out) as TorchResult;
}

/** Mean squared error of quantizing `data` with per-tensor int8 parameters. */
function quantMse(
  data: readonly number[],
  q: { scale: readonly number[]; zeroPoint: readonly number[] },
): number {
  const [s, z] = [q.scale[0]!, q.zeroPoint[0]!];
  let e = 0;
  for (const v of data) {
    const r = (Math.max(-128, Math.min(127, Math.round(v / s) + z)) - z) * s;
    e += (r - v) ** 2;
  }
  return e / data.length;
}

function laplace(rng: Rng, n: number, b = 1): number[] {
  return Array.from({ length: n }, () => {
    const u = rng.next() - 0.5;
    return -b * Math.sign(u) * Math.log(Math.max(1 - 2 * Math.abs(u), 1e-12));
  });
}

describe('observers against torch.ao.quantization', () => {
  const rng = new Rng(3);
  const shape = [4, 3, 5];
  const batches = Array.from({ length: 5 }, (_, b) => gaussian(rng, 60, 1 + b * 0.3, b * 0.1));
  const torch = torchObservers(batches, shape, 1);
  const run = (opts: Parameters<typeof createObserver>[0]) => {
    const o = createObserver(opts);
    for (const b of batches) o.observe(tensor(b, shape));
    return o;
  };

  it('min-max (affine and symmetric) gives the same scale and zero point as MinMaxObserver', () => {
    const q = run({}).qparams();
    expect(q.scale[0]).toBeCloseTo(torch.minmax.scale[0]!, 7);
    expect(q.zeroPoint).toEqual(torch.minmax.zeroPoint);
    const s = run({ symmetric: true }).qparams();
    expect(s.scale[0]).toBeCloseTo(torch.minmax_sym.scale[0]!, 7);
    expect(s.zeroPoint).toEqual([0]);
  });

  it('moving-average min-max matches MovingAverageMinMaxObserver', () => {
    const q = run({ kind: 'moving-average', averagingConstant: 0.01 }).qparams();
    expect(q.scale[0]).toBeCloseTo(torch.moving.scale[0]!, 6);
    expect(q.zeroPoint).toEqual(torch.moving.zeroPoint);
  });

  it('per-channel min-max matches PerChannelMinMaxObserver', () => {
    const q = run({ axis: 1 }).qparams();
    expect(q.axis).toBe(1);
    expect(q.scale).toHaveLength(3);
    q.scale.forEach((s, i) => expect(s).toBeCloseTo(torch.perchannel.scale[i]!, 7));
    expect(q.zeroPoint).toEqual(torch.perchannel.zeroPoint);
  });

  it('percentile is within one histogram bin of numpy.percentile', () => {
    const [lo, hi] = run({ kind: 'percentile', percentile: 99, bins: 2048 }).ranges()[0]!;
    const all = batches.flat();
    const bin = (Math.max(...all) - Math.min(...all)) / 2048;
    // the histogram is re-binned as the range widens, so allow a few bins
    expect(Math.abs(lo - torch.percentile[0])).toBeLessThan(8 * bin + 0.02);
    expect(Math.abs(hi - torch.percentile[1])).toBeLessThan(8 * bin + 0.02);
  });
});

describe('histogram estimators', () => {
  it('MSE range: error at most that of torch HistogramObserver (its L2 range search) and below min-max', () => {
    const rng = new Rng(5);
    const data = laplace(rng, 20000);
    const mse = createObserver({ kind: 'mse' });
    const mm = createObserver({});
    mse.observe(data, [data.length]);
    mm.observe(data, [data.length]);
    const torch = torchObservers([data], [data.length], null);
    const eMse = quantMse(data, mse.qparams());
    expect(eMse).toBeLessThan(quantMse(data, mm.qparams()));
    expect(eMse).toBeLessThan(quantMse(data, torch.histogram) * 1.05);
  });

  it('MSE range at 4 bits matches the analytic Laplace optimum (ACIQ: ±5.03·b)', () => {
    const rng = new Rng(6);
    const data = laplace(rng, 50000);
    const o = createObserver({ kind: 'mse', qmin: -8, qmax: 7 });
    o.observe(data, [data.length]);
    const [lo, hi] = o.ranges()[0]!;
    expect(hi).toBeGreaterThan(5.03 * 0.85);
    expect(hi).toBeLessThan(5.03 * 1.15);
    expect(-lo).toBeGreaterThan(5.03 * 0.85);
    expect(-lo).toBeLessThan(5.03 * 1.15);
  });

  it('KL (entropy) threshold clips the tail of a heavy-tailed distribution but keeps the bulk', () => {
    const rng = new Rng(9);
    const data = gaussian(rng, 50000).map(Math.abs);
    for (let i = 0; i < 20; i++) data.push(10 + 10 * rng.next());
    const h = new RangeHistogram(2048);
    h.add([0]);
    h.add(data);
    const t = klThreshold(h, 128); // a signed int8 range: 128 levels per side
    expect(t).toBeGreaterThan(3); // N(0,1): keeps more than 99.7 % of the mass
    expect(t).toBeLessThan(6);
    const o = createObserver({ kind: 'kl' });
    o.observe(data.slice(0, 50002), [50002]); // two outliers
    const [lo, hi] = o.ranges()[0]!;
    expect(lo).toBe(0); // one-sided data keeps a one-sided range
    expect(hi).toBeLessThan(10);
    expect(hi).toBeGreaterThan(3);
  });

  it('widening the histogram keeps every count', () => {
    const h = new RangeHistogram(256);
    h.add([0, 1, 2]);
    h.add([-10, 10]);
    expect(h.total).toBe(5);
    expect(h.lo).toBe(-10);
    expect(h.hi).toBe(10);
  });
});

describe('observer errors', () => {
  it('rejects bad options and misuse with typed errors', () => {
    expect(() => createObserver({ kind: 'bogus' as never })).toThrow(InvalidArgumentError);
    expect(() => createObserver({ percentile: 20 })).toThrow(InvalidArgumentError);
    expect(() => createObserver({ qmin: 5, qmax: 5 })).toThrow(InvalidArgumentError);
    expect(() => createObserver().qparams()).toThrow(/no values observed/);
    const o = createObserver({ axis: 0 });
    o.observe([1, 2, 3, 4], [2, 2]);
    expect(() => o.observe([1, 2, 3], [3, 1])).toThrow(/channels/);
    expect(() => o.observe([1, 2], [3])).toThrow(InvalidArgumentError);
  });
});
