import { cpu } from '@tinyvision/backend-cpu';
import { InvalidArgumentError, registerBackend, type Tensor, tensor } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageAt } from './augment.js';
import { DataLoader, type Dataset, defaultCollate } from './loader.js';
import { syntheticDetection } from './synthetic-detection.js';

beforeAll(() => registerBackend(cpu()));

const numbers = (n: number): Dataset<number> => ({ length: n, get: (i) => i });

async function collect<B>(it: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('DataLoader', () => {
  it('batches in order without shuffling, keeping or dropping the last partial batch', async () => {
    const keep = new DataLoader({ dataset: numbers(10), batchSize: 4, collate: (xs: number[]) => xs });
    expect(keep.length).toBe(3);
    expect(await collect(keep)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    const drop = new DataLoader({
      dataset: numbers(10),
      batchSize: 4,
      dropLast: true,
      collate: (xs: number[]) => xs,
    });
    expect(drop.length).toBe(2);
    expect(await collect(drop)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  it('shuffles into a permutation that is reproducible per seed and epoch', async () => {
    const mk = (seed: number) =>
      new DataLoader({
        dataset: numbers(50),
        batchSize: 8,
        shuffle: true,
        seed,
        collate: (xs: number[]) => xs,
      });
    const a = mk(1);
    const e0 = (await collect(a)).flat();
    const e1 = (await collect(a)).flat();
    expect([...e0].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(e0).not.toEqual(e1); // reshuffled each epoch
    const b = mk(1);
    expect((await collect(b)).flat()).toEqual(e0);
    expect((await collect(b.epoch(0))).flat()).toEqual(e0);
    expect((await collect(b.epoch(1))).flat()).toEqual(e1);
    expect((await collect(mk(2))).flat()).not.toEqual(e0);
  });

  it('awaits asynchronous items and collates objects with the default collate', async () => {
    const { images, targets } = syntheticDetection({ count: 5, size: 16, seed: 1 });
    const ds: Dataset<{ image: ReturnType<typeof imageAt>; label: number; boxes: Float32Array }> = {
      length: 5,
      get: async (i) => ({ image: imageAt(images, i), label: i % 3, boxes: targets.boxes[i]! }),
    };
    const loader = new DataLoader({ dataset: ds, batchSize: 2 });
    const batches = (await collect(loader)) as { image: Tensor; label: Tensor; boxes: Float32Array[] }[];
    expect(batches).toHaveLength(3);
    expect(batches[0]!.image.shape).toEqual([2, 3, 16, 16]);
    expect(batches[0]!.label.dtype).toBe('int32');
    expect([...batches[1]!.label.dataSync()]).toEqual([2, 0]);
    expect(batches[2]!.image.shape).toEqual([1, 3, 16, 16]);
    expect([...batches[1]!.image.dataSync()]).toEqual([...images.dataSync().subarray(2 * 768, 4 * 768)]);
    expect(batches[0]!.boxes[1]).toBe(targets.boxes[1]);
  });

  it('default collate stacks tensors, handles tuples and float numbers', () => {
    const out = defaultCollate([
      [tensor([1, 2]), 0.5],
      [tensor([3, 4]), 1.5],
    ]) as [Tensor, Tensor];
    expect(out[0].shape).toEqual([2, 2]);
    expect(out[0].toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(out[1].dtype).toBe('float32');
    expect(() => defaultCollate([])).toThrow(InvalidArgumentError);
  });

  it('records preprocessing metadata for exporters', () => {
    const loader = new DataLoader({
      dataset: numbers(1),
      preprocessing: { mean: [0.485, 0.456, 0.406], std: 0.5, size: [96, 96] },
    });
    expect(loader.preprocessing).toEqual({
      mean: [0.485, 0.456, 0.406],
      std: [0.5, 0.5, 0.5],
      size: [96, 96],
      channelOrder: 'RGB',
      layout: 'NCHW',
    });
    expect(new DataLoader({ dataset: numbers(1) }).preprocessing).toBeUndefined();
  });

  it('rejects bad options', () => {
    expect(() => new DataLoader({ dataset: numbers(3), batchSize: 0 })).toThrow(/'batchSize'/);
    expect(() => new DataLoader({ dataset: { length: -1, get: () => 0 } })).toThrow(/'dataset'/);
    expect(
      () => new DataLoader({ dataset: numbers(3), preprocessing: { mean: [1, 2], std: 1, size: [2, 2] } }),
    ).toThrow(/'mean'/);
    expect(() => new DataLoader({ dataset: numbers(3) }).order(-1)).toThrow(/'epoch'/);
  });
});
