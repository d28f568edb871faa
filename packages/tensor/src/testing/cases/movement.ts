import type { Adapter } from './index.js';

/** Adapters of the `movement` fixture family. */
export const movementAdapters: Record<string, Adapter> = {};
