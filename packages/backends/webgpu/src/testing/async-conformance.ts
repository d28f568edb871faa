import {
  type DType,
  fromStorage,
  isFloat,
  noGrad,
  parseNpy,
  type Tensor,
  type TypedArray,
  toFloat32,
} from '@tinyvision/tensor';
import {
  ADAPTERS,
  compareClose,
  DEFAULT_TOLERANCE,
  type FixtureArray,
  type FixtureCase,
  type Tolerance,
} from '@tinyvision/tensor/testing';

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const MAX_ATTEMPTS = 12;

/** Where a passing case's kernels ran. @internal */
export type Placement = 'gpu' | 'mixed' | 'host';

/** One case's outcome. @internal */
export interface AsyncCaseResult {
  /** Fixture family. */
  readonly family: string;
  /** Case name. */
  readonly name: string;
  /** Outcome. */
  readonly status: 'pass' | 'fail' | 'skip';
  /** Kernel placement (pass/fail only): all on the accelerator, some, or none (CPU reference). */
  readonly placement?: Placement;
  /** Attempts (more than 1 when a CPU-reference kernel needed GPU-only data). */
  readonly attempts?: number;
  /** Failure message or skip reason. */
  readonly message?: string;
  /** Wall time of the case (ms). */
  readonly ms?: number;
}

/** Backend hooks of {@link runConformanceAsync}. @internal */
export interface AsyncConformanceOptions {
  /** Reads a file under the fixtures root, e.g. `conv/manifest.json`. */
  readFile(path: string): Promise<Uint8Array>;
  /** Families to run. */
  readonly families: readonly string[];
  /** `family/case`, `family/op/*` or `family/*` → reason. */
  readonly skip?: Readonly<Record<string, string>>;
  /** Case-name filter. */
  readonly filter?: (family: string, name: string) => boolean;
  /** Called before each case (reset placement and counters). */
  beforeCase?(): void;
  /** Called before each attempt of a case (reset counters, keep placement). */
  beforeAttempt?(): void;
  /** Kernel runs on the accelerator and on the CPU reference since `beforeCase`. */
  placement?(): { accel: number; host: number };
  /** Starts recording allocations; the returned function frees them. */
  track?(): () => void;
  /** Error code that means "retry the case" (e.g. `WEBGPU_HOST_READ`). */
  readonly retryCode?: string;
  /** Check gradients too (default true). */
  readonly grads?: boolean;
  /** Progress callback. */
  onResult?(r: AsyncCaseResult): void;
}

function skipReason(
  skip: Readonly<Record<string, string>>,
  family: string,
  name: string,
): string | undefined {
  return skip[`${family}/${name}`] ?? skip[`${family}/${name.split('/')[0]}/*`] ?? skip[`${family}/*`];
}

interface Loaded {
  readonly data: TypedArray;
  readonly a: FixtureArray;
}

async function load(opts: AsyncConformanceOptions, dir: string, a: FixtureArray): Promise<Loaded> {
  const npy = parseNpy(await opts.readFile(`${dir}/${a.file}`), a.file, a.dtype);
  if (npy.dtype !== a.dtype && !(a.dtype === 'bool' && npy.dtype === 'uint8')) {
    throw new Error(`fixture ${dir}/${a.file}: dtype ${npy.dtype} cannot be read as ${a.dtype}`);
  }
  return { data: npy.data, a };
}

function make(l: Loaded): Tensor {
  return fromStorage(l.data.slice(), l.a.shape, l.a.dtype);
}

function asFloat(v: TypedArray, dtype: DType): ArrayLike<number> {
  return isFloat(dtype) ? toFloat32(v, dtype) : v;
}

interface Pending {
  readonly what: string;
  readonly t: Tensor;
  readonly want: Loaded;
  readonly tol: Tolerance;
}

/** The synchronous part of a case: runs forward and backward, returns the tensors to compare. */
function compute(
  c: FixtureCase,
  ins: (Loaded | null)[],
  extra: Map<string, Loaded>,
  grads: boolean,
): Pending[] {
  const adapter = ADAPTERS[c.op];
  if (!adapter) throw new Error(`no adapter for op '${c.op}'`);
  const inputs = ins.map((l) => (l ? make(l) : null));
  const wantGrad = grads && c.grads !== undefined && c.gouts !== undefined;
  if (wantGrad) c.grads!.forEach((g, i) => g && inputs[i]!.requiresGrad_());
  const run = () => adapter(inputs, c.attrs);
  const y = wantGrad ? run() : noGrad(run);
  const outs = Array.isArray(y) ? y : [y];
  if (outs.length !== c.outputs.length)
    throw new Error(`output count ${outs.length}, expected ${c.outputs.length}`);
  const pending: Pending[] = c.outputs.map((o, k) => ({
    what: `output ${k}`,
    t: outs[k]!,
    want: extra.get(o.file)!,
    tol: c.tol ?? DEFAULT_TOLERANCE[o.dtype],
  }));
  if (wantGrad) {
    const diff = outs.filter((o) => isFloat(o.dtype) && o.requiresGrad);
    const gouts = c.gouts!.map((g) => make(extra.get(g.file)!));
    if (diff.length !== gouts.length)
      throw new Error(`differentiable outputs ${diff.length}, expected ${gouts.length}`);
    diff.forEach((o, k) => o.backward(gouts[k], { retainGraph: k < diff.length - 1 }));
    c.grads!.forEach((g, i) => {
      if (!g) return;
      const got = inputs[i]!.grad;
      if (!got) throw new Error(`gradient of input ${i} is missing`);
      pending.push({
        what: `grad ${i}`,
        t: got,
        want: extra.get(g.file)!,
        tol: c.grad_tol ?? GRAD_TOLERANCE,
      });
    });
  }
  return pending;
}

