import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** Flags of `tinyvision compress`, as commander parses them. */
interface CompressFlags {
  readonly config?: string;
  readonly model?: string;
  readonly dataset?: string;
  readonly prune?: string;
  readonly distill?: boolean;
  readonly quant?: string;
  readonly qat?: boolean;
  readonly trainSteps?: string;
  readonly finetuneSteps?: string;
  readonly evalImages?: string;
  readonly calibrationBatches?: string;
  readonly width?: string;
  readonly resolution?: string;
  readonly out?: string;
  readonly json?: boolean;
}

/** A command-line mistake (reported like the library's typed errors). */
class UsageError extends Error {}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

/** Maps the `--dataset` spec of the CLI (`embedded`, `system`, a folder) to the pipeline's. */
function datasetSpec(spec: string | undefined): string | undefined {
  if (spec === undefined || spec === 'embedded' || spec === 'fashion-mnist') return spec && 'fashion-mnist';
  if (spec.startsWith('fashion-mnist')) return spec;
  return `fashion-mnist:${spec}`;
}

/** The pipeline configuration from `--config` or from the flags (a checkpoint folder from `train` included). */
async function buildConfig(o: CompressFlags): Promise<Record<string, unknown>> {
  if (o.config) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(o.config, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read --config ${o.config}: ${(e as Error).message}`);
    }
    return raw as Record<string, unknown>;
  }
  if (!o.model) throw new UsageError('give --config FILE or --model CKPT|ZOO_NAME');
  const cfg: Record<string, unknown> = { model: o.model };
  const modelOptions: Record<string, number> = {};
  if ((await stat(o.model).catch(() => undefined))?.isDirectory()) {
    // a checkpoint folder written by `tinyvision train`
    const rec = JSON.parse(
      await readFile(join(o.model, 'tinyvision-train.json'), 'utf8').catch(() => '{}'),
    ) as {
      model?: string;
      options?: Record<string, number>;
    };
    if (!rec.model) throw new UsageError(`${o.model} is not a checkpoint folder (no tinyvision-train.json)`);
    cfg.model = rec.model;
    cfg.weights = o.model;
    Object.assign(modelOptions, rec.options ?? {});
  }
  if (o.width !== undefined) modelOptions.width = Number(o.width);
  if (o.resolution !== undefined) modelOptions.resolution = Number(o.resolution);
  if (Object.keys(modelOptions).length) cfg.modelOptions = modelOptions;
  const set = (k: string, v: unknown) => {
    if (v !== undefined) cfg[k] = v;
  };
  set('dataset', datasetSpec(o.dataset));
  set('prune', num(o.prune));
  set('distill', o.distill);
  set('quant', o.quant);
  set('qat', o.qat);
  set('trainSteps', num(o.trainSteps));
  set('fineTuneSteps', num(o.finetuneSteps));
  set('evalImages', num(o.evalImages));
  set('calibrationBatches', num(o.calibrationBatches));
  return cfg;
}

function fmt(m: Record<string, number>): string {
  return `accuracy ${(m.accuracy! * 100).toFixed(2)}%  params ${m.params}  macs ${m.macs}  bytes ${m.bytes}  latency ${m.latency_ms} ms`;
}

/**
 * Adds `compress --config pipeline.json` and `compress --model CKPT|ZOO_NAME --dataset SPEC [--prune F]
 * [--distill] [--quant int8|int4|fp16|bf16] [--qat] --out DIR [--json]`: runs the compression pipeline of
 * `@tinyvision/compress`, writes `model.tvm` and `report.json` to `--out`, and prints the baseline and result
 * `accuracy`, `params`, `macs`, `bytes`, `latency_ms`. An invalid configuration (unknown keys, empty
 * calibration set, sparsity outside [0, 1)) exits 1 before any work; nothing is written on failure.
 * @param program - the program
 * @param io - where to write
 * @param setExit - receives the exit code
 * @returns the program
 * @internal
 */
export function addCompressCommand(program: Command, io: CliIO, setExit: (code: number) => void): Command {
  program
    .command('compress')
    .description('prune, distil and quantize a model; report accuracy, size and latency before and after')
    .option('--config <file>', 'pipeline.json (see @tinyvision/compress PipelineConfig)')
    .option('--model <spec>', 'zoo model name or a checkpoint folder from `tinyvision train`')
    .option('--dataset <spec>', "'embedded' (default), 'system' or a Fashion-MNIST folder")
    .option('--prune <fraction>', 'structured channel pruning, fraction of channels in [0, 1)')
    .option('--distill', 'distil from the unpruned model while fine-tuning')
    .option('--quant <kind>', 'int8 | int4 | fp16 | bf16')
    .option('--qat', 'quantization-aware fine-tuning (with --quant int8)')
    .option('--train-steps <n>', 'baseline training steps before compressing')
    .option('--finetune-steps <n>', 'fine-tuning steps after pruning / for QAT')
    .option('--eval-images <n>', 'test images for accuracy (default 500)')
    .option('--calibration-batches <n>', 'int8 calibration batches (default 4)')
    .option('--width <w>', 'zoo width multiplier (default 0.35)')
    .option('--resolution <r>', 'zoo input resolution (default 32)')
    .option('--out <dir>', 'folder receiving model.tvm and report.json')
    .option('--json', 'print one JSON object')
    .action(async (o: CompressFlags) => {
      try {
        if (!o.out) throw new UsageError('--out DIR is required');
        const cfg = await buildConfig(o);
        const [{ registerBackend }, { cpu }, { parsePipelineConfig }, { compressToDir }] = await Promise.all([
          import('@tinyvision/tensor'),
          import('@tinyvision/backend-cpu'),
          import('@tinyvision/compress'),
          import('@tinyvision/compress/node'),
        ]);
        parsePipelineConfig(cfg); // typed error before any work
        registerBackend(cpu());
        const r = await compressToDir(cfg, o.out, o.json ? undefined : (m) => io.err(`${m}\n`));
        if (o.json) {
          io.out(
            `${JSON.stringify({ baseline: r.baseline, result: r.result, steps: r.steps, out: o.out })}\n`,
          );
        } else {
          io.out(`baseline  ${fmt(r.baseline as unknown as Record<string, number>)}\n`);
          io.out(`result    ${fmt(r.result as unknown as Record<string, number>)}\n`);
          io.out(`wrote ${join(o.out, 'model.tvm')} and ${join(o.out, 'report.json')}\n`);
        }
      } catch (e) {
        const { TinyVisionError } = await import('@tinyvision/tensor');
        if (!(e instanceof UsageError) && !TinyVisionError.isInstance(e)) throw e;
        io.err(`tinyvision compress: ${(e as Error).message}\n`);
        setExit(1);
      }
    });
  return program;
}
