import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Backend } from '@tinyvision/tensor';
import { registerBackend } from '@tinyvision/tensor';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { capture } from './__fixtures__/capture.js';
import {
  collectDoctorReport,
  type DoctorReport,
  formatDoctorReport,
  runDoctor,
} from './commands/doctor-report.js';
import { main } from './program.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgVersion = (JSON.parse(readFileSync(join(here, '../package.json'), 'utf8')) as { version: string })
  .version;

afterEach(() => resetRegistry());

describe('tinyvision (in-process)', () => {
  it('doctor --json reports cpu available with a passing self-check', async () => {
    const io = capture();
    expect(await main(['doctor', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout()) as DoctorReport;
    expect(r.ok).toBe(true);
    expect(r.version).toBe(pkgVersion);
    const cpu = r.backends.find((b) => b.name === 'cpu')!;
    expect(cpu).toMatchObject({ installed: true, available: true, selfCheck: { ok: true } });
    expect(typeof cpu.threads).toBe('number');
    expect(typeof cpu.simd).toBe('boolean');
    // Every plugin package is installed in the monorepo; each is available or says why not.
    for (const name of ['wasm', 'webgpu', 'webgl', 'webnn']) {
      const b = r.backends.find((x) => x.name === name)!;
      expect(b.installed, name).toBe(true);
      expect(b.available || (b.error ?? '').length > 0, name).toBe(true);
    }
    expect(r.backends.find((b) => b.name === 'wasm')).toMatchObject({ available: true, simd: true });
    expect(r.backends.find((b) => b.name === 'webnn')).toMatchObject({ available: false });
    expect(r.backends.find((b) => b.name === 'webnn')!.error).toMatch(/WebNN not available/);
    expect(r.environment.node).toBe(process.versions.node);
    expect(r.environment.cpuCount).toBeGreaterThan(0);
    // Node 20+ validates SIMD and shared-memory modules; Node 20 has no navigator.gpu
    expect(r.environment.wasmSimd).toBe(true);
    expect(r.environment.wasmThreads).toBe(true);
    expect(r.environment.webgpu).toBe('gpu' in ((globalThis as { navigator?: object }).navigator ?? {}));
  });

  it('doctor prints a table naming every backend', async () => {
    const io = capture();
    expect(await main(['doctor'], io)).toBe(0);
    expect(io.stdout()).toMatch(/^ {2}cpu +yes +1 +ok +1 +no$/m);
    expect(io.stdout()).toMatch(/^ {2}webnn +no +-1/m);
    expect(io.stdout()).toMatch(/^ {2}webgpu +(yes|no)/m);
    expect(io.stdout()).toMatch(/WebGPU +absent/);
  });

  it('doctor exits 1 when no backend can initialise', async () => {
    registerBackend({
      name: 'cpu',
      priority: 100,
      create() {
        throw new Error('boom: no memory');
      },
    });
    // No plugin packages either (as in an install of the CLI alone).
    const load = async (name: string): Promise<unknown> => {
      throw Object.assign(new Error(`Cannot find package '@tinyvision/backend-${name}'`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    };
    const io = capture();
    expect(await runDoctor('1.0.0', { json: true, io, load })).toBe(1);
    const r = JSON.parse(io.stdout()) as DoctorReport;
    expect(r.ok).toBe(false);
    expect(r.backends.filter((b) => b.name !== 'cpu').every((b) => b.error === 'not installed')).toBe(true);
    expect(r.backends.find((b) => b.name === 'cpu')).toMatchObject({
      available: false,
      error: 'boom: no memory',
    });
  });

  it('registers installed plugins, reports failing self-checks and load errors', async () => {
    const failing = {
      specificationVersion: 'v1',
      name: 'wasm',
      kernels: [],
      dispose() {},
      info: () => ({ threads: 4, simd: true }),
      selfCheck: async () => ({ ok: false, details: ['Add: max abs diff 0.5'] }),
    } as unknown as Backend;
    const load = async (name: string): Promise<unknown> => {
      if (name === 'wasm') return { wasm: () => ({ name: 'wasm', priority: 10, create: () => failing }) };
      if (name === 'webgl') throw new Error('SyntaxError in plugin');
      if (name === 'webnn') return {};
      throw Object.assign(new Error(`Cannot find package '@tinyvision/backend-${name}'`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    };
    const r = await collectDoctorReport('1.2.3', { load });
    expect(r.ok).toBe(false);
    expect(r.backends.map((b) => b.name)).toEqual(['wasm', 'cpu', 'webgpu', 'webgl', 'webnn']);
    expect(r.backends[0]).toMatchObject({ available: true, priority: 10, threads: 4, simd: true });
    expect(r.backends[0]!.selfCheck?.ok).toBe(false);
    expect(r.backends.find((b) => b.name === 'webgpu')!.error).toBe('not installed');
    expect(r.backends.find((b) => b.name === 'webgl')!.error).toMatch(
      /failed to load.*SyntaxError in plugin/,
    );
    expect(r.backends.find((b) => b.name === 'webnn')!.error).toMatch(/does not export a 'webnn\(\)'/);
    const text = formatDoctorReport(r);
    expect(text).toMatch(/wasm self-check: Add: max abs diff 0\.5/);
    expect(text).toMatch(/^ {2}webgl +load error/m);
  });

  it('--version prints the package.json version', async () => {
    const io = capture();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdout().trim()).toBe(pkgVersion);
  });

  it('an unknown command fails with a suggestion', async () => {
    const io = capture();
    expect(await main(['docter'], io)).not.toBe(0);
    expect(io.stderr()).toMatch(/unknown command 'docter'/);
    expect(io.stderr()).toMatch(/Did you mean doctor\?/);
  });
});

describe('tinyvision (child process via tsx)', () => {
  const run = promisify(execFile);
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const bin = join(here, 'bin.ts');
  const exec = (args: string[]) =>
    run(process.execPath, [tsxCli, '--conditions=@tinyvision/source', bin, ...args], {
      env: { ...process.env },
    });

  it('doctor --json prints one JSON object, cpu ok, exit 0', async () => {
    const { stdout } = await exec(['doctor', '--json']);
    const r = JSON.parse(stdout) as DoctorReport;
    expect(r.ok).toBe(true);
    expect(r.backends.find((b) => b.name === 'cpu')).toMatchObject({
      available: true,
      selfCheck: { ok: true },
    });
  });

  it('--version prints the package.json version', async () => {
    const { stdout } = await exec(['--version']);
    expect(stdout.trim()).toBe(pkgVersion);
  });

  it('an unknown command exits non-zero with a helpful message', async () => {
    const err = (await exec(['frobnicate']).catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(err.stderr).toMatch(/tinyvision --help/);
  });
});
