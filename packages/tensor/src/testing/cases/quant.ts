import { transpose } from '../../ops/movement.js';
import {
  dequantizeLinear,
  fakeQuantize,
  type QActivation,
  qconv2d,
  qmatmul,
  quantizeLinear,
  withQuant,
} from '../../ops/quant.js';
import type { QuantDType, QuantParams } from '../../quant.js';
import type { Adapter } from './index.js';

type A = Record<string, unknown>;

/** Fixture params `{scale, zeroPoint, axis: number | null}` → {@link QuantParams}. */
function params(p: unknown): QuantParams {
  const { scale, zeroPoint, axis } = p as { scale: number[]; zeroPoint: number[]; axis: number | null };
  return axis === null || axis === undefined ? { scale, zeroPoint } : { scale, zeroPoint, axis };
}

/** Adapters of the `quant` fixture family. */
export const quantAdapters: Record<string, Adapter> = {
  quantizeLinear: ([x], a: A) =>
    quantizeLinear(a.transpose ? transpose(x!, [1, 0]) : x!, params(a.params), a.dtype as QuantDType),
  dequantizeLinear: ([q], a: A) => dequantizeLinear(withQuant(q!, params(a.params))),
  fakeQuantize: ([x], a: A) =>
    fakeQuantize(x!, params(a.params), { qmin: a.qmin as number, qmax: a.qmax as number }),
  qconv2d: ([x, w, b], a: A) =>
    qconv2d(withQuant(x!, params(a.x)), withQuant(w!, params(a.w)), b, {
      outQuant: params(a.out),
      stride: a.stride as [number, number],
      padding: a.padding as 'same' | number | [number, number, number, number],
      dilation: a.dilation as [number, number],
      groups: a.groups as number,
      activation: a.activation as QActivation,
    }),
  qmatmul: ([x, w, b], a: A) =>
    qmatmul(withQuant(x!, params(a.a)), withQuant(w!, params(a.b)), b, {
      outQuant: params(a.out),
      activation: a.activation as QActivation,
    }),
};
