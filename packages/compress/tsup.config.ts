import { libraryConfig } from '../../tsup.base.js';

export const config = libraryConfig({ index: 'src/index.ts', node: 'src/node.ts' });
// tsup reads the default export of its config file; this is the one place a default export is allowed.
// biome-ignore lint/style/noDefaultExport: tsup config
export default config;
