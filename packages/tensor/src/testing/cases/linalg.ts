import type { Adapter } from './index.js';

/** Adapters of the `linalg` fixture family. */
export const linalgAdapters: Record<string, Adapter> = {};
