import {
  countMacs,
  createModel,
  isModelName,
  loadFashionMnist,
  MODEL_NAMES,
  type ModelName,
  type Module,
  type StateDict,
  traceModule,
} from '@tinyvision/models';
import {
  Adam,
  argMax,
  concat,
  crossEntropy,
  encodeTvm,
  type Graph,
  noGrad,
  optimizeGraph,
  resize,
  runGraph,
  slice,
  type Tensor,
  tidy,
} from '@tinyvision/tensor';
import { distillationLoss } from '../distill/distill.js';
import { pruneModuleChannels } from '../prune/module.js';
import { prepareQat } from '../qat/qat.js';
import { convertFloat } from '../quantize/half.js';
import { lowerQdq } from '../quantize/lower.js';
import { quantizeStatic } from '../quantize/static.js';
import { quantizeWeights, weightBytes } from '../quantize/weight-only.js';
import { type PipelineConfig, PipelineConfigError, parsePipelineConfig } from './config.js';

/** Size, cost and quality of one model. */
export interface PipelineMetrics {
  /** Top-1 accuracy on the evaluation images. */
  readonly accuracy: number;
  /** Parameters (elements of all initializers). */
  readonly params: number;
  /** Multiply-accumulates for one image. */
  readonly macs: number;
  /** Size of the `.tvm` file. */
  readonly bytes: number;
  /** Weight bytes with int4 counted packed (see `weightBytes`). */
  readonly weight_bytes: number;
  /** Median latency of one image with `runGraph` on the active backend, in ms. */
  readonly latency_ms: number;
}

/** Result of {@link runPipeline}. */
export interface PipelineResult {
  /** The configuration that ran (validated). */
  readonly config: PipelineConfig;
  /** The float baseline. */
  readonly baseline: PipelineMetrics;
  /** The compressed model. */
  readonly result: PipelineMetrics;
  /** The compressed graph (QDQ lowered to int8 kernels for `int8`). */
  readonly graph: Graph;
  /** What ran, in order. */
  readonly steps: string[];
}

/** Options of {@link runPipeline}. */
export interface RunPipelineOptions {
  /** Weights loaded into the zoo model before anything else (e.g. from a checkpoint). */
  readonly weights?: StateDict;
  /** Progress messages. */
  readonly onStep?: (message: string) => void;
}

interface Data {
  trainX: Tensor;
  trainY: Tensor;
  testX: Tensor;
  testY: Tensor;
}

/** Fashion-MNIST as 3-channel images at the model's resolution. */
async function loadData(
  spec: string,
  resolution: number,
  channels: number,
  evalImages: number,
): Promise<Data> {
  const source = spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : 'embedded';
  const norm = { mean: 0.286, std: 0.353, source };
  const train = await loadFashionMnist({ split: 'train', ...norm, limit: 3000 });
  const test = await loadFashionMnist({ split: 'test', ...norm, limit: evalImages });
  const prep = (x: Tensor) =>
    tidy(() => {
      const r = resolution === 28 ? x : resize(x, { size: [resolution, resolution], mode: 'bilinear' });
      return channels === 1 ? r.add(0) : concat(new Array<Tensor>(channels).fill(r), 1);
    });
  return { trainX: prep(train.images), trainY: train.labels, testX: prep(test.images), testY: test.labels };
}

function batch(d: Data, step: number, size: number): [Tensor, Tensor] {
  const n = d.trainX.shape[0]!;
  const start = (step * size) % Math.max(1, n - size);
  const [, c, h, w] = d.trainX.shape as [number, number, number, number];
  return [
    slice(d.trainX, [start, 0, 0, 0], [start + size, c, h, w]),
    slice(d.trainY, [start], [start + size]),
  ];
}

function graphParams(g: Graph): number {
  let n = 0;
  for (const i of g.initializers.values()) n += i.data.length;
  return n;
}

function metrics(g: Graph, macsGraph: Graph, d: Data, batchSize: number): PipelineMetrics {
  let correct = 0;
  const n = d.testX.shape[0]!;
  const [, c, h, w] = d.testX.shape as [number, number, number, number];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    tidy(() => {
      const out = runGraph(g, [slice(d.testX, [s, 0, 0, 0], [e, c, h, w])]).outputs[0]!;
      const p = argMax(out, { axis: 1 }).dataSync();
      const l = slice(d.testY, [s], [e]).dataSync();
      for (let i = 0; i < l.length; i++) if (p[i] === l[i]) correct++;
    });
  }
  const one = slice(d.testX, [0, 0, 0, 0], [1, c, h, w]);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    tidy(() => {
      runGraph(g, [one]).outputs[0]!.dataSync();
    });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    accuracy: correct / n,
    params: graphParams(g),
    macs: countMacs(macsGraph, { symbols: { N: 1 } }).total,
    bytes: encodeTvm(g).byteLength,
    weight_bytes: weightBytes(g),
    latency_ms: Number(times[2]!.toFixed(3)),
  };
}

function trainSteps(
  model: Module,
  d: Data,
  steps: number,
  cfg: PipelineConfig,
  teacher: Module | null,
  onStep?: (step: number) => void,
): void {
  if (steps <= 0) return;
  const opt = new Adam(model.parameters(), { lr: cfg.learningRate ?? 0.003 });
  model.train();
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const [x, y] = batch(d, s, cfg.batchSize ?? 32);
      const logits = model.call(x);
      const loss = teacher
        ? distillationLoss(
            logits,
            noGrad(() => teacher.call(x)),
            y,
            { temperature: cfg.temperature ?? 4 },
          )
        : crossEntropy(logits, y);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    });
    onStep?.(s);
  }
  model.eval();
}

