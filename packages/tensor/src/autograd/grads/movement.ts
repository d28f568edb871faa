import * as K from '../../backend/kernel-names.js';
import { reshape, transpose } from '../../ops/movement.js';
import { defineGradient } from '../gradients.js';
import { unbroadcast } from '../util.js';

/** @internal */
export function registerMovementGradients(): void {
  defineGradient(K.Reshape, ([dy], { inputs: [x] }) => [reshape(dy!, x!.shape)]);
  defineGradient(K.Transpose, ([dy], { attrs }) => {
    const perm = attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(dy!, inv)];
  });
  defineGradient(K.Expand, ([dy], { inputs: [x] }) => [unbroadcast(dy!, x!.shape)]);
  defineGradient(K.StridedCopy, ([dy]) => [dy!]);
}
