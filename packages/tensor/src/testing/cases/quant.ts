import type { Adapter } from './index.js';

/** Adapters of the `quant` fixture family. */
export const quantAdapters: Record<string, Adapter> = {};
