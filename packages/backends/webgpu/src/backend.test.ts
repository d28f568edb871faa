import { existsSync } from 'node:fs';
import { cpu } from '@tinyvision/backend-cpu';
import {
  BackendInitError,
  erf,
  getBackend,
  registerBackend,
  relu,
  tensor,
  useBackend,
} from '@tinyvision/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from './backend.js';
import { acquireDevice } from './device.js';
import { HostReadRequiredError, WebGpuError } from './errors.js';
import { webgpuKernels } from './kernels/index.js';
import { createWebGpuBackend, runWithFallback, webgpu } from './register.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

/** A backend without the init self-check (fast; each test that breaks its device gets its own). */
async function bare(): Promise<WebGpuBackend> {
  const b = new WebGpuBackend(await acquireDevice());
  b.kernels = webgpuKernels() as never;
  return b;
}

describe('webgpu backend (Dawn + SwiftShader)', () => {
  let active: WebGpuBackend;
  beforeAll(async () => {
    registerBackend(cpu());
    registerBackend(webgpu());
    // Automatic choice: webgpu (priority 5) wins over cpu (1) when its self-check passes.
    active = (await useBackend(undefined, { selfCheck: true })) as WebGpuBackend;
  }, 120_000);
  afterAll(() => active?.dispose());

  it('is chosen automatically and reports its adapter and self-check', async () => {
    expect(getBackend().name).toBe('webgpu');
    expect(active.info().adapter).toMatch(/swiftshader/i);
    expect(active.info().shaderF16).toBe(false);
    const check = await active.selfCheck();
    expect(check.ok).toBe(true);
    expect(check.details.length).toBeGreaterThanOrEqual(5);
  });

  it('has no readSync: GPU data is read asynchronously', async () => {
    expect('readSync' in active).toBe(false);
    const y = relu(tensor([-1, 2, Number.NaN]));
    expect(Array.from(await y.data())).toEqual([0, 2, Number.NaN]);
    expect(() => y.dataSync()).toThrow(/cannot read synchronously/);
  });

  it('a CPU-reference kernel on a GPU-only input demotes its producer; runWithFallback retries', async () => {
    active.resetPlacement();
    const x = tensor([-1, 0.5, 2]);
    expect(() => erf(relu(x))).toThrow(HostReadRequiredError);
    expect(active.demoted.has('Relu')).toBe(true);
    active.resetPlacement();
    active.resetStats();
    const y = await runWithFallback(active, () => erf(relu(x)));
    const got = Array.from(await y.data());
    [0, 0.5204998778, 0.995322265].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    expect(active.stats.host.get('Erf')).toBeGreaterThan(0);
  });
});

describe('webgpu failures are typed errors, never numbers', () => {
  it('a shader that does not compile fails the next read with WebGpuError(validation)', async () => {
    const b = await bare();
    const { info, buffer } = b.alloc([4], 'Broken');
    b.dispatch({ code: 'this is not WGSL', buffers: [buffer], params: new Int32Array([4]), groups: 1 });
    await expect(b.read(info.handle as never)).rejects.toSatisfy(
      (e: unknown) => WebGpuError.isInstance(e) && (e as WebGpuError).reason === 'validation',
    );
    expect(() => b.dispatch({ code: 'x', buffers: [], params: new Int32Array(1), groups: 1 })).toThrow(
      WebGpuError,
    );
    b.dispose();
  }, 60_000);

  it('a lost device fails reads and kernels with WebGpuError(device-lost)', async () => {
    const b = await bare();
    const h = b.write(new Float32Array([1, 2]), 'float32');
    b.device.destroy();
    await b.device.lost;
    await expect(b.read(h)).rejects.toSatisfy(
      (e: unknown) => WebGpuError.isInstance(e) && (e as WebGpuError).reason === 'device-lost',
    );
    await expect(b.sync()).rejects.toThrow(/device lost/);
  }, 60_000);

  it('no WebGPU implementation is a BackendInitError', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createWebGpuBackend({ gpu })).rejects.toThrow(BackendInitError);
    await expect(createWebGpuBackend({ gpu })).rejects.toThrow(/no adapter/);
  });
});
