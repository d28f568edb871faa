/**
 * Runs an example's body: awaits it, prints a failure readably (the error's name, code and message, then
 * the stack without node-internal frames) and sets a non-zero exit code, so `npm run demo` fails loudly
 * without an "unhandled rejection" dump.
 * @param main - the example
 * @returns a promise that settles when the example has finished (it never rejects)
 * @example
 * ```ts
 * import { run } from './lib/run.js';
 * run(async () => {
 *   // %% load data
 * });
 * ```
 */
export function run(main: () => Promise<void> | void): Promise<void> {
  const t0 = performance.now();
  return (async () => {
    try {
      await main();
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`\ndone in ${s}s`);
    } catch (err) {
      process.exitCode = 1;
      console.error(`\nexample failed: ${describeError(err)}`);
    }
  })();
}

/**
 * One readable block for any thrown value: `Name [CODE]: message`, the cause chain, then stack frames
 * without node internals.
 * @param err - the thrown value
 * @returns the text
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const head = `${err.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}`;
  const frames = (err.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().startsWith('at ') && !l.includes('node:internal') && !l.includes('node_modules'))
    .slice(0, 8);
  const cause = err.cause === undefined ? [] : [`caused by: ${describeError(err.cause)}`];
  return [head, ...frames, ...cause].join('\n');
}
