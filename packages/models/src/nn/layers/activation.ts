import {
  type GeluOptions,
  gelu,
  hardSigmoid,
  hardSwish,
  relu,
  relu6,
  sigmoid,
  silu,
  type Tensor,
  tanh,
} from '@tinyvision/tensor';
import { Module } from '../module.js';

/**
 * `max(x, 0)` (`torch.nn.ReLU`).
 * @example
 * ```ts
 * new ReLU().call(tensor([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  /**
   * @param x - input
   * @returns relu(x)
   */
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/**
 * `min(max(x, 0), 6)` (`torch.nn.ReLU6`).
 * @example
 * ```ts
 * new ReLU6().call(tensor([-1, 7])); // [0, 6]
 * ```
 */
export class ReLU6 extends Module {
  /**
   * @param x - input
   * @returns relu6(x)
   */
  forward(x: Tensor): Tensor {
    return relu6(x);
  }
}

/**
 * `x·relu6(x + 3)/6` (`torch.nn.Hardswish`).
 * @example
 * ```ts
 * new Hardswish().call(tensor([-4, 1])); // [0, 0.6667]
 * ```
 */
export class Hardswish extends Module {
  /**
   * @param x - input
   * @returns hardSwish(x)
   */
  forward(x: Tensor): Tensor {
    return hardSwish(x);
  }
}

/**
 * `relu6(x + 3)/6` (`torch.nn.Hardsigmoid`).
 * @example
 * ```ts
 * new Hardsigmoid().call(tensor([0])); // [0.5]
 * ```
 */
export class Hardsigmoid extends Module {
  /**
   * @param x - input
   * @returns hardSigmoid(x)
   */
  forward(x: Tensor): Tensor {
    return hardSigmoid(x);
  }
}

/**
 * `x·sigmoid(x)` (`torch.nn.SiLU`, a.k.a. swish).
 * @example
 * ```ts
 * new SiLU().call(tensor([0, 1]));
 * ```
 */
export class SiLU extends Module {
  /**
   * @param x - input
   * @returns silu(x)
   */
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/**
 * Logistic sigmoid (`torch.nn.Sigmoid`).
 * @example
 * ```ts
 * new Sigmoid().call(tensor([0])); // [0.5]
 * ```
 */
export class Sigmoid extends Module {
  /**
   * @param x - input
   * @returns sigmoid(x)
   */
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/**
 * Hyperbolic tangent (`torch.nn.Tanh`).
 * @example
 * ```ts
 * new Tanh().call(tensor([0])); // [0]
 * ```
 */
export class Tanh extends Module {
  /**
   * @param x - input
   * @returns tanh(x)
   */
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/**
 * Gaussian error linear unit (`torch.nn.GELU`), exact or with the tanh approximation.
 * @example
 * ```ts
 * new GELU({ approximate: 'tanh' }).call(tensor([1]));
 * ```
 */
export class GELU extends Module {
  /** The approximation in use. */
  readonly approximate: 'none' | 'tanh';

  /** @param opts - `approximate`: `'none'` (default) or `'tanh'` */
  constructor(opts: GeluOptions = {}) {
    super();
    this.approximate = opts.approximate ?? 'none';
  }

  /**
   * @param x - input
   * @returns gelu(x)
   */
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/**
 * Returns its input unchanged (`torch.nn.Identity`), e.g. to replace a layer.
 * @example
 * ```ts
 * new Identity().call(x) === x; // true
 * ```
 */
export class Identity extends Module {
  /**
   * @param x - input
   * @returns `x`
   */
  forward(x: Tensor): Tensor {
    return x;
  }
}
