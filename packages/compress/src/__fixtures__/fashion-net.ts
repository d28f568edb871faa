/**
 * Test fixture: a small conv net (conv-BN-ReLU ×3, global pool, linear) trained briefly on the embedded
 * Fashion-MNIST subset, traced and optimized into the graph `quantizeStatic` expects.
 */
import { BatchNorm2d, Conv2d, Flatten, Linear, loadFashionMnist, Module, ReLU, Sequential, traceModule } from '@tinyvision/models';
import { Adam, argMax, crossEntropy, type Graph, globalAvgPool, optimizeGraph, Rng, runGraph, slice, type Tensor, tidy } from '@tinyvision/tensor';

/** Conv → BN → ReLU. */
function cbr(cin: number, cout: number, stride: number, rng: Rng, groups = 1): Module[] {
  return [
    new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, rng, groups }),
    new BatchNorm2d(cout),
    new ReLU(),
  ];
}

class GapHead extends Module {
  readonly fc: Linear;
  constructor(cin: number, rng: Rng) {
    super();
    this.fc = this.registerModule('fc', new Linear(cin, 10, { rng }));
  }
  forward(x: Tensor): Tensor {
    return this.fc.call(globalAvgPool(x).reshape([x.shape[0]!, -1]));
  }
}

/** The fixture model. */
export function smallNet(seed = 1): Module {
  const rng = new Rng(seed);
  return new Sequential(...cbr(1, 8, 2, rng), ...cbr(8, 16, 2, rng), ...cbr(16, 32, 2, rng), new GapHead(32, rng));
}

/** Data and trained net, cached per process. */
export interface FashionFixture {
  readonly model: Module;
  readonly graph: Graph;
  readonly trainX: Tensor;
  readonly trainY: Tensor;
  readonly testX: Tensor;
  readonly testY: Tensor;
}

let cached: Promise<FashionFixture> | null = null;

/** Trains the fixture net once per process (Adam, a few hundred steps). */
export function fashionFixture(steps = 150, batch = 32): Promise<FashionFixture> {
  cached ??= (async () => {
    const train = await loadFashionMnist({ split: 'train', mean: 0.286, std: 0.353 });
    const test = await loadFashionMnist({ split: 'test', mean: 0.286, std: 0.353, limit: 500 });
    const model = smallNet(1);
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    model.train();
    const n = train.count;
    for (let s = 0; s < steps; s++) {
      const start = (s * batch) % (n - batch);
      tidy(() => {
        const x = slice(train.images, [start, 0, 0, 0], [start + batch, 1, 28, 28]);
        const y = slice(train.labels, [start], [start + batch]);
        const loss = crossEntropy(model.call(x), y);
        loss.backward();
        opt.step();
        opt.zeroGrad();
      });
    }
    model.eval();
    const graph = optimizeGraph(traceModule(model, [slice(train.images, [0, 0, 0, 0], [2, 1, 28, 28])], { dynamicBatch: true }));
    return { model, graph, trainX: train.images, trainY: train.labels, testX: test.images, testY: test.labels };
  })();
  return cached;
}

/** Top-1 accuracy of a graph on images/labels. */
export function graphAccuracy(graph: Graph, x: Tensor, y: Tensor): number {
  return tidy(() => {
    const out = runGraph(graph, [x]).outputs[0]!;
    const pred = argMax(out, { axis: 1 }).dataSync();
    const lab = y.dataSync();
    let c = 0;
    for (let i = 0; i < lab.length; i++) if (Number(pred[i]) === lab[i]) c++;
    return c / lab.length;
  });
}
