import type { MatMulAttrs } from '../../backend/kernel-names.js';
import * as K from '../../backend/kernel-names.js';
import { runKernel } from '../../engine.js';
import { cast } from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor.js';
import { defineGradient } from '../gradients.js';
import { unbroadcast } from '../util.js';

function mm(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  return runKernel(K.MatMul, [a, b], { transposeA, transposeB })[0]!;
}

/** @internal */
export function registerLinalgGradients(): void {
  // C = op(A)·op(B). Mixed precision (f32 A with 16-bit B): compute in dy's dtype, cast each gradient back.
  defineGradient(K.MatMul, ([dy], { inputs: [a0, b0], attrs }) => {
    const { transposeA: tA, transposeB: tB } = attrs as unknown as MatMulAttrs;
    const g = dy!;
    const a = cast(a0!, g.dtype);
    const b = cast(b0!, g.dtype);
    let da: Tensor;
    let db: Tensor;
    if (!tA && !tB) {
      da = mm(g, b, false, true);
      db = mm(a, g, true, false);
    } else if (!tA && tB) {
      da = mm(g, b, false, false);
      db = mm(g, a, true, false);
    } else if (tA && !tB) {
      da = mm(b, g, false, true);
      db = mm(a, g, false, false);
    } else {
      da = mm(b, g, true, true);
      db = mm(g, a, true, true);
    }
    return [cast(unbroadcast(da, a0!.shape), a0!.dtype), cast(unbroadcast(db, b0!.shape), b0!.dtype)];
  });
}