/**
 * Runs a compression pipeline on a zoo model with Fashion-MNIST: optional baseline training, structured
 * channel pruning (module-level, dependency-aware), fine-tuning (with soft-target distillation from the
 * unpruned baseline when `distill`), optional QAT, then quantization (int8 QDQ lowered to int8 kernels, int4
 * weights, fp16 or bf16). Baseline and result are measured the same way: accuracy, params, MACs, bytes and
 * latency. The configuration is validated before any work.
 * @param config - the pipeline (see {@link PipelineConfig}); raw JSON is accepted and validated
 * @param opts - initial weights, progress callback
 * @returns baseline and result metrics, the compressed graph and the steps run
 * @throws {PipelineConfigError} on an invalid configuration (before any work)
 * @example
 * ```ts
 * const r = await runPipeline({ model: 'mobilenet_v2', prune: 0.5, distill: true, quant: 'int8' });
 * r.result.accuracy; r.result.bytes;
 * ```
 */
export async function runPipeline(
  config: PipelineConfig | unknown,
  opts: RunPipelineOptions = {},
): Promise<PipelineResult> {
  const cfg = parsePipelineConfig(config);
  if (!isModelName(cfg.model)) {
    throw new PipelineConfigError(
      'model',
      `'${cfg.model}' is not a zoo model; valid: ${MODEL_NAMES.join(', ')}`,
    );
  }
  const steps: string[] = [];
  const log = (m: string) => {
    steps.push(m);
    opts.onStep?.(m);
  };
  const mo = { width: 0.35, resolution: 32, numClasses: 10, inChannels: 3, ...(cfg.modelOptions ?? {}) };
  const build = (): Module => createModel(cfg.model as ModelName, mo);
  const model = build();
  if (opts.weights) model.loadStateDict(opts.weights);
  const d = await loadData(
    cfg.dataset ?? 'fashion-mnist',
    mo.resolution,
    mo.inChannels,
    cfg.evalImages ?? 500,
  );
  const bs = cfg.batchSize ?? 32;
  const [, c, h, w] = d.trainX.shape as [number, number, number, number];
  const example = slice(d.trainX, [0, 0, 0, 0], [2, c, h, w]);
  const toGraph = (m: Module) => optimizeGraph(traceModule(m, [example], { dynamicBatch: true }));

  if ((cfg.trainSteps ?? 0) > 0) log(`train baseline ${cfg.trainSteps} steps`);
  trainSteps(model, d, cfg.trainSteps ?? 0, cfg, null);
  model.eval();
  const baseGraph = toGraph(model);
  const baseline = metrics(baseGraph, baseGraph, d, bs);
  log(`baseline accuracy ${baseline.accuracy.toFixed(4)}`);

  let teacher: Module | null = null;
  if (cfg.distill) {
    teacher = build();
    teacher.loadStateDict(model.stateDict());
    teacher.eval();
  }
  if (cfg.prune !== undefined && cfg.prune > 0) {
    const r = pruneModuleChannels(model, example, {
      amount: cfg.prune,
      criterion: cfg.pruneCriterion ?? 'l1',
    });
    log(`prune ${cfg.prune}: params ${r.params.before} → ${r.params.after}`);
  }
  const compressing = (cfg.prune ?? 0) > 0 || cfg.distill === true || cfg.qat === true;
  const ft = cfg.fineTuneSteps ?? (compressing ? 50 : 0);
  const qat = cfg.qat ? prepareQat(model) : null;
  if (ft > 0) {
    log(`fine-tune ${ft} steps${teacher ? ' (distillation)' : ''}${qat ? ' (QAT)' : ''}`);
    const freezeAt = Math.floor(ft * 0.8);
    trainSteps(model, d, ft, cfg, teacher, (s) => {
      if (qat && s === freezeAt) qat.freezeObservers();
    });
  }
  model.eval();
  const cal = Array.from({ length: cfg.calibrationBatches ?? 4 }, (_, i) => batch(d, 1000 + i, bs)[0]);
  const quant = cfg.quant ?? 'none';
  let floatGraph: Graph;
  let graph: Graph;
  if (quant === 'int8') {
    const qdq = qat
      ? qat.convert(example, cal, { activationObserver: cfg.observer ?? 'minmax' })
      : quantizeStatic(toGraph(model), cal, { activationObserver: cfg.observer ?? 'minmax' });
    floatGraph = toGraph(model);
    graph = lowerQdq(qdq);
    log(`int8 (${qat ? 'QAT' : 'PTQ'}, ${cfg.observer ?? 'minmax'} observer), lowered to QConv2D/QMatMul`);
  } else {
    floatGraph = toGraph(model);
    if (quant === 'int4') {
      graph = quantizeWeights(floatGraph, { bits: 4, groupSize: cfg.groupSize }).graph;
    } else if (quant === 'fp16' || quant === 'bf16') {
      graph = convertFloat(floatGraph, quant === 'fp16' ? 'float16' : 'bfloat16');
    } else graph = floatGraph;
    if (quant !== 'none') log(`quantize ${quant}`);
  }
  const result = metrics(graph, floatGraph, d, bs);
  log(`result accuracy ${result.accuracy.toFixed(4)}`);
  return { config: cfg, baseline, result, graph, steps };
}
