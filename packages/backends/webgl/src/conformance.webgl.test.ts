import { cpu } from '@tinyvision/backend-cpu';
import { findBackend, registerBackend } from '@tinyvision/tensor';
import { runConformance } from '@tinyvision/tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type WebGlBackend, webgl } from './index.js';

// In Node there is no WebGL (the headless `gl` package is not installed), so gpu.js runs the same kernels in
// its own fallback mode (WebAssembly); the browser runner (`npm run test:browser`) runs them as WebGL2 shaders.
registerBackend(cpu());
runConformance({ backend: webgl() });

describe('webgl backend in Node', () => {
  it('reports the gpu.js mode and runs its kernels through gpu.js', () => {
    const b = findBackend('webgl') as WebGlBackend;
    expect(['webasm', 'cpu', 'headlessgl', 'webgl', 'webgl2']).toContain(b.mode);
    expect(b.stats.gpu.get('MatMul') ?? 0).toBeGreaterThan(0);
    expect(b.stats.gpu.get('Conv2D') ?? 0).toBeGreaterThan(0);
  });
});

afterAll(() => {
  const b = findBackend('webgl') as WebGlBackend | undefined;
  if (!b) return;
  const total = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  process.stdout.write(
    `webgl (gpu.js mode '${b.mode}'): ${total(b.stats.gpu)} kernel runs through gpu.js, ${total(b.stats.host)} on the CPU reference\n`,
  );
});
