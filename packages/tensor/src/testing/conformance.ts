import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendRegistration } from '../backend/registry.js';
import { registerBackend, useBackend } from '../backend/registry.js';
import { fromStorage } from '../creation.js';
import { type DType, isFloat } from '../dtype.js';
import { noGrad } from '../engine.js';
import { parseNpy } from '../io/npy.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { ADAPTERS, type Adapter } from './cases/index.js';
import { finiteDifferenceCheck } from './finite-difference.js';
import { compareClose, type Tolerance } from './tolerance.js';

/** One input/output array of a fixture case. */
export interface FixtureArray {
  /** `.npy` file name inside the case folder. */
  readonly file: string;
  /** tinyvision dtype. */
  readonly dtype: DType;
  /** Shape. */
  readonly shape: readonly number[];
}

/** One torch-generated case from a family manifest. */
export interface FixtureCase {
  /** `<op>/<variant>`, unique in its family. */
  readonly name: string;
  /** Adapter name (see `testing/cases`). */
  readonly op: string;
  /** Attributes for the adapter. */
  readonly attrs: Record<string, unknown>;
  /** Inputs (null = omitted optional input). */
  readonly inputs: readonly (FixtureArray | null)[];
  /** Expected outputs. */
  readonly outputs: readonly FixtureArray[];
  /** Upstream gradients, one per differentiable output. */
  readonly gouts?: readonly FixtureArray[];
  /** Expected input gradients (null for non-differentiable inputs). */
  readonly grads?: readonly (FixtureArray | null)[];
  /** Output tolerance override. */
  readonly tol?: Tolerance;
  /** Gradient tolerance override. */
  readonly grad_tol?: Tolerance;
  /** Whether to run a finite-difference check as well. */
  readonly fd?: boolean;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** The backend under test (registered and activated before the suite). */
  readonly backend: BackendRegistration;
  /** Cases (`family/caseName` or `family/op/*` or `family/*`) to skip, each with a reason. */
  readonly skip?: Readonly<Record<string, string>>;
  /** Only these families (default: all). */
  readonly families?: readonly string[];
  /** Folder of the fixtures (default: the package's own `__fixtures__`). */
  readonly fixturesDir?: string;
}

/** Default tolerances by output dtype (f32 within 1e-5 relative, as the oracle requires). */
export const DEFAULT_TOLERANCE: Readonly<Record<DType, Tolerance>> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float16: { rtol: 1e-3, atol: 1e-3 },
  bfloat16: { rtol: 8e-3, atol: 8e-3 },
  int8: { rtol: 0, atol: 0 },
  uint8: { rtol: 0, atol: 0 },
  int32: { rtol: 0, atol: 0 },
  bool: { rtol: 0, atol: 0 },
};

const GRAD_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/**
 * Locates the fixtures folder of this package (source or built layout).
 * @returns an absolute path
 * @throws {Error} when the fixtures are missing (run `npm run fixtures`)
 */
export function defaultFixturesDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const c of [
    join(here, 'testing', '__fixtures__'),
    join(here, '__fixtures__'),
    join(here, '..', 'src', 'testing', '__fixtures__'),
  ]) {
    if (existsSync(c)) return c;
  }
  throw new Error(`conformance fixtures not found near ${here}; run 'npm run fixtures'`);
}

/**
 * Loads every family manifest.
 * @param dir - fixtures folder
 * @returns family name → cases
 */
export function loadFixtures(dir: string = defaultFixturesDir()): Map<string, FixtureCase[]> {
  const out = new Map<string, FixtureCase[]>();
  for (const fam of readdirSync(dir).sort()) {
    const m = join(dir, fam, 'manifest.json');
    if (!existsSync(m)) continue;
    out.set(fam, (JSON.parse(readFileSync(m, 'utf8')) as { cases: FixtureCase[] }).cases);
  }
  return out;
}

/**
 * Reads one fixture array into a tensor on the active backend.
 * @param dir - case folder
 * @param a - the array descriptor
 * @returns the tensor
 */
export function loadArray(dir: string, a: FixtureArray): Tensor {
  const npy = parseNpy(readFileSync(join(dir, a.file)), a.file, a.dtype);
  const data = npy.dtype === a.dtype ? npy.data : toStorage(npy.data, npy.dtype, a.dtype);
  return fromStorage(data, a.shape, a.dtype);
}

function toStorage(data: ReturnType<typeof parseNpy>['data'], from: DType, to: DType) {
  if (to === 'bool' && from === 'uint8') return data;
  throw new Error(`fixture dtype ${from} cannot be read as ${to}`);
}

function skipReason(
  skip: Readonly<Record<string, string>>,
  family: string,
  name: string,
): string | undefined {
  const op = name.split('/')[0];
  return skip[`${family}/${name}`] ?? skip[`${family}/${op}/*`] ?? skip[`${family}/*`];
}

function asList(y: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(y) ? y : [y];
}

/**
 * Checks that `actual` matches `expected` elementwise (NaN matches NaN, ±Inf must match exactly).
 * @param actual - computed tensor
 * @param expected - reference tensor
 * @param tol - tolerance
 * @param what - label for the failure message
 */
export function expectClose(actual: Tensor, expected: Tensor, tol: Tolerance, what: string): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const a = isFloat(actual.dtype) ? actual.toFloat32() : actual.dataSync();
  const e = isFloat(expected.dtype) ? expected.toFloat32() : expected.dataSync();
  const bad = compareClose(a, e, tol);
  if (bad) {
    expect.fail(
      `${what}: element ${bad.index} of ${fmtShape(actual.shape)}: got ${bad.actual}, expected ${bad.expected} (rtol ${tol.rtol}, atol ${tol.atol}); ${bad.count} mismatches`,
    );
  }
}

