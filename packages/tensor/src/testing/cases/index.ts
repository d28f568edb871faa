import type { Tensor } from '../../tensor.js';
import { activationAdapters } from './activation.js';
import { basicAdapters } from './basic.js';
import { convAdapters } from './conv.js';
import { elementwiseAdapters } from './elementwise.js';
import { linalgAdapters } from './linalg.js';
import { lossAdapters } from './loss.js';
import { movementAdapters } from './movement.js';
import { normAdapters } from './norm.js';
import { poolAdapters } from './pool.js';
import { quantAdapters } from './quant.js';
import { reduceAdapters } from './reduce.js';
import { resizeAdapters } from './resize.js';

/**
 * Calls a tinyvision op from fixture inputs and attributes. Adapter names are the `op` field of fixture cases.
 */
export type Adapter = (inputs: (Tensor | null)[], attrs: Record<string, unknown>) => Tensor | Tensor[];

/** Every adapter, by op name (one spread per fixture family). */
export const ADAPTERS: Readonly<Record<string, Adapter>> = {
  ...basicAdapters,
  ...elementwiseAdapters,
  ...activationAdapters,
  ...reduceAdapters,
  ...movementAdapters,
  ...linalgAdapters,
  ...convAdapters,
  ...poolAdapters,
  ...normAdapters,
  ...resizeAdapters,
  ...quantAdapters,
  ...lossAdapters,
};