async function check(p: Pending): Promise<string | null> {
  const { t, want } = p;
  if (t.shape.join() !== want.a.shape.join()) return `${p.what}: shape [${t.shape}] vs [${want.a.shape}]`;
  if (t.dtype !== want.a.dtype) return `${p.what}: dtype ${t.dtype} vs ${want.a.dtype}`;
  const bad = compareClose(asFloat(await t.data(), t.dtype), asFloat(want.data, want.a.dtype), p.tol);
  if (!bad) return null;
  return `${p.what}: element ${bad.index}: got ${bad.actual}, expected ${bad.expected} (rtol ${p.tol.rtol}, atol ${p.tol.atol}); ${bad.count} mismatches`;
}

/**
 * Runs the torch-generated conformance cases on the active backend with asynchronous reads (for backends without
 * `readSync`, in Node or in a browser). Forward outputs and gradients are compared like `runConformance` does;
 * the finite-difference checks (a property of autograd, not of kernels) are left to the CPU suite.
 * @param opts - fixture reader, families, skip list and backend hooks
 * @returns one result per case
 * @internal
 */
export async function runConformanceAsync(opts: AsyncConformanceOptions): Promise<AsyncCaseResult[]> {
  const dec = new TextDecoder();
  const results: AsyncCaseResult[] = [];
  const emit = (r: AsyncCaseResult) => {
    results.push(r);
    opts.onResult?.(r);
  };
  for (const family of opts.families) {
    const manifest = JSON.parse(dec.decode(await opts.readFile(`${family}/manifest.json`))) as {
      cases: FixtureCase[];
    };
    for (const c of manifest.cases) {
      if (opts.filter && !opts.filter(family, c.name)) continue;
      const reason = skipReason(opts.skip ?? {}, family, c.name);
      if (reason) {
        emit({ family, name: c.name, status: 'skip', message: reason });
        continue;
      }
      const dir = `${family}/${c.name.replaceAll('/', '__')}`;
      let ins: (Loaded | null)[];
      const extra = new Map<string, Loaded>();
      try {
        ins = await Promise.all(c.inputs.map((a) => (a ? load(opts, dir, a) : null)));
        for (const a of [...c.outputs, ...(c.gouts ?? []), ...(c.grads ?? [])]) {
          if (a) extra.set(a.file, await load(opts, dir, a));
        }
      } catch (e) {
        emit({ family, name: c.name, status: 'fail', message: `fixture: ${String(e)}` });
        continue;
      }
      opts.beforeCase?.();
      const t0 = performance.now();
      let message: string | null = null;
      let attempts = 0;
      for (;;) {
        attempts++;
        opts.beforeAttempt?.();
        const release = opts.track?.();
        try {
          const pending = compute(c, ins, extra, opts.grads ?? true);
          const errs: string[] = [];
          for (const p of pending) {
            const m = await check(p);
            if (m) errs.push(m);
          }
          message = errs.length ? errs.join('; ') : null;
          release?.();
          break;
        } catch (e) {
          release?.();
          const code = (e as { code?: string }).code;
          if (opts.retryCode && code === opts.retryCode && attempts < MAX_ATTEMPTS) continue;
          message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          break;
        }
      }
      const pl = opts.placement?.();
      const placement: Placement | undefined = pl
        ? pl.host === 0 && pl.accel > 0
          ? 'gpu'
          : pl.accel > 0
            ? 'mixed'
            : 'host'
        : undefined;
      emit({
        family,
        name: c.name,
        status: message ? 'fail' : 'pass',
        placement,
        attempts,
        ms: Math.round(performance.now() - t0),
        ...(message ? { message } : {}),
      });
    }
  }
  return results;
}

/**
 * Counts results by status and placement, one line per family plus a total. @internal
 * @param label - backend label
 * @param results - case results
 * @returns the summary text
 */
export function summarize(label: string, results: readonly AsyncCaseResult[]): string {
  const fams = new Map<string, Record<string, number>>();
  const total: Record<string, number> = {};
  for (const r of results) {
    const row = fams.get(r.family) ?? {};
    fams.set(r.family, row);
    for (const k of [r.status, ...(r.status === 'pass' && r.placement ? [r.placement] : [])]) {
      row[k] = (row[k] ?? 0) + 1;
      total[k] = (total[k] ?? 0) + 1;
    }
  }
  const fmt = (r: Record<string, number>) =>
    `${String(r.pass ?? 0).padStart(4)} pass ${String(r.fail ?? 0).padStart(3)} fail ${String(r.skip ?? 0).padStart(3)} skip | passed on accelerator: ${r.gpu ?? 0} all-kernels, ${r.mixed ?? 0} mixed, ${r.host ?? 0} CPU-fallback`;
  const lines = [...fams].map(([f, r]) => `  ${f.padEnd(12)} ${fmt(r)}`);
  return `conformance[${label}]: ${fmt(total)}\n${lines.join('\n')}`;
}
