import { cpu } from '@tinyvision/backend-cpu';
import { randn, registerBackend, runGraph } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  Hardswish,
  Linear,
  Sequential,
} from './index.js';
import { traceModule } from './trace.js';

beforeAll(() => registerBackend(cpu()));

describe('traceModule', () => {
  it('traces in eval mode with state-dict initializer names, restores modes, and runs equal', () => {
    const model = new Sequential(
      new Conv2d(3, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      new Hardswish(),
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new Dropout(0.5),
      new Linear(4, 5),
    );
    // warm the running stats so eval differs from train
    model.call(randn([4, 3, 6, 6], { mean: 2 }));
    model.at(2).eval(); // a mixed mode that must be restored as is
    const x = randn([2, 3, 6, 6]);
    const g = traceModule(model, [x], { dynamicBatch: true });
    expect(model.training).toBe(true);
    expect(model.at(1).training).toBe(true);
    expect(model.at(2).training).toBe(false);
    expect(g.name).toBe('Sequential');
    const inits = [...g.initializers.keys()];
    for (const k of [
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '6.weight',
    ]) {
      expect(inits).toContain(k);
    }
    const ops = g.nodes.map((n) => n.op);
    expect(ops).not.toContain('BatchNormTrain');
    const expected = model.eval().call(x).toFloat32();
    // the graph may run BatchNorm/Linear as composite kernels: equal up to float32 rounding
    const close = (a: Float32Array, b: Float32Array) => {
      expect(a.length).toBe(b.length);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]!)));
    };
    close(runGraph(g, [x]).outputs[0]!.toFloat32(), expected);
    // dynamic batch
    const x3 = randn([3, 3, 6, 6]);
    close(runGraph(g, [x3]).outputs[0]!.toFloat32(), model.call(x3).toFloat32());
  });
});
