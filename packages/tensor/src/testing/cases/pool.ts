import type { Adapter } from './index.js';

/** Adapters of the `pool` fixture family. */
export const poolAdapters: Record<string, Adapter> = {};
