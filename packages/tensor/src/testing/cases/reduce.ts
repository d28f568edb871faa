import type { Adapter } from './index.js';

/** Adapters of the `reduce` fixture family. */
export const reduceAdapters: Record<string, Adapter> = {};
