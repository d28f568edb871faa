/**
 * `@tinyvision/models`: lightweight vision architectures, datasets and training for tinyvision.
 *
 * Datasets: `loadFashionMnist()` reads the balanced Fashion-MNIST subset embedded in this package
 * (or the full dataset of the Debian package `dataset-fashion-mnist`) as tensors.
 *
 * @example
 * ```ts
 * import { registerBackend } from '@tinyvision/tensor';
 * import { cpu } from '@tinyvision/backend-cpu';
 * import { loadFashionMnist } from '@tinyvision/models';
 * registerBackend(cpu());
 * const { images, labels } = await loadFashionMnist({ split: 'test' });
 * ```
 * @packageDocumentation
 */

export {
  FASHION_MNIST_CLASSES,
  type FashionMnist,
  type FashionMnistRaw,
  type FashionMnistSource,
  type FashionMnistSplit,
  type LoadFashionMnistOptions,
  loadFashionMnist,
  type ReadFashionMnistOptions,
  readFashionMnistRaw,
  SYSTEM_FASHION_MNIST_DIR,
} from './data/fashion-mnist.js';
export { encodeIdx, type IdxArray, parseIdx, readIdxFile } from './data/idx.js';
