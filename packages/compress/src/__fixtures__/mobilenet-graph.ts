/**
 * Test fixture: a MobileNetV2 (width 0.35, 32×32) whose BatchNorm statistics are randomised log-uniformly,
 * as after training, so folded per-channel weight ranges differ by orders of magnitude (the case
 * cross-layer equalization is for). Traced and optimized (BN folded).
 */
import { BatchNorm2d, createModel, type Module, traceModule } from '@tinyvision/models';
import { type Graph, noGrad, optimizeGraph, Rng, randn, type Tensor, tensor } from '@tinyvision/tensor';

/** The model with randomised BN scales and BN statistics warmed on random inputs. */
export function skewedMobileNetV2(seed = 1): Module {
  const m = createModel('mobilenet_v2', { width: 0.35, resolution: 32, numClasses: 10 });
  const rng = new Rng(seed);
  const logU = (lo: number, hi: number) => Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rng.next());
  const sd = new Map<string, Tensor>();
  for (const [name, mod] of m.namedModules()) {
    if (!(mod instanceof BatchNorm2d)) continue;
    const c = mod.runningVar!.shape[0]!;
    sd.set(`${name}.weight`, tensor(Array.from({ length: c }, () => logU(0.01, 10)), [c]));
    sd.set(`${name}.bias`, tensor(Array.from({ length: c }, () => (rng.next() - 0.3) * 0.5), [c]));
  }
  m.loadStateDict(sd, { strict: false });
  m.train();
  noGrad(() => {
    for (let i = 0; i < 12; i++) m.call(randn([8, 3, 32, 32], { rng })).dispose();
  });
  m.eval();
  return m;
}

/** The traced, optimized graph of {@link skewedMobileNetV2}. */
export function skewedMobileNetV2Graph(seed = 1): Graph {
  const m = skewedMobileNetV2(seed);
  return optimizeGraph(traceModule(m, [randn([2, 3, 32, 32], { rng: new Rng(seed + 1) })], { dynamicBatch: true }));
}
