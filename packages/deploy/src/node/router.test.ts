import { createServer } from 'node:http';
import { cpu } from '@tinyvision/backend-cpu';
import { decodeTvm, registerBackend, runGraph, tensor } from '@tinyvision/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_INPUT, tinyModel } from '../__fixtures__/helpers.js';
import { Monitor } from '../monitor.js';
import { graphPredictor, HybridRouter, httpPredictor, type Predictor, toPrediction } from '../router.js';
import { serveModel } from './serve-model.js';
import { listen, type RunningServer } from './update-server.js';

registerBackend(cpu());

const labels = ['a', 'b', 'c', 'd'];
const edge = tinyModel(41, 8);
const cloud = tinyModel(42, 64);
let srv: RunningServer;

beforeAll(async () => {
  srv = await serveModel(decodeTvm(cloud.bytes), { labels });
});
afterAll(() => srv?.close());

describe('tinyvision serve (inference server)', () => {
  it('answers POST /predict with the model output as JSON', async () => {
    const res = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: JSON.stringify({ input: HEALTH_INPUT }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      output: number[];
      shape: number[];
      top: number;
      label: string;
      probs: number[];
    };
    const want = Array.from(
      runGraph(decodeTvm(cloud.bytes), [tensor(HEALTH_INPUT, [1, 16])]).outputs[0]!.dataSync(),
    );
    expect(body.shape).toEqual([1, 4]);
    body.output.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    expect(body.label).toBe(labels[body.top]);
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
  });

  it('rejects bad requests with 4xx and a message', async () => {
    const post = (body: string) => fetch(`${srv.url}/predict`, { method: 'POST', body });
    const bad = await post('{nope');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not valid JSON/);
    expect((await post(JSON.stringify({ input: ['x'] }))).status).toBe(400);
    const shape = await post(JSON.stringify({ input: [1, 2, 3] }));
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as { code: string }).code).toBe('SHAPE');
    expect((await fetch(`${srv.url}/predict`)).status).toBe(405);
    expect((await fetch(`${srv.url}/nothing`)).status).toBe(404);
  });
});

describe('HybridRouter', () => {
  const local = graphPredictor(decodeTvm(edge.bytes), labels);

  it('answers locally when confident and offloads below the threshold', async () => {
    const remotePred = httpPredictor(srv.url);
    const l = await local(HEALTH_INPUT, [1, 16]);
    const r = await remotePred(HEALTH_INPUT, [1, 16]);
    const confident = new HybridRouter({ local, remote: remotePred, threshold: 0 });
    const a = await confident.predict(HEALTH_INPUT, [1, 16]);
    expect(a).toMatchObject({ source: 'local', reason: 'confident', top: l.top });
    const offload = new HybridRouter({ local, remote: remotePred, threshold: 1.01 });
    const b = await offload.predict(HEALTH_INPUT, [1, 16]);
    expect(b).toMatchObject({ source: 'remote', reason: 'offloaded', top: r.top, label: labels[r.top] });
    expect(b.probs).toEqual(r.probs);
    expect(b.local.probs).toEqual(l.probs);
    expect(offload.stats()).toEqual({ confident: 0, offloaded: 1, budgetExhausted: 0, fallbacks: 0 });
    const monitor = new Monitor({ numClasses: 4, labels });
    const watched = new HybridRouter({ local, remote: remotePred, threshold: 0, monitor });
    await watched.predict(HEALTH_INPUT, [1, 16]);
    await watched.predict(HEALTH_INPUT, [1, 16]);
    expect(monitor.snapshot().count).toBe(2);
    expect(monitor.snapshot().classes[labels[l.top]!]).toBe(2);
  });

  it('respects the offload budget per window', async () => {
    let t = 0;
    const router = new HybridRouter({
      local,
      remote: httpPredictor(srv.url),
      threshold: 2,
      budget: { maxRequests: 2, windowMs: 1000 },
      now: () => t,
    });
    const reasons = [];
    for (let i = 0; i < 4; i++) reasons.push((await router.predict(HEALTH_INPUT, [1, 16])).reason);
    t = 1500;
    reasons.push((await router.predict(HEALTH_INPUT, [1, 16])).reason);
    expect(reasons).toEqual(['offloaded', 'offloaded', 'budget-exhausted', 'budget-exhausted', 'offloaded']);
  });

  it('falls back to the local answer when the server is offline, failing or too slow', async () => {
    const l = await local(HEALTH_INPUT, [1, 16]);
    const dead = await serveModel(decodeTvm(cloud.bytes));
    await dead.close(); // nothing listens on that port any more
    const offline = new HybridRouter({ local, remote: httpPredictor(dead.url), threshold: 2 });
    expect(await offline.predict(HEALTH_INPUT, [1, 16])).toMatchObject({
      source: 'local',
      reason: 'remote-failed',
      probs: l.probs,
    });
    const failing: Predictor = async () => {
      throw new Error('500');
    };
    expect(
      (await new HybridRouter({ local, remote: failing, threshold: 2 }).predict(HEALTH_INPUT, [1, 16]))
        .reason,
    ).toBe('remote-failed');
    const slowServer = createServer((_req, res) => {
      setTimeout(() => res.end(JSON.stringify({ probs: [1, 0, 0, 0] })), 3000).unref();
    });
    const slow = await listen(slowServer, {});
    try {
      const router = new HybridRouter({
        local,
        remote: httpPredictor(slow.url),
        threshold: 2,
        timeoutMs: 150,
      });
      const t0 = performance.now();
      const r = await router.predict(HEALTH_INPUT, [1, 16]);
      expect(r).toMatchObject({ source: 'local', reason: 'remote-timeout' });
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(router.stats().fallbacks).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('toPrediction applies softmax to logits and keeps probabilities', () => {
    expect(toPrediction([0.2, 0.8]).probs).toEqual([0.2, 0.8]);
    const p = toPrediction([1, 3, 2], ['x', 'y', 'z']);
    expect(p.label).toBe('y');
    expect(p.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});
