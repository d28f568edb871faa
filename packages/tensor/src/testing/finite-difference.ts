import { expect } from 'vitest';
import { fromStorage } from '../creation.js';
import { isFloat } from '../dtype.js';
import { noGrad } from '../engine.js';
import { add, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';
import type { Adapter } from './cases/index.js';

function scalarLoss(outs: Tensor[], weights: Float32Array[]): number {
  let total = 0;
  outs.forEach((o, k) => {
    if (!isFloat(o.dtype)) return;
    total += sum(mul(o, fromStorage(weights[k]!, o.shape, 'float32'))).item();
  });
  return total;
}

/**
 * Checks autograd gradients of a float32 op against central finite differences of a random linear
 * functional of its outputs (f32 arithmetic: loose tolerance, small inputs only).
 * @param adapter - the op adapter
 * @param inputs - fresh float32 inputs (not yet requiring grad)
 * @param attrs - adapter attributes
 * @param name - case name for messages
 */
export function finiteDifferenceCheck(
  adapter: Adapter,
  inputs: (Tensor | null)[],
  attrs: Record<string, unknown>,
  name: string,
): void {
  const diff = inputs.map((t) => t !== null && t.dtype === 'float32' && t.size > 0 && t.size <= 256);
  inputs.forEach((t, i) => diff[i] && t!.requiresGrad_());
  const outs0 = [adapter(inputs, attrs)].flat();
  let seed = 7;
  const weights = outs0.map((o) =>
    Float32Array.from(
      { length: o.size },
      () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1,
    ),
  );
  const loss = outs0.reduce<Tensor | null>((acc, o, k) => {
    if (!isFloat(o.dtype) || !o.requiresGrad) return acc;
    const term = sum(mul(o, fromStorage(weights[k]!, o.shape, 'float32')));
    return acc ? add(acc, term) : term;
  }, null);
  if (!loss) return;
  loss.backward();
  const eps = 1e-2;
  inputs.forEach((t, i) => {
    if (!diff[i]) return;
    const base = t!.toFloat32();
    const g = t!.grad!.toFloat32();
    const fd = new Float32Array(base.length);
    noGrad(() => {
      for (let j = 0; j < base.length; j++) {
        const plus = base.slice();
        plus[j]! += eps;
        const minus = base.slice();
        minus[j]! -= eps;
        const ins = (p: Float32Array) =>
          inputs.map((u, k) => (k === i ? fromStorage(p, t!.shape, 'float32') : u));
        fd[j] =
          (scalarLoss([adapter(ins(plus), attrs)].flat(), weights) -
            scalarLoss([adapter(ins(minus), attrs)].flat(), weights)) /
          (2 * eps);
      }
    });
    for (let j = 0; j < base.length; j++) {
      const tol = 2e-2 * Math.max(1, Math.abs(fd[j]!));
      if (Math.abs(fd[j]! - g[j]!) > tol) {
        expect.fail(
          `${name}: finite-difference gradient of input ${i}[${j}]: autograd ${g[j]}, numeric ${fd[j]}`,
        );
      }
    }
  });
}
