import type { Adapter } from './index.js';

/** Adapters of the `activation` fixture family. */
export const activationAdapters: Record<string, Adapter> = {};
