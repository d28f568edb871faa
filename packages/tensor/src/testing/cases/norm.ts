import type { Adapter } from './index.js';

/** Adapters of the `norm` fixture family. */
export const normAdapters: Record<string, Adapter> = {};
