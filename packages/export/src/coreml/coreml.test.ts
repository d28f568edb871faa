import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import { createModel, traceModule } from '@tinyvision/models';
import {
  conv2d,
  FormatError,
  type Graph,
  gather,
  globalAvgPool,
  hardSwish,
  linear,
  optimizeGraph,
  randn,
  registerBackend,
  relu6,
  reshape,
  type Tensor,
  TinyVisionError,
  tensor,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelDiff, randomized, run } from './__fixtures__/graphs.js';
import { quantizeRows } from './common.js';
import { ModelSchema } from './generated/Model_pb.js';
import { importCoreML } from './nn-reader.js';
import { exportCoreML } from './nn-writer.js';
import { validateCoreML } from './validate.js';

const SPECS = '/work/shared/specs/coreml/mlmodel/format';
const ZOO = [
  'mobilenet_v1',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'efficientnet_lite0',
  'mobilevit_xxs',
] as const;
const graphs = new Map<string, Graph>();
const written: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tv-coreml-'));

beforeAll(() => {
  registerBackend(cpu());
  for (const name of ZOO) {
    const m = createModel(name, {
      resolution: 64,
      numClasses: 10,
      ...(name.startsWith('mobilenet') ? { width: 0.5 } : {}),
    });
    graphs.set(name, randomized(optimizeGraph(traceModule(m, [randn([1, 3, 64, 64])], { name }))));
  }
}, 120_000);

function save(name: string, bytes: Uint8Array): void {
  const p = join(dir, `${name}.mlmodel`);
  writeFileSync(p, bytes);
  written.push(p);
}

