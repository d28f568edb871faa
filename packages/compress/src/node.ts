/**
 * Node-only helpers of `@tinyvision/compress`: running a pipeline from `pipeline.json` and writing its
 * results to a directory.
 * @packageDocumentation
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSafetensors } from '@tinyvision/models/node';
import { FormatError } from '@tinyvision/tensor';
import { saveTvm, writeFileAtomic } from '@tinyvision/tensor/node';
import { type PipelineConfig, parsePipelineConfig } from './pipeline/config.js';
import { type PipelineResult, runPipeline } from './pipeline/run.js';

/**
 * Reads and validates a `pipeline.json`.
 * @param path - the file
 * @returns the configuration
 * @throws {FormatError} when the file is not JSON
 * @throws {PipelineConfigError} when the configuration is invalid
 * @example
 * ```ts
 * const cfg = await readPipelineConfig('pipeline.json');
 * ```
 */
export async function readPipelineConfig(path: string): Promise<PipelineConfig> {
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parsePipelineConfig(raw);
}

/**
 * Runs a pipeline and writes `model.tvm` (the compressed graph) and `report.json` (baseline and result
 * metrics, steps) into `outDir`. The configuration is validated and the weights read before any work; the
 * files are written only after the pipeline succeeded, each atomically, so a failure overwrites nothing.
 * @param config - the configuration (raw JSON accepted)
 * @param outDir - output directory (created)
 * @param onStep - progress messages
 * @returns the pipeline result
 * @throws {PipelineConfigError} on an invalid configuration
 * @example
 * ```ts
 * const r = await compressToDir({ model: 'mobilenet_v2', quant: 'int8' }, 'out');
 * ```
 */
export async function compressToDir(
  config: PipelineConfig | unknown,
  outDir: string,
  onStep?: (message: string) => void,
): Promise<PipelineResult> {
  const cfg = parsePipelineConfig(config);
  let weights: Map<string, import('@tinyvision/tensor').Tensor> | undefined;
  if (cfg.weights) {
    const s = await stat(cfg.weights);
    const file = s.isDirectory() ? join(cfg.weights, 'model.safetensors') : cfg.weights;
    weights = (await loadSafetensors(file)).tensors;
  }
  const r = await runPipeline(cfg, { ...(weights ? { weights } : {}), ...(onStep ? { onStep } : {}) });
  await mkdir(outDir, { recursive: true });
  await saveTvm(join(outDir, 'model.tvm'), r.graph);
  const report = { config: r.config, baseline: r.baseline, result: r.result, steps: r.steps };
  await writeFileAtomic(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return r;
}
