import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpu } from '@tinyvision/backend-cpu';
import { loadFashionMnist } from '@tinyvision/models';
import {
  InvalidArgumentError,
  noGrad,
  Rng,
  randn,
  registerBackend,
  ShapeError,
  tensor,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { smallNet } from '../__fixtures__/fashion-net.js';
import { distillationLoss, HintAdapter, hintLoss, softTargetLoss } from './distill.js';

beforeAll(() => registerBackend(cpu()));

const ORACLE = fileURLToPath(new URL('./__fixtures__/torch_distill.py', import.meta.url));

describe('distillation losses against the torch formulas', () => {
  it('soft-target KL (T² · batchmean KL), the alpha mix with cross-entropy, hint MSE and their gradients', async () => {
    const data = await loadFashionMnist({ split: 'test', limit: 12, mean: 0.286, std: 0.353 });
    // teacher: the fixture net (untrained: its logits on the embedded images are what matters here);
    // student: a perturbed copy of its logits
    const x = data.images;
    const labels = data.labels;
    const teacher = smallNet(4).eval();
    const t = noGrad(() => teacher.call(x));
    const s = tensor(
      Array.from(
        noGrad(() =>
          randn(t.shape, { rng: new Rng(1) })
            .mul(0.5)
            .add(t),
        ).toFloat32(),
      ),
      t.shape,
    );
    s.requiresGrad_();
    const T = 3;
    const alpha = 0.7;
    const soft = softTargetLoss(s, t, T);
    const total = distillationLoss(s, t, labels, { temperature: T, alpha });
    total.backward();
    const rng = new Rng(2);
    const fs = randn([2, 3, 4, 4], { rng });
    fs.requiresGrad_();
    const ft = randn([2, 5, 4, 4], { rng });
    const adapter = new HintAdapter(3, 5, rng);
    const hint = hintLoss(adapter.call(fs), ft);
    hint.backward();
    const torch = JSON.parse(
      execFileSync('/usr/bin/python3', [ORACLE], {
        input: JSON.stringify({
          s: Array.from(s.toFloat32()),
          t: Array.from(t.toFloat32()),
          shape: t.shape,
          labels: Array.from(labels.dataSync()),
          T,
          alpha,
          fs: Array.from(fs.toFloat32()),
          fshape: fs.shape,
          ft: Array.from(ft.toFloat32()),
          tshape: ft.shape,
          w: Array.from(adapter.proj.weight.toFloat32()),
          b: Array.from(adapter.proj.bias!.toFloat32()),
        }),
        encoding: 'utf8',
      }),
    ) as Record<'soft' | 'total' | 'hint', number> & Record<'grad_s' | 'grad_w' | 'grad_fs', number[]>;
    expect(soft.item()).toBeGreaterThan(0.01);
    expect(soft.item()).toBeCloseTo(torch.soft, 5);
    expect(total.item()).toBeCloseTo(torch.total, 5);
    s.grad!.toFloat32().forEach((g, i) => expect(g).toBeCloseTo(torch.grad_s[i]!, 5));
    expect(hint.item()).toBeCloseTo(torch.hint, 5);
    adapter.proj.weight.grad!.toFloat32().forEach((g, i) => expect(g).toBeCloseTo(torch.grad_w[i]!, 5));
    fs.grad!.toFloat32().forEach((g, i) => expect(g).toBeCloseTo(torch.grad_fs[i]!, 5));
  }, 60_000);

  it('is zero when the student equals the teacher and rejects bad arguments', () => {
    const t = randn([4, 10], { rng: new Rng(3) });
    expect(softTargetLoss(t, t, 4).item()).toBeCloseTo(0, 6);
    expect(() => softTargetLoss(t, t, 0)).toThrow(InvalidArgumentError);
    expect(() => softTargetLoss(t, randn([4, 9]), 2)).toThrow(ShapeError);
    expect(() => distillationLoss(t, t, tensor([0, 1, 2, 3], [4], 'int32'), { alpha: 2 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => hintLoss(randn([1, 2, 3, 3]), randn([1, 2, 4, 4]))).toThrow(ShapeError);
  });
});
