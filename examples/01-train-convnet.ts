/**
 * End-to-end demo: train a small conv net on the embedded Fashion-MNIST subset with the CPU reference backend,
 * then trace it into the graph IR, optimise the graph (BN folding, activation fusion), save it as `.tvm`,
 * load it back and check the loaded model computes what the trained model computed; finally export it to ONNX
 * and check that onnxruntime computes the same logits.
 *
 * Run: `npm run demo` (or `npx tsx examples/01-train-convnet.ts [--epochs N] [--source system]`).
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { saveOnnx } from '@tinyvision/export/node';
import { loadFashionMnist } from '@tinyvision/models';
import {
  AdamW,
  argMax,
  batchNorm,
  conv2d,
  crossEntropy,
  equal,
  gather,
  globalAvgPool,
  linear,
  manualSeed,
  maxPool2d,
  noGrad,
  OneCycleLR,
  ones,
  optimizeGraph,
  Rng,
  randn,
  registerBackend,
  relu,
  reshape,
  runGraph,
  sum,
  type Tensor,
  tensor,
  tidy,
  trace,
  zeros,
} from '@tinyvision/tensor';
import { loadTvm, saveTvm } from '@tinyvision/tensor/node';
import * as ort from 'onnxruntime-node';
import { run } from './lib/run.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};

// %% A small conv net as plain functions over named parameters.
interface Params {
  [name: string]: Tensor;
}

function kaiming(shape: number[], fanIn: number, name: string): Tensor {
  const t = randn(shape, { std: Math.sqrt(2 / fanIn) }).requiresGrad_();
  t.name = name;
  return t;
}

function named(t: Tensor, name: string, grad = true): Tensor {
  t.name = name;
  return grad ? t.requiresGrad_() : t;
}

function makeParams(): { params: Params; buffers: Params } {
  const params: Params = {
    'conv1.weight': kaiming([16, 1, 3, 3], 9, 'conv1.weight'),
    'bn1.weight': named(ones([16]), 'bn1.weight'),
    'bn1.bias': named(zeros([16]), 'bn1.bias'),
    'conv2.weight': kaiming([32, 16, 3, 3], 16 * 9, 'conv2.weight'),
    'bn2.weight': named(ones([32]), 'bn2.weight'),
    'bn2.bias': named(zeros([32]), 'bn2.bias'),
    'fc.weight': kaiming([10, 32], 32, 'fc.weight'),
    'fc.bias': named(zeros([10]), 'fc.bias'),
  };
  const buffers: Params = {
    'bn1.running_mean': named(zeros([16]), 'bn1.running_mean', false),
    'bn1.running_var': named(ones([16]), 'bn1.running_var', false),
    'bn2.running_mean': named(zeros([32]), 'bn2.running_mean', false),
    'bn2.running_var': named(ones([32]), 'bn2.running_var', false),
  };
  return { params, buffers };
}

function forward(p: Params, b: Params, x: Tensor, training: boolean): Tensor {
  const bn = (h: Tensor, i: number) =>
    batchNorm(h, {
      runningMean: b[`bn${i}.running_mean`],
      runningVar: b[`bn${i}.running_var`],
      weight: p[`bn${i}.weight`],
      bias: p[`bn${i}.bias`],
      training,
    });
  let h = relu(bn(conv2d(x, p['conv1.weight']!, null, { padding: 1 }), 1)); // 16×28×28
  h = maxPool2d(h, { kernelSize: 2 }); // 16×14×14
  h = relu(bn(conv2d(h, p['conv2.weight']!, null, { padding: 1 }), 2)); // 32×14×14
  h = maxPool2d(h, { kernelSize: 2 }); // 32×7×7
  h = reshape(globalAvgPool(h), [x.shape[0]!, 32]);
  return linear(h, p['fc.weight']!, p['fc.bias']!);
}

function accuracy(p: Params, b: Params, images: Tensor, labels: Tensor, batch = 250): number {
  let correct = 0;
  for (let s = 0; s < images.shape[0]!; s += batch) {
    const n = Math.min(batch, images.shape[0]! - s);
    correct += tidy(() =>
      noGrad(() => {
        const idx = tensor(
          Array.from({ length: n }, (_, i) => s + i),
          [n],
          'int32',
        );
        const pred = argMax(forward(p, b, gather(images, idx, 0), false), { axis: 1 });
        return sum(equal(pred, gather(labels, idx, 0)), {}).item();
      }),
    );
  }
  return correct / images.shape[0]!;
}

run(async () => {
  // %% Setup: the CPU reference backend, a fixed seed, the embedded data.
  registerBackend(cpu());
  manualSeed(0);
  const source = flag('source', 'embedded');
  const epochs = Number(flag('epochs', '3'));
  const norm = { mean: 0.286, std: 0.353 };
  const train = await loadFashionMnist({ split: 'train', source, ...norm });
  const test = await loadFashionMnist({ split: 'test', source, ...norm });
  console.log(
    `Fashion-MNIST (${source}): ${train.count} train / ${test.count} test images, classes: ${train.classNames.join(', ')}`,
  );

  // %% Train with AdamW and a one-cycle schedule.
  const { params, buffers } = makeParams();
  const nParams = Object.values(params).reduce((a, t) => a + t.size, 0);
  console.log(`model: conv(1→16)-BN-ReLU-pool-conv(16→32)-BN-ReLU-pool-GAP-fc(32→10), ${nParams} parameters`);
  const batch = 64;
  const steps = Math.ceil(train.count / batch);
  const opt = new AdamW(Object.values(params), { lr: 3e-3, weightDecay: 1e-4 });
  const sched = new OneCycleLR(opt, { maxLr: 1e-2, totalSteps: epochs * steps });
  const rng = new Rng(1);
  console.log(`epoch  train-loss  train-acc  test-acc  time`);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    const order = rng.shuffle(Array.from({ length: train.count }, (_, i) => i));
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const ids = order.slice(s * batch, (s + 1) * batch);
      lossSum += tidy(() => {
        const idx = tensor(ids, [ids.length], 'int32');
        const loss = crossEntropy(
          forward(params, buffers, gather(train.images, idx, 0), true),
          gather(train.labels, idx, 0),
        );
        opt.zeroGrad();
        loss.backward();
        opt.step();
        sched.step();
        return loss.item();
      });
    }
    const trainAcc = accuracy(params, buffers, train.images, train.labels);
    const testAcc = accuracy(params, buffers, test.images, test.labels);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `${String(epoch).padStart(5)}  ${(lossSum / steps).toFixed(4).padStart(10)}  ${(trainAcc * 100).toFixed(1).padStart(8)}%  ${(testAcc * 100).toFixed(1).padStart(7)}%  ${secs}s`,
    );
  }

  // %% Trace the trained model (eval mode) into the graph IR and optimise it.
  const probe = gather(test.images, tensor([0, 1, 2, 3], [4], 'int32'), 0);
  const graph = trace((x) => forward(params, buffers, x, false), [probe], {
    name: 'fashion-convnet',
    inputNames: ['image'],
    outputNames: ['logits'],
    dynamicBatch: true,
    metadata: { labels: train.classNames.join(','), mean: String(norm.mean), std: String(norm.std) },
  });
  const optimized = optimizeGraph(graph);
  const ops = (g: typeof graph) => g.nodes.map((n) => n.op).join(' → ');
  console.log(`\ntraced graph:    ${graph.nodes.length} nodes: ${ops(graph)}`);
  console.log(`optimised graph: ${optimized.nodes.length} nodes: ${ops(optimized)}`);

  // %% Save as .tvm (atomic write), load it back, and check it computes what the trained model computed.
  const file = join(mkdtempSync(join(tmpdir(), 'tinyvision-demo-')), 'fashion-convnet.tvm');
  await saveTvm(file, optimized);
  const loaded = await loadTvm(file);
  const x = gather(
    test.images,
    tensor(
      Array.from({ length: 100 }, (_, i) => i),
      [100],
      'int32',
    ),
    0,
  );
  const want = noGrad(() => forward(params, buffers, x, false)).toFloat32();
  const got = runGraph(loaded, [x]).outputs[0]!.toFloat32();
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(want[i]! - got[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
  }
  const rel = maxDiff / Math.max(maxAbs, 1e-12);
  console.log(
    `saved ${file} (${statSync(file).size} bytes); reloaded on 100 test images: max |Δlogit| = ${maxDiff.toExponential(2)} (${rel.toExponential(2)} of the output range)`,
  );
  if (!(rel <= 1e-5))
    throw new Error(`the reloaded model differs from the trained one: relative error ${rel}`);

  // %% Ship it as ONNX and check that a runtime nobody here wrote (onnxruntime) computes the same logits.
  const onnxFile = join(dirname(file), 'fashion-convnet.onnx');
  await saveOnnx(onnxFile, optimized, { producerName: 'tinyvision demo' });
  const session = await ort.InferenceSession.create(onnxFile);
  const ortOut = await session.run({ image: new ort.Tensor('float32', x.toFloat32(), [...x.shape]) });
  const ortLogits = ortOut.logits!.data as Float32Array;
  let ortDiff = 0;
  for (let i = 0; i < want.length; i++) ortDiff = Math.max(ortDiff, Math.abs(want[i]! - ortLogits[i]!));
  const ortRel = ortDiff / Math.max(maxAbs, 1e-12);
  console.log(
    `saved ${onnxFile} (${statSync(onnxFile).size} bytes); onnxruntime on the same 100 images: max |Δlogit| = ${ortDiff.toExponential(2)} (${ortRel.toExponential(2)} of the output range)`,
  );
  if (!(ortRel <= 1e-4))
    throw new Error(`onnxruntime disagrees with the trained model: relative error ${ortRel}`);
});
