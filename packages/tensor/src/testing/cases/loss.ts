import type { Adapter } from './index.js';

/** Adapters of the `loss` fixture family. */
export const lossAdapters: Record<string, Adapter> = {};
