import { resetRegistry } from '@tinyvision/tensor/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

afterEach(() => resetRegistry());

describe('tinyvision check', () => {
  it('--json reports a float MobileNetV3 as split on the Edge TPU, with what to change', async () => {
    const io = capture();
    const code = await main(
      ['check', 'mobilenet_v3_small', '--target', 'edgetpu', '--resolution', '64', '--json'],
      io,
    );
    expect(code, io.stderr()).toBe(0);
    const r = JSON.parse(io.stdout()) as {
      target: string;
      summary: { fullyOnAccelerator: boolean; precision: string; nodes: number };
      suggestions: string[];
    };
    expect(r.target).toBe('edgetpu');
    expect(r.summary.fullyOnAccelerator).toBe(false);
    expect(r.summary.precision).toBe('float');
    expect(r.suggestions[0]).toMatch(/int8/);
  });

  it('--strict exits 2 when the graph is split, 0 when it runs whole', async () => {
    expect(
      await main(
        ['check', 'mobilenet_v1', '--target', 'edgetpu', '--resolution', '64', '--strict'],
        capture(),
      ),
    ).toBe(2);
    const io = capture();
    expect(
      await main(['check', 'mobilenet_v1', '--target', 'nnapi', '--resolution', '64', '--strict'], io),
    ).toBe(0);
    expect(io.stdout()).toMatch(/runs entirely on the accelerator/);
  });

  it('bad target, model or number → exit 1 with a message', async () => {
    let io = capture();
    expect(await main(['check', 'mobilenet_v1', '--target', 'tpu'], io)).toBe(1);
    expect(io.stderr()).toMatch(/unknown target 'tpu'/);
    io = capture();
    expect(await main(['check', 'resnet50', '--target', 'nnapi'], io)).toBe(1);
    expect(io.stderr()).toMatch(/neither a model file/);
    io = capture();
    expect(await main(['check', 'mobilenet_v1', '--target', 'nnapi', '--api-level', 'x'], io)).toBe(1);
    expect(io.stderr()).toMatch(/--api-level must be a number/);
  });
});
