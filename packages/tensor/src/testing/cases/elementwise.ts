import type { Adapter } from './index.js';

/** Adapters of the `elementwise` fixture family. */
export const elementwiseAdapters: Record<string, Adapter> = {};