/**
 * Runs one case: forward against torch outputs, backward against torch gradients, and optionally finite differences.
 * @param dir - case folder
 * @param c - the case
 * @param adapter - the op adapter
 */
export function runCase(dir: string, c: FixtureCase, adapter: Adapter): void {
  const inputs = c.inputs.map((a) => (a ? loadArray(dir, a) : null));
  const wantGrad = c.grads !== undefined && c.gouts !== undefined;
  if (wantGrad) {
    c.grads!.forEach((g, i) => {
      if (g) inputs[i]!.requiresGrad_();
    });
  }
  const outs = asList(adapter(inputs, c.attrs));
  expect(outs.length, `${c.name}: output count`).toBe(c.outputs.length);
  c.outputs.forEach((o, k) => {
    const exp = loadArray(dir, o);
    expectClose(outs[k]!, exp, c.tol ?? DEFAULT_TOLERANCE[o.dtype], `${c.name} output ${k}`);
  });
  if (wantGrad) {
    const diffOuts = outs.filter((o) => isFloat(o.dtype) && o.requiresGrad);
    const gouts = c.gouts!.map((g) => loadArray(dir, g));
    expect(diffOuts.length, `${c.name}: differentiable outputs`).toBe(gouts.length);
    // Σ_k <out_k, gout_k> as one scalar, so multi-output ops backprop in one call.
    if (diffOuts.length === 1) diffOuts[0]!.backward(gouts[0]);
    else backwardMany(diffOuts, gouts);
    c.grads!.forEach((g, i) => {
      if (!g) return;
      const got = inputs[i]!.grad;
      expect(got, `${c.name}: gradient of input ${i} is missing`).toBeTruthy();
      expectClose(got!, loadArray(dir, g), c.grad_tol ?? GRAD_TOLERANCE, `${c.name} grad ${i}`);
    });
  }
  if (c.fd) {
    const fresh = c.inputs.map((a) => (a ? loadArray(dir, a) : null));
    finiteDifferenceCheck(adapter, fresh, c.attrs, c.name);
  }
}

function backwardMany(outs: Tensor[], gouts: Tensor[]): void {
  outs.forEach((o, k) => o.backward(gouts[k], { retainGraph: k < outs.length - 1 }));
}

/**
 * Defines the conformance suite (vitest `describe`/`it`) for one backend: every fixture case of every
 * family, forward and backward, compared with PyTorch outputs. Call it from exactly one
 * `conformance.<backend>.test.ts` in each backend package.
 * @param opts - backend under test, skip list with reasons, family filter
 * @example
 * ```ts
 * runConformance({ backend: cpu() });
 * ```
 */
export function runConformance(opts: ConformanceOptions): void {
  const dir = opts.fixturesDir ?? defaultFixturesDir();
  const families = loadFixtures(dir);
  const skip = opts.skip ?? {};
  // Coverage per family: cases passed, skipped; and the dtypes the passing cases exercised.
  const tally = new Map<string, { pass: number; skip: number; dtypes: Set<string> }>();
  const row = (family: string) => {
    let r = tally.get(family);
    if (!r) tally.set(family, (r = { pass: 0, skip: 0, dtypes: new Set() }));
    return r;
  };
  beforeAll(async () => {
    registerBackend(opts.backend);
    await useBackend(opts.backend.name);
  });
  afterAll(() => {
    // The coverage table of this backend (printed by the runner).
    const lines = [...tally].map(
      ([f, r]) =>
        `  ${f.padEnd(12)} ${String(r.pass).padStart(5)} passed ${String(r.skip).padStart(4)} skipped  ${[...r.dtypes].sort().join(' ')}`,
    );
    const total = [...tally.values()].reduce((a, r) => [a[0]! + r.pass, a[1]! + r.skip], [0, 0]);
    process.stdout.write(
      `conformance[${opts.backend.name}]: ${total[0]} cases passed, ${total[1]} skipped\n${lines.join('\n')}\n`,
    );
  });
  for (const [family, cases] of families) {
    if (opts.families && !opts.families.includes(family)) continue;
    describe(`${opts.backend.name} conformance: ${family}`, () => {
      for (const c of cases) {
        const reason = skipReason(skip, family, c.name);
        if (reason) {
          row(family).skip++;
          it.skip(`${c.name} (skipped: ${reason})`, () => {});
          continue;
        }
        it(c.name, () => {
          const adapter = ADAPTERS[c.op];
          if (!adapter) expect.fail(`${family}/${c.name}: no adapter for op '${c.op}' in testing/cases`);
          runCase(join(dir, family, c.name.replaceAll('/', '__')), c, adapter!);
          const r = row(family);
          r.pass++;
          for (const a of [...c.inputs, ...c.outputs]) if (a) r.dtypes.add(a.dtype);
        });
      }
    });
  }
  // Inference-only sanity: noGrad must not record nodes.
  it(`${opts.backend.name}: noGrad records no graph`, () => {
    const c = families.get('basic')?.[0];
    if (!c) return;
    const x = loadArray(join(dir, 'basic', c.name.replaceAll('/', '__')), c.inputs[0]!).requiresGrad_();
    const y = noGrad(() => asList(ADAPTERS[c.op]!([x, x], c.attrs))[0]!);
    expect(y.requiresGrad).toBe(false);
  });
}
