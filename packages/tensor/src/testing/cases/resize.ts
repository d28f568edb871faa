import type { Adapter } from './index.js';

/** Adapters of the `resize` fixture family. */
export const resizeAdapters: Record<string, Adapter> = {};
