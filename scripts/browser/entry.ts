// Browser entry of `npm run test:browser`: registers the backends and exposes `tvRun` to the runner, which
// calls it once per backend through Playwright. Fixtures are fetched from the runner's server.
import { cpu } from '@tinyvision/backend-cpu';
import { type WebGlBackend, webgl } from '@tinyvision/backend-webgl';
import { type WebGpuBackend, webgpu } from '@tinyvision/backend-webgpu';
import { registerBackend, useBackend } from '@tinyvision/tensor';
import {
  type AsyncCaseResult,
  type AsyncConformanceOptions,
  runConformanceAsync,
} from '../../packages/backends/webgpu/src/testing/async-conformance.js';

interface RunConfig {
  readonly backend: string;
  readonly families: readonly string[];
  readonly filter?: string;
}

interface RunOutput {
  readonly backend: string;
  readonly info: Record<string, unknown>;
  readonly selfCheck?: readonly string[];
  readonly results: AsyncCaseResult[];
  readonly ms: number;
}

registerBackend(cpu());
registerBackend(webgpu());
registerBackend(webgl());

/** Family packs from the runner (`/pack/<family>`): all of a family's fixture files in one response. */
const packs = new Map<string, Promise<{ index: Record<string, [number, number]>; bytes: Uint8Array }>>();

async function fetchPack(family: string) {
  const r = await fetch(`/pack/${encodeURIComponent(family)}`);
  if (!r.ok) throw new Error(`GET /pack/${family}: ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  const len = new DataView(bytes.buffer).getUint32(0, true);
  const index = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len))) as Record<
    string,
    [number, number]
  >;
  return { index, bytes: bytes.subarray(4 + len) };
}

async function readFile(path: string): Promise<Uint8Array> {
  const family = path.split('/')[0]!;
  let p = packs.get(family);
  if (!p) {
    p = fetchPack(family);
    packs.set(family, p);
  }
  const { index, bytes } = await p;
  const at = index[path];
  if (!at) throw new Error(`fixture ${path} is not in the ${family} pack`);
  return bytes.slice(at[0], at[0] + at[1]);
}

function sum(m: Map<string, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}

async function tvRun(cfg: RunConfig): Promise<RunOutput> {
  const t0 = performance.now();
  const b = await useBackend(cfg.backend);
  const re = cfg.filter ? new RegExp(cfg.filter) : undefined;
  let hooks: Partial<AsyncConformanceOptions> = {};
  if (b.name === 'webgpu') {
    const g = b as WebGpuBackend;
    hooks = {
      retryCode: 'WEBGPU_HOST_READ',
      beforeCase: () => g.resetPlacement(),
      beforeAttempt: () => g.resetStats(),
      placement: () => ({ accel: sum(g.stats.gpu), host: sum(g.stats.host) }),
      track: () => g.trackAllocations(),
    };
  } else if (b.name === 'webgl') {
    const g = b as WebGlBackend;
    hooks = {
      beforeAttempt: () => g.resetStats(),
      placement: () => ({ accel: sum(g.stats.gpu), host: sum(g.stats.host) }),
    };
  }
  const results = await runConformanceAsync({
    ...hooks,
    families: cfg.families,
    filter: re ? (f, n) => re.test(`${f}/${n}`) : undefined,
    readFile,
  });
  const check = await b.selfCheck?.();
  return {
    backend: b.name,
    info: { ...(b.info?.() ?? {}), userAgent: navigator.userAgent },
    selfCheck: check?.details,
    results,
    ms: performance.now() - t0,
  };
}

(globalThis as { tvRun?: typeof tvRun }).tvRun = tvRun;
(globalThis as { tvReady?: boolean }).tvReady = true;
