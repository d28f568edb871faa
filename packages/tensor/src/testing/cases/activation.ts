import { gelu, hardSigmoid, hardSwish, leakyRelu, relu, relu6, silu } from '../../ops/activation.js';
import type { Tensor } from '../../tensor.js';
import { transposed } from './elementwise.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

function act(op: (x: Tensor, attrs: A) => Tensor): Adapter {
  return (inputs, attrs) => op(transposed(inputs, attrs)[0]!, attrs);
}

/** Adapters of the `activation` fixture family. */
export const activationAdapters: Record<string, Adapter> = {
  relu: act((x) => relu(x)),
  relu6: act((x) => relu6(x)),
  leakyRelu: act((x, a) => leakyRelu(x, { alpha: a.alpha as number | undefined })),
  hardSwish: act((x) => hardSwish(x)),
  hardSigmoid: act((x) => hardSigmoid(x)),
  silu: act((x) => silu(x)),
  gelu: act((x, a) => gelu(x, { approximate: a.approximate as 'none' | 'tanh' })),
};
