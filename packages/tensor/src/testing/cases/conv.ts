import type { Adapter } from './index.js';

/** Adapters of the `conv` fixture family. */
export const convAdapters: Record<string, Adapter> = {};
