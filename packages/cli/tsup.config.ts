import { defineConfig } from 'tsup';

export const config = defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  target: 'es2022',
});
// tsup reads the default export of its config file; this is the one place a default export is allowed.
// biome-ignore lint/style/noDefaultExport: tsup config
export default config;
