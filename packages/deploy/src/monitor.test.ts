import { execFileSync } from 'node:child_process';
import { InvalidArgumentError, Rng } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { createDriftReference, Monitor, psi } from './monitor.js';

/** prometheus_client's OpenMetrics parser (a pure-Python wheel shipped on the machine image) as the oracle. */
const PROM_WHEEL = '/opt/pypi/files/prometheus_client-0.26.0-py3-none-any.whl';
function parseOpenMetrics(
  text: string,
): { name: string; type: string; samples: [string, Record<string, string>, number][] }[] {
  const py = [
    'import sys, json',
    'from prometheus_client.openmetrics.parser import text_string_to_metric_families as f',
    'print(json.dumps([{"name": m.name, "type": m.type, "samples": [[s.name, s.labels, s.value] for s in m.samples]} for m in f(sys.stdin.read())]))',
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', py], {
    input: text,
    env: { ...process.env, PYTHONPATH: PROM_WHEEL },
  });
  return JSON.parse(out.toString());
}

function gaussian(rng: Rng, n: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(1e-12, rng.next());
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  return out;
}

describe('Monitor', () => {
  it('aggregates latency, confidence, entropy and class counts', () => {
    const m = new Monitor({ numClasses: 3, labels: ['cat', 'dog', 'bird'] });
    m.record({ latencyMs: 3, probs: [0.9, 0.05, 0.05] });
    m.record({ latencyMs: 30, probs: [1 / 3, 1 / 3, 1 / 3] });
    m.record({ latencyMs: 7000, logits: [0, 5, 0] });
    const s = m.snapshot();
    expect(s.count).toBe(3);
    expect(s.classes).toEqual({ cat: 2, dog: 1, bird: 0 });
    expect(s.latencyMs.cumulative[s.latencyMs.buckets.indexOf(5)]).toBe(1);
    expect(s.latencyMs.cumulative.at(-1)).toBe(2); // 7000 ms is only in +Inf
    expect(s.latencyMs.sum).toBe(7033);
    expect(s.confidence[9]).toBe(2); // 0.9 and softmax([0,5,0]) ≈ 0.987 → last bin
    expect(s.confidence[3]).toBe(1); // 1/3
    expect(s.entropy[9]).toBe(1); // uniform: normalised entropy 1
    expect(() => m.record({ latencyMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => m.record({ latencyMs: 1, probs: [1, 0] })).toThrow(/expected numClasses = 3/);
    m.reset();
    expect(m.snapshot().count).toBe(0);
  });

  it('measures input drift with PSI against a reference', () => {
    expect(psi([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.4 * Math.log(1.8) + 0.4 * Math.log(5), 10);
    const rng = new Rng(5);
    const reference = createDriftReference(
      Array.from({ length: 1000 }, () => gaussian(rng, 64, 0, 1)),
      10,
    );
    expect(reference.expected[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const same = new Monitor({ numClasses: 2, reference });
    const shifted = new Monitor({ numClasses: 2, reference });
    for (let i = 0; i < 1000; i++) {
      same.record({ latencyMs: 1, input: gaussian(rng, 64, 0, 1) });
      shifted.record({ latencyMs: 1, input: gaussian(rng, 64, 0.5, 1.5) });
    }
    expect(same.snapshot().drift!.mean).toBeLessThan(0.1);
    expect(same.snapshot().drift!.std).toBeLessThan(0.1);
    expect(shifted.snapshot().drift!.mean).toBeGreaterThan(0.25);
    expect(shifted.snapshot().drift!.std).toBeGreaterThan(0.25);
  });

  it('never stores raw inputs or outputs: constant size, no values in snapshots', () => {
    const rng = new Rng(9);
    const reference = createDriftReference(Array.from({ length: 50 }, () => gaussian(rng, 32, 0, 1)));
    const m = new Monitor({ numClasses: 4, reference });
    const marker = 12345.678;
    const sizeOf = () =>
      Object.values(m).reduce(
        (n: number, v) => n + (ArrayBuffer.isView(v) ? (v as Float64Array).length : 1),
        0,
      );
    const record = () => {
      const input = gaussian(rng, 32, 0, 1);
      input[7] = marker;
      m.record({ latencyMs: 2.5, probs: [0.123457, 0.2, 0.3, 0.376543], input });
    };
    record();
    const size1 = sizeOf();
    const json1 = JSON.stringify(m.snapshot()).length;
    for (let i = 0; i < 5000; i++) record();
    expect(sizeOf()).toBe(size1);
    const json = JSON.stringify(m.snapshot());
    expect(json.length).toBeLessThan(json1 + 64);
    expect(json.length).toBeLessThan(1024);
    const everything = `${json}${m.toOpenMetrics()}${JSON.stringify(m)}`;
    expect(everything).not.toContain('12345');
    expect(everything).not.toContain('0.123457');
  });

  it('writes OpenMetrics text that prometheus_client parses, with the same numbers', () => {
    const rng = new Rng(1);
    const reference = createDriftReference(Array.from({ length: 50 }, () => gaussian(rng, 16, 0, 1)));
    const m = new Monitor({ numClasses: 3, labels: ['a "quoted"', 'b\\c', 'new\nline'], reference });
    for (let i = 0; i < 200; i++) {
      m.record({
        latencyMs: rng.next() * 80,
        logits: [rng.next() * 4, rng.next() * 4, rng.next()],
        input: gaussian(rng, 16, 0, 1),
      });
    }
    const text = m.toOpenMetrics();
    expect(text.endsWith('# EOF\n')).toBe(true);
    const fams = parseOpenMetrics(text);
    const byName = Object.fromEntries(fams.map((f) => [f.name, f]));
    expect(byName.tinyvision_inference_latency_seconds?.type).toBe('histogram');
    const lat = byName.tinyvision_inference_latency_seconds!.samples;
    expect(lat.find((x) => x[0].endsWith('_count'))![2]).toBe(200);
    expect(lat.find((x) => x[1].le === '+Inf')![2]).toBe(200);
    expect(lat.find((x) => x[1].le === '0.05')![2]).toBe(m.snapshot().latencyMs.cumulative[5]);
    const preds = byName.tinyvision_predictions!;
    expect(preds.type).toBe('counter');
    const s = m.snapshot();
    expect(Object.fromEntries(preds.samples.map((x) => [x[1].class, x[2]]))).toEqual(s.classes);
    expect(byName.tinyvision_input_drift_psi?.samples.map((x) => x[2])).toEqual([
      s.drift!.mean,
      s.drift!.std,
    ]);
    expect(byName.tinyvision_prediction_entropy?.type).toBe('histogram');
  });
});