describe('Core ML NeuralNetwork writer/reader', { timeout: 180_000 }, () => {
  it.each(ZOO)('%s: float32 file validates and reads back to the same outputs', (name) => {
    const g = graphs.get(name) as Graph;
    const bytes = exportCoreML(g, { author: 'tinyvision tests' });
    save(name, bytes);
    const v = validateCoreML(bytes);
    expect(v.issues).toEqual([]);
    expect(v.specificationVersion).toBe(4);
    expect(v.requiredVersion).toBe(4);
    const back = importCoreML(bytes);
    const x = randn([1, 3, 64, 64]);
    // The comparison means something only if the output depends on the input.
    expect(maxRelDiff(run(g, x), run(g, randn([1, 3, 64, 64])))).toBeGreaterThan(1e-2);
    expect(maxRelDiff(run(g, x), run(back, x))).toBeLessThan(1e-5);
  });

  it('int8 weights: per-channel linear quantization decodes to exactly the symmetric int8 values', () => {
    const g = graphs.get('mobilenet_v2') as Graph;
    const bytes = exportCoreML(g, { weights: 'int8' });
    save('mobilenet_v2_int8', bytes);
    expect(validateCoreML(bytes).issues).toEqual([]);
    expect(bytes.byteLength).toBeLessThan(exportCoreML(g).byteLength * 0.3);
    const back = importCoreML(bytes);
    const conv = g.nodes.find((n) => n.op === 'FusedConv2D') as Graph['nodes'][number];
    const w = g.initializers.get(conv.inputs[1] as string);
    const cout = w?.shape[0] as number;
    const { q, scale } = quantizeRows(w?.data as Float32Array, cout);
    const per = q.length / cout;
    const firstConv = back.nodes.find((n) => n.op === 'Conv2D') as Graph['nodes'][number];
    const got = back.initializers.get(firstConv.inputs[1] as string)?.data as Float32Array;
    for (let i = 0; i < q.length; i++) {
      const want = (q[i] as number) * (scale[Math.floor(i / per)] as number);
      expect(Math.abs((got[i] as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-7);
    }
    // The exact-weight check above is the real assertion; whole-network int8 weight error on random nets is larger.
    const x = randn([1, 3, 64, 64]);
    expect(maxRelDiff(run(g, x), run(back, x))).toBeLessThan(0.3);
  });

  it('float16 weights: half the bytes, outputs within fp16 weight rounding', () => {
    const g = graphs.get('mobilenet_v3_small') as Graph;
    const bytes = exportCoreML(g, { weights: 'float16' });
    save('mobilenet_v3_small_fp16', bytes);
    expect(validateCoreML(bytes).issues).toEqual([]);
    expect(bytes.byteLength).toBeLessThan(exportCoreML(g).byteLength * 0.6);
    const x = randn([1, 3, 64, 64]);
    expect(maxRelDiff(run(g, x), run(importCoreML(bytes), x))).toBeLessThan(2e-2);
  });

  it('classifier with an RGB image input: normalization inside the model, labels, probabilities', () => {
    const g = graphs.get('mobilenet_v1') as Graph;
    const labels = Array.from({ length: 10 }, (_, i) => `class_${i}`);
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const bytes = exportCoreML(g, { labels, image: { mean, std }, license: 'MIT', version: '1.2.3' });
    save('mobilenet_v1_classifier', bytes);
    const v = validateCoreML(bytes);
    expect(v.issues).toEqual([]);
    expect(v.modelType).toBe('neuralNetworkClassifier');
    const back = importCoreML(bytes);
    expect(JSON.parse(back.metadata.labels ?? '[]')).toEqual(labels);
    const pixels = new Float32Array(3 * 64 * 64).map((_, i) => (i * 37) % 256);
    const normalized = pixels.map((p, i) => {
      const c = Math.floor(i / (64 * 64));
      return (p / 255 - (mean[c] as number)) / (std[c] as number);
    });
    const logits = run(g, tensor(normalized, [1, 3, 64, 64]));
    const probs = run(back, tensor(pixels, [1, 3, 64, 64]));
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const sum = ex.reduce((a, b) => a + b, 0);
    for (let i = 0; i < 10; i++)
      expect(Math.abs((probs[i] as number) - (ex[i] as number) / sum)).toBeLessThan(1e-5);
  });

  it('an independent decoder (Google protobuf + protoc-generated Python from the official protos) reads the same model', () => {
    expect(written.length).toBeGreaterThanOrEqual(8);
    const pb2 = mkdtempSync(join(tmpdir(), 'tv-coreml-pb2-'));
    const protos = readdirSync(SPECS).filter((f) => f.endsWith('.proto'));
    execFileSync('protoc', ['-I', SPECS, `--python_out=${pb2}`, ...protos.map((p) => join(SPECS, p))]);
    const py = join(import.meta.dirname, '__fixtures__/decode_mlmodel.py');
    const out = JSON.parse(
      execFileSync('/usr/bin/python3', [py, pb2, ...written], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as Record<
      string,
      {
        specificationVersion: number;
        type: string;
        layers: {
          name: string;
          type: string;
          inputs: string[];
          outputs: string[];
          weights: Record<string, number>;
        }[];
        labels?: string[];
      }
    >;
    for (const path of written) {
      const ours = fromBinary(ModelSchema, readFileSync(path));
      const theirs = out[path];
      expect(theirs?.specificationVersion).toBe(ours.specificationVersion);
      expect(theirs?.type).toBe(ours.Type.case);
      const layers =
        ours.Type.case === 'neuralNetwork' || ours.Type.case === 'neuralNetworkClassifier'
          ? ours.Type.value.layers
          : [];
      expect(theirs?.layers.map((l) => [l.name, l.type, l.inputs, l.outputs])).toEqual(
        layers.map((l) => [l.name, l.layer.case, l.input, l.output]),
      );
      // Weight counts as Google's decoder sees them match the shapes our reader checked.
      for (const l of theirs?.layers ?? [])
        for (const c of Object.values(l.weights)) expect(c).toBeGreaterThan(0);
    }
  });

  it('the validator flags a version too low for the layers used, dangling inputs and wrong weight sizes', () => {
    const good = fromBinary(ModelSchema, exportCoreML(graphs.get('mobilenet_v2') as Graph));
    const low = { ...good, specificationVersion: 3 };
    expect(validateCoreML(toBinary(ModelSchema, low)).issues.join()).toMatch(/below 4/);
    const broken = fromBinary(ModelSchema, toBinary(ModelSchema, good));
    if (broken.Type.case !== 'neuralNetwork') throw new Error('expected a NeuralNetwork');
    const layers = broken.Type.value.layers;
    (layers[3] as (typeof layers)[number]).input = ['nowhere'];
    const conv = layers.find((l) => l.layer.case === 'convolution');
    if (conv?.layer.case === 'convolution') conv.layer.value.weights?.floatValue.pop();
    const issues = validateCoreML(toBinary(ModelSchema, broken)).issues.join('\n');
    expect(issues).toMatch(/input 'nowhere' is not defined before it/);
    expect(issues).toMatch(/weights has \d+ values, expected \d+/);
  });

  it('unsupported ops and bad files give typed errors', () => {
    const idx = tensor([0, 2], [2], 'int32');
    const g = trace((x: Tensor) => gather(x, idx, 1), [randn([1, 4])]);
    expect(() => exportCoreML(g)).toThrow(UnsupportedOpError);
    expect(() => importCoreML(new Uint8Array())).toThrow(FormatError);
    // A tiny conv net keeps each decode cheap, so the mutations mostly hit structure rather than weights.
    const w1 = randn([8, 3, 3, 3]);
    const w2 = randn([8, 1, 3, 3]);
    const fc = randn([4, 8]);
    const tiny = trace(
      (x: Tensor) =>
        linear(
          reshape(
            globalAvgPool(
              hardSwish(
                conv2d(relu6(conv2d(x, w1, null, { padding: 1 })), w2, null, { padding: 1, groups: 8 }),
              ),
            ),
            [1, 8],
          ),
          fc,
        ),
      [randn([1, 3, 16, 16])],
    );
    const bytes = exportCoreML(tiny, {
      labels: ['a', 'b', 'c', 'd'],
      image: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    });
    expect(validateCoreML(bytes).issues).toEqual([]);
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let typed = 0;
    for (let t = 0; t < 300; t++) {
      const m = bytes.slice(0, t % 3 === 0 ? Math.floor(rnd() * bytes.length) : bytes.length);
      for (let k = 0; k < 4; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      try {
        importCoreML(m);
        validateCoreML(m);
      } catch (e) {
        if (!(e instanceof TinyVisionError)) throw new Error(`mutation ${t}: untyped ${String(e)}`);
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(100);
  });
});
