import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  runGraph,
  type Tensor,
  TinyVisionError,
  tensor,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeRows } from './common.js';
import { ModelSchema } from './generated/Model_pb.js';
import { loadMLPackage, saveMLPackage } from './mlprogram-node.js';
import { MIL_OPS } from './mlprogram-ops.js';
import { constValue, importMLPackage } from './mlprogram-reader.js';
import { validateMLPackage } from './mlprogram-validate.js';
import { exportMLPackage, type MLPackage } from './mlprogram-writer.js';

const SPECS = '/work/shared/specs/coreml/mlmodel/format';
const DEFS = '/work/shared/specs/coreml/coremltools/converters/mil/mil/ops/defs';
const ZOO = [
  'mobilenet_v1',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'efficientnet_lite0',
  'mobilevit_xxs',
] as const;
const graphs = new Map<string, Graph>();
const written = new Map<string, MLPackage>();
const dir = mkdtempSync(join(tmpdir(), 'tv-mlprogram-'));

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
}, 180_000);

/**
 * Fresh zoo models at this size compute (almost) the classifier bias whatever the input, which would make the
 * round-trip comparison vacuous: give every weight He-scaled random values and jitter the vectors, so the outputs
 * depend on the input (checked in the test).
 */
function randomized(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  for (const [k, init] of g.initializers) {
    if (!(init.data instanceof Float32Array)) continue;
    const d = init.data;
    const r = randn([d.length]).dataSync() as Float32Array;
    const fan = init.shape.slice(1).reduce((a, b) => a * b, 1);
    const data =
      init.shape.length >= 2
        ? r.map((v) => v * Math.sqrt(2 / fan))
        : d.map((v, i) => v + 0.1 * (r[i] as number));
    initializers.set(k, { ...init, data });
  }
  return { ...g, initializers };
}

function run(g: Graph, x: Tensor): Float32Array {
  return (runGraph(g, [x]).outputs[0] as Tensor).dataSync() as Float32Array;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let range = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    range = Math.max(range, Math.abs(a[i] as number));
    d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return d / Math.max(range, 1e-12);
}

const opsOf = (pkg: MLPackage): string[] => {
  const m = fromBinary(ModelSchema, pkg.model);
  if (m.Type.case !== 'mlProgram') throw new Error('not an ML Program');
  const fn = m.Type.value.functions.main;
  return fn?.blockSpecializations[fn.opset]?.operations.map((o) => o.type) ?? [];
};

/**
 * Op name → {input name → optional} from the coremltools op definitions (read here, independently of the
 * writer's table): `@register_op` classes, their `input_spec = InputSpec(...)` (plus `+ Base.input_spec`), and
 * inherited specs of base classes.
 */
function parseDefs(folder: string): Map<string, Map<string, boolean>> {
  const classes = new Map<string, { base: string; spec?: string; registered: boolean }>();
  for (const f of readdirSync(folder).filter((n) => n.endsWith('.py'))) {
    const src = readFileSync(join(folder, f), 'utf8');
    const re = /(@register_op[^\n]*\n)?class (\w+)\((\w+)\):([\s\S]*?)(?=\n(?:@register_op|class )|$)/g;
    for (const m of src.matchAll(re)) {
      const body = m[4] as string;
      const spec =
        /input_spec = \(?\s*InputSpec\(([\s\S]*?)\n {4,8}\)(?=[ \t]*\n)(\s*\+\s*(\w+)\.input_spec)?/.exec(
          body,
        );
      classes.set(m[2] as string, {
        base: spec?.[3] ?? (m[3] as string),
        ...(spec ? { spec: spec[1] as string } : {}),
        registered: m[1] !== undefined,
      });
    }
  }
  const out = new Map<string, Map<string, boolean>>();
  const inputsOf = (name: string, depth = 0): Map<string, boolean> => {
    const c = classes.get(name);
    const res = new Map<string, boolean>(c && depth < 8 ? inputsOf(c.base, depth + 1) : []);
    for (const m of (c?.spec ?? '').matchAll(/^\s*(\w+)=(\w+InputType)\(([^)]*)\)/gm)) {
      // InternalInputType (const's `val`) is not an op input: it is serialized as an attribute.
      if (m[2] !== 'InternalInputType') res.set(m[1] as string, /optional=True/.test(m[3] as string));
    }
    return res;
  };
  for (const [name, c] of classes) if (c.registered) out.set(name, inputsOf(name));
  return out;
}

