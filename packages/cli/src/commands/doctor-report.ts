import { cpu } from '@tinyvision/backend-cpu';
import {
  type BackendRegistration,
  type BackendStatus,
  findBackend,
  listBackends,
  registerBackend,
  type SelfCheckResult,
} from '@tinyvision/tensor';
import { type CliIO, processIO } from '../io.js';
import { startProgress } from '../progress.js';
import { type EnvironmentFacts, environmentFacts } from './environment.js';

/** Backend plugin packages doctor looks for besides the built-in CPU backend. */
export const OPTIONAL_BACKENDS = ['wasm', 'webgpu', 'webgl', 'webnn'] as const;

/** What doctor knows about one backend. */
export interface DoctorBackend {
  /** Backend name. */
  readonly name: string;
  /** npm package providing it. */
  readonly package: string;
  /** Whether the package could be imported. */
  readonly installed: boolean;
  /** Whether the backend initialised. */
  readonly available: boolean;
  /** Registration priority (absent when not installed). */
  readonly priority?: number;
  /** Self-check result (absent when unavailable or the backend has none). */
  readonly selfCheck?: SelfCheckResult;
  /** Worker threads (from the backend's `info()`). */
  readonly threads?: number;
  /** Whether SIMD kernels are active (from the backend's `info()`). */
  readonly simd?: boolean;
  /** Why it is not installed or not available. */
  readonly error?: string;
}

/** The full doctor report (what `--json` prints). */
export interface DoctorReport {
  /** True when at least one backend is available and every self-check that ran passed. */
  readonly ok: boolean;
  /** The CLI version. */
  readonly version: string;
  /** Runtime facts. */
  readonly environment: EnvironmentFacts;
  /** Every known backend, installed or not. */
  readonly backends: readonly DoctorBackend[];
}

type Loader = (name: string) => Promise<unknown>;

const importBackend: Loader = (name) => import(`@tinyvision/backend-${name}`);

async function loadPlugin(name: string, load: Loader): Promise<BackendRegistration | string> {
  const pkg = `@tinyvision/backend-${name}`;
  let mod: unknown;
  try {
    mod = await load(name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const msg = err instanceof Error ? err.message : String(err);
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(pkg)) {
      return 'not installed';
    }
    return `failed to load ${pkg}: ${msg}`;
  }
  const factory = (mod as Record<string, unknown>)[name];
  if (typeof factory !== 'function') return `${pkg} does not export a '${name}()' registration factory`;
  return factory() as BackendRegistration;
}

/**
 * Registers the CPU backend and every installed optional backend package, self-checks them and
 * collects the runtime facts.
 * @param version - the CLI version to report
 * @param opts - `load` replaces the dynamic import of plugin packages (tests); `io` for progress
 * @returns the report
 * @example
 * ```ts
 * const report = await collectDoctorReport('0.1.0');
 * report.backends.find((b) => b.name === 'cpu')?.available; // true
 * ```
 */
export async function collectDoctorReport(
  version: string,
  opts: { load?: Loader; io?: CliIO } = {},
): Promise<DoctorReport> {
  const load = opts.load ?? importBackend;
  const progress = startProgress(OPTIONAL_BACKENDS.length + 1, opts.io?.progressStream, 'loading backends');
  const missing = new Map<string, string>();
  const packages = new Map<string, string>([['cpu', '@tinyvision/backend-cpu']]);
  registerBackend(cpu());
  try {
    for (const name of OPTIONAL_BACKENDS) {
      packages.set(name, `@tinyvision/backend-${name}`);
      const reg = await loadPlugin(name, load);
      if (typeof reg === 'string') missing.set(name, reg);
      else registerBackend(reg);
      progress.tick(name === OPTIONAL_BACKENDS.at(-1) ? 'self-checks' : 'loading backends');
    }
    const statuses = await listBackends({ selfCheck: true });
    progress.tick();
    const backends = [
      ...statuses.map((s) => describeStatus(s, packages)),
      ...[...missing].map(([n, e]) => absent(n, e)),
    ];
    const available = backends.filter((b) => b.available);
    const ok = available.length > 0 && available.every((b) => b.selfCheck?.ok !== false);
    return { ok, version, environment: environmentFacts(), backends };
  } finally {
    progress.stop();
  }
}

