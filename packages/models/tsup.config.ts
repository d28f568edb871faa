import { defineConfig } from 'tsup';

export const config = defineConfig({
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
  // import.meta.url locates the embedded data/ folder; the shim provides it in the CJS build.
  shims: true,
  target: 'es2022',
});
// tsup reads the default export of its config file; this is the one place a default export is allowed.
// biome-ignore lint/style/noDefaultExport: tsup config
export default config;