describe('Core ML ML Program (.mlpackage) writer/reader', { timeout: 180_000 }, () => {
  it.each(ZOO)('%s: float32 package validates and reads back to the same outputs', (name) => {
    const g = graphs.get(name) as Graph;
    const pkg = exportMLPackage(g, { author: 'tinyvision tests' });
    written.set(name, pkg);
    const v = validateMLPackage(pkg);
    expect(v.issues).toEqual([]);
    expect(v.specificationVersion).toBe(6);
    expect(v.opset).toBe('CoreML5');
    expect(v.blobs).toBeGreaterThan(5);
    const back = importMLPackage(pkg);
    const x = randn([1, 3, 64, 64]);
    const want = run(g, x);
    expect(maxRelDiff(want, run(g, randn([1, 3, 64, 64])))).toBeGreaterThan(1e-2); // the output depends on x
    expect(maxRelDiff(want, run(back, x))).toBeLessThan(1e-5);
  });

  it('float16: fp16 blobs cast to fp32, about half the weight bytes, outputs within fp16 rounding', () => {
    const g = graphs.get('mobilenet_v3_small') as Graph;
    const pkg = exportMLPackage(g, { weights: 'float16' });
    written.set('mobilenet_v3_small_fp16', pkg);
    expect(validateMLPackage(pkg).issues).toEqual([]);
    expect(opsOf(pkg)).toContain('cast');
    expect(pkg.weights.byteLength).toBeLessThan(exportMLPackage(g).weights.byteLength * 0.6);
    const x = randn([1, 3, 64, 64]);
    expect(maxRelDiff(run(g, x), run(importMLPackage(pkg), x))).toBeLessThan(2e-2);
  });

  it('int8: constexpr_affine_dequantize (iOS 16 → spec 7, CoreML6), outputs close', () => {
    const g = graphs.get('mobilenet_v2') as Graph;
    const pkg = exportMLPackage(g, { weights: 'int8' });
    written.set('mobilenet_v2_int8', pkg);
    const v = validateMLPackage(pkg);
    expect(v.issues).toEqual([]);
    expect([v.specificationVersion, v.opset]).toEqual([7, 'CoreML6']);
    expect(opsOf(pkg)).toContain('constexpr_affine_dequantize');
    expect(pkg.weights.byteLength).toBeLessThan(exportMLPackage(g).weights.byteLength * 0.4);
    const back = importMLPackage(pkg);
    // The dequantized weights are exactly the symmetric per-channel int8 values.
    const conv = g.nodes.find((n) => n.op === 'FusedConv2D') as Graph['nodes'][number];
    const w = g.initializers.get(conv.inputs[1] as string);
    const cout = w?.shape[0] as number;
    const { q, scale } = quantizeRows(w?.data as Float32Array, cout);
    const per = q.length / cout;
    const firstConv = back.nodes.find((n) => n.op === 'Conv2D') as Graph['nodes'][number];
    const got = back.initializers.get(firstConv.inputs[1] as string)?.data as Float32Array;
    expect(got.length).toBe(q.length);
    for (let i = 0; i < q.length; i++) {
      const want = (q[i] as number) * (scale[Math.floor(i / per)] as number);
      expect(Math.abs((got[i] as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-7);
    }
    // Whole-network error of int8 weights on these random-weight nets is a few percent (seen 1–10%).
    const x = randn([1, 3, 64, 64]);
    expect(maxRelDiff(run(g, x), run(back, x))).toBeLessThan(0.3);
  });

  it('image input normalized by ops, labels in metadata, softmax probabilities out', () => {
    const g = graphs.get('mobilenet_v1') as Graph;
    const labels = Array.from({ length: 10 }, (_, i) => `class_${i}`);
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const pkg = exportMLPackage(g, { labels, image: { mean, std } });
    written.set('mobilenet_v1_classifier', pkg);
    expect(validateMLPackage(pkg).issues).toEqual([]);
    const m = fromBinary(ModelSchema, pkg.model);
    expect(m.description?.input[0]?.type?.Type.case).toBe('imageType');
    const back = importMLPackage(pkg);
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

  it('every op and input written exists in the coremltools iOS15/iOS16 op definitions, required inputs given', () => {
    expect(written.size).toBeGreaterThanOrEqual(8);
    const ios15 = parseDefs(join(DEFS, 'iOS15'));
    const ios16 = parseDefs(join(DEFS, 'iOS16'));
    expect(ios15.get('conv')?.get('weight')).toBe(false);
    expect(ios15.get('avg_pool')?.has('exclude_padding_from_average')).toBe(true);
    expect(ios15.get('relu')?.get('x')).toBe(false);
    expect(ios15.get('upsample_bilinear')?.get('align_corners')).toBe(true);
    expect(ios15.size).toBeGreaterThan(100);
    expect(ios16.get('constexpr_affine_dequantize')?.get('scale')).toBe(false);
    // The writer/validator table agrees with the defs.
    for (const [op, spec] of Object.entries(MIL_OPS)) {
      const defs = (spec.opset === 'CoreML5' ? ios15 : ios16).get(op);
      expect(defs, op).toBeDefined();
      for (const [input, required] of Object.entries(spec.inputs))
        expect([op, input, defs?.get(input)]).toEqual([op, input, !required]);
      for (const [input, optional] of defs ?? [])
        if (!optional) expect([op, input, spec.inputs[input]]).toEqual([op, input, true]);
    }
    // And so does every op in every package written above.
    for (const pkg of written.values()) {
      const m = fromBinary(ModelSchema, pkg.model);
      if (m.Type.case !== 'mlProgram') throw new Error('not an ML Program');
      const fn = m.Type.value.functions.main;
      for (const op of fn?.blockSpecializations[fn.opset]?.operations ?? []) {
        const defs = ios15.get(op.type) ?? ios16.get(op.type);
        expect(defs, op.type).toBeDefined();
        if (op.type === 'const')
          expect(op.attributes.val?.value.case).toMatch(/^(immediateValue|blobFileValue)$/);
        for (const input of Object.keys(op.inputs))
          expect([op.type, input, defs?.has(input)]).toEqual([op.type, input, true]);
        for (const [input, optional] of defs ?? [])
          if (!optional) expect([op.type, input, input in op.inputs]).toEqual([op.type, input, true]);
      }
    }
  });

  it('an independent decoder (Google protobuf + protoc-generated Python) lists the same ops', () => {
    const pb2 = mkdtempSync(join(tmpdir(), 'tv-mlprogram-pb2-'));
    const protos = readdirSync(SPECS).filter((f) => f.endsWith('.proto'));
    execFileSync('protoc', ['-I', SPECS, `--python_out=${pb2}`, ...protos.map((p) => join(SPECS, p))]);
    const files: string[] = [];
    for (const [name, pkg] of written) {
      const p = join(dir, `${name}.mlmodel`);
      writeFileSync(p, pkg.model);
      files.push(p);
    }
    const py = join(import.meta.dirname, '__fixtures__/decode_mlmodel.py');
    const out = JSON.parse(
      execFileSync('/usr/bin/python3', [py, pb2, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as Record<
      string,
      {
        specificationVersion: number;
        type: string;
        opset: string;
        ops: string[];
        blockOutputs: string[];
        unknownFields: number;
      }
    >;
    for (const [i, pkg] of [...written.values()].entries()) {
      const theirs = out[files[i] as string];
      expect(theirs?.type).toBe('mlProgram');
      expect(theirs?.unknownFields).toBe(0);
      expect(theirs?.ops).toEqual(opsOf(pkg));
      expect(theirs?.specificationVersion).toBe(fromBinary(ModelSchema, pkg.model).specificationVersion);
    }
    // weight.bin read by struct/numpy from the StorageFormat.hpp layout: same blob count, dtypes and values.
    const blobPy = join(import.meta.dirname, '__fixtures__/decode_weight_bin.py');
    for (const name of ['mobilenet_v2', 'mobilenet_v3_small_fp16', 'mobilenet_v2_int8']) {
      const pkg = written.get(name) as MLPackage;
      const mp = join(dir, `${name}.mlmodel`);
      const wp = join(dir, `${name}.weight.bin`);
      writeFileSync(wp, pkg.weights);
      const py = JSON.parse(
        execFileSync('/usr/bin/python3', [blobPy, pb2, mp, wp], { encoding: 'utf8' }),
      ) as {
        count: number;
        version: number;
        consts: Record<string, { fileName: string; dtype: number; count: number; sum: number }>;
      };
      expect([py.version, py.count]).toEqual([2, validateMLPackage(pkg).blobs]);
      const m = fromBinary(ModelSchema, pkg.model);
      if (m.Type.case !== 'mlProgram') throw new Error('not an ML Program');
      const fn = m.Type.value.functions.main;
      const blobConsts = (fn?.blockSpecializations[fn.opset]?.operations ?? []).filter(
        (o) => o.type === 'const' && o.attributes.val?.value.case === 'blobFileValue',
      );
      expect(Object.keys(py.consts).sort()).toEqual(blobConsts.map((o) => o.outputs[0]?.name).sort());
      for (const o of blobConsts) {
        const name = o.outputs[0]?.name as string;
        const ours = constValue(o.attributes.val, pkg.weights, name).num as Float32Array | Int32Array;
        let sum = 0;
        for (const v of ours) sum += v;
        const theirs = py.consts[name];
        expect(theirs?.fileName).toBe('@model_path/weights/weight.bin');
        expect(theirs?.count).toBe(ours.length);
        expect(Math.abs((theirs?.sum ?? Number.NaN) - sum)).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(sum)) + 1e-6,
        );
      }
    }
  });

  it('saveMLPackage writes the package directory atomically; loadMLPackage reads it back', async () => {
    const g = graphs.get('mobilenet_v2') as Graph;
    const target = join(dir, 'm.mlpackage');
    await saveMLPackage(target, g);
    await saveMLPackage(target, g, { weights: 'float16' }); // replaces the previous package
    expect(JSON.parse(readFileSync(join(target, 'Manifest.json'), 'utf8')).fileFormatVersion).toBe('1.0.0');
    expect(existsSync(join(target, 'Data/com.apple.CoreML/weights/weight.bin'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const x = randn([1, 3, 64, 64]);
    expect(maxRelDiff(run(g, x), run(await loadMLPackage(target), x))).toBeLessThan(2e-2);
    const idx = tensor([0, 2], [2], 'int32');
    const bad = trace((t: Tensor) => gather(t, idx, 1), [randn([1, 4])]);
    await expect(saveMLPackage(join(dir, 'bad.mlpackage'), bad)).rejects.toThrow(UnsupportedOpError);
    expect(existsSync(join(dir, 'bad.mlpackage'))).toBe(false);
    await expect(loadMLPackage(join(dir, 'missing.mlpackage'))).rejects.toThrow(FormatError);
    await expect(saveMLPackage(join(dir, 'no/such/x.mlpackage'), g)).rejects.toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('the validator flags low versions, unknown ops/inputs, missing inputs, dangling names and bad blobs', () => {
    const pkg = written.get('mobilenet_v2') as MLPackage;
    const m = fromBinary(ModelSchema, pkg.model);
    if (m.Type.case !== 'mlProgram') throw new Error('not an ML Program');
    const fn = m.Type.value.functions.main;
    const ops = fn?.blockSpecializations[fn.opset]?.operations ?? [];
    m.specificationVersion = 5;
    const conv = ops.find((o) => o.type === 'conv');
    const relu = ops.find((o) => o.type === 'relu' || o.type === 'clip');
    const blobConst = ops.find((o) => o.type === 'const' && o.attributes.val?.value.case === 'blobFileValue');
    if (!conv || !relu || !blobConst) throw new Error('expected conv, relu/clip and a blob const');
    delete conv.inputs.weight;
    conv.inputs.kernel = conv.inputs.x as (typeof conv.inputs)[string];
    const x = relu.inputs.x?.arguments[0];
    if (x?.binding.case === 'name') x.binding.value = 'nowhere';
    const val = blobConst.attributes.val?.value;
    if (val?.case === 'blobFileValue') val.value.offset += 64n;
    const weights = pkg.weights.slice();
    new DataView(weights.buffer).setUint32(0, 12345, true);
    const issues = validateMLPackage({
      manifest: pkg.manifest,
      model: toBinary(ModelSchema, m),
      weights,
    }).issues.join('\n');
    expect(issues).toMatch(/specificationVersion 5 is below 6/);
    expect(issues).toMatch(/\(conv\): required input 'weight' is missing/);
    expect(issues).toMatch(/\(conv\): unknown input 'kernel'/);
    expect(issues).toMatch(/refers to 'nowhere', not defined before it/);
    expect(issues).toMatch(/bad blob sentinel|does not match the declared type|outside weight.bin/);
    expect(issues).toMatch(/header counts 12345 blobs/);
    const badManifest = validateMLPackage({
      ...pkg,
      manifest: pkg.manifest.replace('com.apple.CoreML/model.mlmodel', '../x'),
    });
    expect(badManifest.issues.join()).toMatch(/escapes the package/);
  });

  it('mutated packages give only typed errors', () => {
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
    const pkg = exportMLPackage(tiny, {
      labels: ['a', 'b', 'c', 'd'],
      image: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    });
    expect(validateMLPackage(pkg).issues).toEqual([]);
    expect(() => importMLPackage({ ...pkg, weights: new Uint8Array(10) })).toThrow(FormatError);
    expect(() => importMLPackage({ ...pkg, manifest: '{}' })).toThrow(FormatError);
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const mutate = (b: Uint8Array, t: number) => {
      const m = b.slice(0, t % 3 === 0 ? Math.floor(rnd() * b.length) : b.length);
      for (let k = 0; k < 4; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      return m;
    };
    let typed = 0;
    let flagged = 0;
    for (let t = 0; t < 400; t++) {
      const m =
        t % 2 === 0 ? { ...pkg, model: mutate(pkg.model, t) } : { ...pkg, weights: mutate(pkg.weights, t) };
      try {
        if (validateMLPackage(m).issues.length > 0) flagged++;
        importMLPackage(m);
      } catch (e) {
        if (!(e instanceof TinyVisionError)) throw new Error(`mutation ${t}: untyped ${String(e)}`);
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(100);
    expect(flagged).toBeGreaterThan(100);
  });
});
