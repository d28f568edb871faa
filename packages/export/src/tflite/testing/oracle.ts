// Test harness (not part of the package API): runs .tflite models in the real TFLite interpreter
// (tools/tflite-oracle: tfjs-tflite in plain Node, one child process per batch of models) and compares the
// outputs with runGraph on the active (CPU) backend.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Graph, runGraph, type Tensor } from '@tinyvision/tensor';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
const RUNNER = join(ROOT, 'tools/tflite-oracle/run-tfjs.cjs');
const ARMNN = join(ROOT, 'tools/tflite-oracle/run-armnn.py');

/** Which interpreter runs the models: tfjs-tflite (TFLite + XNNPACK in WASM) or Arm NN (CpuRef). */
export type Interpreter = 'tflite' | 'armnn';
const dir = mkdtempSync(join(tmpdir(), 'tv-tflite-'));
let counter = 0;

/** One input of an oracle run. */
export interface OracleTensor {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
}

/** One model and its inputs. */
export interface OracleCase {
  readonly model: Uint8Array;
  readonly inputs: readonly OracleTensor[];
}

/** Outputs of one case, or the interpreter's error. */
export type OracleResult =
  | { readonly outputs: { data: number[]; shape: number[]; dtype: string }[]; readonly error?: undefined }
  | { readonly error: string; readonly outputs?: undefined };

/**
 * Runs every case in the TFLite interpreter (one Node child process for the batch).
 * @param cases - models and inputs
 * @returns one result per case
 */
export function runTflite(cases: readonly OracleCase[], interpreter: Interpreter = 'tflite'): OracleResult[] {
  const id = counter++;
  const req = {
    cases: cases.map((c, i) => {
      const path = join(dir, `m${id}_${i}.tflite`);
      writeFileSync(path, c.model);
      return {
        model: path,
        inputs: c.inputs.map((t) => ({ data: Array.from(t.data), shape: t.shape, dtype: t.dtype })),
      };
    }),
  };
  const reqPath = join(dir, `req${id}.json`);
  const resPath = join(dir, `res${id}.json`);
  writeFileSync(reqPath, JSON.stringify(req));
  const r =
    interpreter === 'tflite'
      ? spawnSync(process.execPath, [RUNNER, reqPath, resPath], { encoding: 'utf8', cwd: dirname(RUNNER) })
      : spawnSync('/usr/bin/python3', [ARMNN, reqPath, resPath], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tflite oracle failed (${r.status}): ${r.stderr || r.error?.message}`);
  const log = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.startsWith('ERROR'));
  return (JSON.parse(readFileSync(resPath, 'utf8')) as { results: OracleResult[] }).results.map((x) =>
    x.error !== undefined ? { error: `${x.error.split('\n')[0]}\n${log.join('\n')}` } : x,
  );
}

/** `data` (row-major, NCHW) permuted to NHWC. */
export function nchwToNhwc(data: ArrayLike<number>, shape: readonly number[]): number[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const out = new Array<number>(n * c * h * w);
  let i = 0;
  for (let a = 0; a < n; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) out[i++] = data[((a * c + ch) * h + y) * w + x]!;
  return out;
}

/** `data` (row-major, NHWC of the NCHW `shape`) permuted back to NCHW. */
export function nhwcToNchw(data: ArrayLike<number>, shape: readonly number[]): number[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const out = new Array<number>(n * c * h * w);
  let i = 0;
  for (let a = 0; a < n; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) out[((a * c + ch) * h + y) * w + x] = data[i++]!;
  return out;
}

/** What {@link compareWithGraph} reports per case. */
export interface Comparison {
  /** max |tflite − ours| / max(range(ours), 1e-3) over all outputs. */
  readonly worst: number;
  /** The same without normalisation. */
  readonly maxAbs: number;
}

/**
 * Runs each (graph, model, inputs) case in the interpreter and compares with `runGraph(graph)`; rank-4 inputs
 * and outputs are exchanged in NHWC (the writer's default layout) unless `nchw` is set.
 * @param cases - graphs, their exported models and NCHW input tensors
 * @param nchw - the models keep NCHW interfaces
 * @param interpreter - tfjs-tflite (default) or Arm NN
 * @returns per-case comparisons
 * @throws when the interpreter rejects a model or a shape differs
 */
export function compareWithGraph(
  cases: readonly { graph: Graph; model: Uint8Array; inputs: readonly Tensor[] }[],
  nchw = false,
  interpreter: Interpreter = 'tflite',
): Comparison[] {
  const t0 = Date.now();
  const results = runTflite(
    cases.map((c) => ({
      model: c.model,
      inputs: c.inputs.map((t) => {
        const d = t.dataSync() as ArrayLike<number>;
        return {
          data: t.shape.length === 4 && !nchw ? nchwToNhwc(d, t.shape) : Array.from(d),
          shape:
            t.shape.length === 4 && !nchw
              ? [t.shape[0]!, t.shape[2]!, t.shape[3]!, t.shape[1]!]
              : [...t.shape],
          dtype: t.dtype === 'int32' ? ('int32' as const) : ('float32' as const),
        };
      }),
    })),
    interpreter,
  );
  if (process.env.TV_ORACLE_TIMING) console.log('tflite', Date.now() - t0, 'ms');
  const t1 = Date.now();
  const out = cases.map((c, i) => {
    const r = results[i]!;
    if (r.error !== undefined) throw new Error(`tflite interpreter rejected case ${i}: ${r.error}`);
    const ours = runGraph(c.graph, [...c.inputs]).outputs;
    let worst = 0;
    let maxAbs = 0;
    ours.forEach((o, k) => {
      const got = r.outputs[k]!;
      const shape = o.shape;
      const theirs = shape.length === 4 && !nchw ? nhwcToNchw(got.data, shape) : got.data;
      const mine = o.dataSync() as ArrayLike<number>;
      if (theirs.length !== mine.length) {
        throw new Error(`case ${i} output ${k}: ${theirs.length} values, expected ${mine.length} [${shape}]`);
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = 0; j < mine.length; j++) {
        lo = Math.min(lo, mine[j]!);
        hi = Math.max(hi, mine[j]!);
      }
      const range = Math.max(hi - lo, 1e-3);
      for (let j = 0; j < mine.length; j++) {
        const d = Math.abs(theirs[j]! - mine[j]!);
        maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
        worst = Math.max(worst, Number.isNaN(d) ? Infinity : d / range);
      }
      o.dispose();
    });
    return { worst, maxAbs };
  });
  if (process.env.TV_ORACLE_TIMING) console.log('runGraph', Date.now() - t1, 'ms');
  return out;
}
