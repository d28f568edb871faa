/**
 * The Fashion-MNIST target model of `bench/fashion-mnist.ts` and `bench/train-throughput.ts`: a MobileNetV1-style
 * network of depthwise-separable blocks adapted to 1×28×28 grayscale inputs ("FMNIST-MobileNet").
 *
 * Layout (every conv is Conv2d without bias → BatchNorm2d → ReLU; ReLU instead of ReLU6 because the CPU backend's
 * ReLU6 backward is several times slower, and the ranges of a 28×28 net need no clipping):
 *
 * | stage | layer | output |
 * |---|---|---|
 * | stem | 3×3 conv 1→24, stride 1 | 24×28×28 |
 * | 1 | dw 3×3 stride 2 + pw 1×1 24→64 | 64×14×14 |
 * | 2 | dw 3×3 + pw 64→64 | 64×14×14 |
 * | 3 | dw 3×3 stride 2 + pw 64→128 | 128×7×7 |
 * | 4 | dw 3×3 + pw 128→128 | 128×7×7 |
 * | head | global average pool → dropout → Linear 128→10 | 10 |
 * @packageDocumentation
 */
import { convBNActivation, Dropout, Linear, Module, Sequential } from '@tinyvision/models';
import { globalAvgPool, type Tensor } from '@tinyvision/tensor';

/** A depthwise-separable block: dw 3×3 (stride s) → BN → ReLU → pw 1×1 → BN → ReLU. */
function separable(inC: number, outC: number, stride: number): Sequential {
  return new Sequential(
    convBNActivation(inC, inC, { stride, groups: inC, activation: 'relu' }),
    convBNActivation(inC, outC, { kernel: 1, activation: 'relu' }),
  );
}

/** The FMNIST-MobileNet described above. */
export class FashionMobileNet extends Module {
  /** Stem and the four separable blocks. */
  readonly features: Sequential;
  /** Dropout → Linear. */
  readonly classifier: Sequential;

  /**
   * @param opts - dropout before the classifier (default 0.1)
   */
  constructor(opts: { readonly dropout?: number } = {}) {
    super();
    this.features = this.registerModule(
      'features',
      new Sequential(
        convBNActivation(1, 24, { activation: 'relu' }),
        separable(24, 64, 2),
        separable(64, 64, 1),
        separable(64, 128, 2),
        separable(128, 128, 1),
      ),
    );
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(new Dropout(opts.dropout ?? 0.1), new Linear(128, 10)),
    );
  }

  /**
   * @param x - images `[N, 1, 28, 28]`
   * @returns logits `[N, 10]`
   */
  forward(x: Tensor): Tensor {
    return this.classifier.call(globalAvgPool(this.features.call(x)).flatten(1));
  }
}
