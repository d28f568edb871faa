// Browser stand-ins for the Node/vitest modules that @tinyvision/tensor/testing imports at module level. The
// browser suite never calls them: fixtures come over HTTP and results go back to the runner.
const fail = (what) => () => {
  throw new Error(`${what} is not available in the browser conformance bundle`);
};

/** Module source by import specifier. */
export const STUBS = {
  vitest: `const f = ${fail.toString()};
export const describe = f('vitest.describe'), it = f('vitest.it'), expect = f('vitest.expect');
export const beforeAll = f('vitest.beforeAll'), afterAll = f('vitest.afterAll');`,
  'node:fs': `const f = ${fail.toString()};
export const existsSync = () => false, readdirSync = f('fs.readdirSync'), readFileSync = f('fs.readFileSync');`,
  'node:path': `export const join = (...p) => p.join('/');`,
  'node:url': `export const fileURLToPath = (u) => String(u);`,
};

/** esbuild plugin that serves {@link STUBS}. */
export const stubPlugin = {
  name: 'tinyvision-browser-stubs',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(STUBS).join('|')})$`);
    build.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'tv-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'tv-stub' }, (a) => ({ contents: STUBS[a.path], loader: 'js' }));
  },
};
