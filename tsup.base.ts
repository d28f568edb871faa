import { defineConfig, type Options } from 'tsup';

/**
 * The build every package shares: ESM + CJS with type declarations, ES2022, tree-shaken. `shims` provides
 * `import.meta.url` in the CJS build (used to locate shipped data and fixtures).
 * @param entry - entry points by output name, e.g. `{ index: 'src/index.ts' }`
 * @returns the tsup configuration
 */
export function libraryConfig(entry: Record<string, string>): Options | Options[] {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    shims: true,
    target: 'es2022',
  }) as Options | Options[];
}
