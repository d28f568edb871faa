import { libraryConfig } from '../../tsup.base.js';

// The shared config sets `shims`: import.meta.url locates the embedded data/ folder in the CJS build too.
export const config = libraryConfig({ index: 'src/index.ts', node: 'src/node.ts' });
// tsup reads the default export of its config file; this is the one place a default export is allowed.
// biome-ignore lint/style/noDefaultExport: tsup config
export default config;