function describeStatus(s: BackendStatus, packages: Map<string, string>): DoctorBackend {
  const info = s.available ? findBackend(s.name)?.info?.() : undefined;
  return {
    name: s.name,
    package: packages.get(s.name) ?? 'unknown (registered by another package)',
    installed: true,
    available: s.available,
    priority: s.priority,
    ...(s.selfCheck ? { selfCheck: s.selfCheck } : {}),
    ...(info ? { threads: info.threads, simd: info.simd } : {}),
    ...(s.error ? { error: s.error } : {}),
  };
}

function absent(name: string, error: string): DoctorBackend {
  return { name, package: `@tinyvision/backend-${name}`, installed: false, available: false, error };
}

const yn = (b: boolean | undefined): string => (b === undefined ? '-' : b ? 'yes' : 'no');

/**
 * Formats a doctor report as the human-readable text `tinyvision doctor` prints.
 * @param r - the report
 * @returns text ending in a newline
 * @example
 * ```ts
 * process.stdout.write(formatDoctorReport(await collectDoctorReport('0.1.0')));
 * ```
 */
export function formatDoctorReport(r: DoctorReport): string {
  const e = r.environment;
  const lines = [
    `tinyvision doctor (cli ${r.version})`,
    '',
    'Environment',
    `  node               ${e.node}`,
    `  platform           ${e.platform} ${e.arch}`,
    `  cpu                ${e.cpuModel} (${e.cpuCount} logical)`,
    `  WebAssembly        ${yn(e.webAssembly)} (SIMD: ${yn(e.wasmSimd)}, threads: ${yn(e.wasmThreads)})`,
    `  SharedArrayBuffer  ${yn(e.sharedArrayBuffer)}`,
    `  WebGPU             ${e.webgpu ? 'present' : 'absent (no navigator.gpu)'}`,
    '',
    'Backends',
  ];
  const rows = [['name', 'available', 'priority', 'self-check', 'threads', 'simd']];
  const notes: string[] = [];
  for (const b of r.backends) {
    if (!b.installed) {
      rows.push([b.name, b.error === 'not installed' ? 'not installed' : 'load error', '-', '-', '-', '-']);
    } else {
      const check = b.selfCheck ? (b.selfCheck.ok ? 'ok' : 'FAILED') : b.available ? 'none' : '-';
      rows.push([b.name, yn(b.available), String(b.priority), check, String(b.threads ?? '-'), yn(b.simd)]);
      if (b.selfCheck && !b.selfCheck.ok)
        notes.push(`  ${b.name} self-check: ${b.selfCheck.details.join('; ')}`);
    }
    if (b.error && b.error !== 'not installed') notes.push(`  ${b.name}: ${b.error}`);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows)
    lines.push(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
  if (notes.length > 0) lines.push('', 'Problems', ...notes);
  lines.push('', r.ok ? 'ok' : 'no usable backend: install and register one (see the README)');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `tinyvision doctor`: prints the report (text or `--json`).
 * @param version - the CLI version
 * @param opts - `json` output and the io to write to
 * @returns the exit code: 0 ok, 1 when no backend is available or a self-check failed
 * @example
 * ```ts
 * process.exitCode = await runDoctor('0.1.0', { json: true });
 * ```
 */
export async function runDoctor(
  version: string,
  opts: { json?: boolean; io?: CliIO; load?: Loader } = {},
): Promise<number> {
  const io = opts.io ?? processIO();
  const report = await collectDoctorReport(version, {
    io: opts.json ? { ...io, progressStream: undefined } : io,
    ...(opts.load ? { load: opts.load } : {}),
  });
  io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
  return report.ok ? 0 : 1;
}
