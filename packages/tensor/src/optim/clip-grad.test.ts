import { readFileSync } from 'node:fs';
import { cpu } from '@tinyvision/backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBackend } from '../backend/registry.js';
import { tensor } from '../creation.js';
import { InvalidArgumentError } from '../errors/index.js';
import { expand } from '../ops/movement.js';
import { clipGradNorm } from './clip-grad.js';

interface ClipCase {
  name: string;
  maxNorm: number;
  normType: number | 'inf';
  shapes: number[][];
  grads: number[][];
  clipped: number[][];
  totalNorm: number;
}

const CASES = (
  JSON.parse(readFileSync(new URL('../testing/__fixtures__/optim/clip.json', import.meta.url), 'utf8')) as {
    cases: ClipCase[];
  }
).cases;

beforeAll(() => registerBackend(cpu()));

function near(a: ArrayLike<number>, e: readonly number[], what: string): void {
  for (let i = 0; i < e.length; i++) {
    if (!(Math.abs(a[i]! - e[i]!) <= 1e-6 * Math.abs(e[i]!) + 1e-7)) {
      expect.fail(`${what}[${i}]: got ${a[i]}, expected ${e[i]}`);
    }
  }
}

describe('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  for (const c of CASES) {
    it(`${c.name} (maxNorm ${c.maxNorm}, norm ${c.normType})`, () => {
      const ps = c.shapes.map((s, i) => {
        const p = tensor(new Array(c.grads[i]!.length).fill(0), s).requiresGrad_();
        p.grad = tensor(c.grads[i]!, s);
        return p;
      });
      const grads = ps.map((p) => p.grad);
      const total = clipGradNorm(ps, c.maxNorm, {
        normType: c.normType === 'inf' ? Number.POSITIVE_INFINITY : c.normType,
      });
      near([total.item()], [c.totalNorm], 'total norm');
      ps.forEach((p, i) => {
        expect(p.grad, 'owned gradients are updated in place').toBe(grads[i]);
        near(p.grad!.toFloat32(), c.clipped[i]!, `grad ${i}`);
      });
    });
  }

  it('replaces gradient views, ignores missing gradients and validates arguments', () => {
    const a = tensor([0, 0, 0]).requiresGrad_();
    const b = tensor([0]).requiresGrad_();
    a.grad = expand(tensor([4]), [3]); // a zero-stride view
    const total = clipGradNorm([a, b], 1);
    expect(total.item()).toBeCloseTo(Math.sqrt(48), 5);
    expect(Array.from(a.grad.toFloat32()).map((v) => v.toFixed(5))).toEqual(
      Array(3).fill((1 / Math.sqrt(3)).toFixed(5)),
    );
    expect(b.grad).toBeNull();
    expect(clipGradNorm(b, 1).item()).toBe(0);
    expect(() => clipGradNorm(a, -1)).toThrow(InvalidArgumentError);
    a.grad = tensor([Number.NaN, 1, 1]);
    expect(() => clipGradNorm(a, 1, { errorIfNonfinite: true })).toThrow(/non|NaN/);
  });
});
