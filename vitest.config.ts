import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  resolve: { conditions: ['@tinyvision/source'] },
  ssr: { resolve: { conditions: ['@tinyvision/source'] } },
  test: {
    include: ['packages/**/src/**/*.test.ts', 'scripts/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
// biome-ignore lint/style/noDefaultExport: vitest reads the default export
export default config;
