// Child process for the kill tests: loads a bundle, prints `ready`, waits for a line on stdin, then installs it,
// SIGKILLing itself at the step named in argv[5] (if any). Bundled with esbuild by fault.test.ts, run with node.
import { readFile } from 'node:fs/promises';
import { installBundle } from '../store.js';

const [dir, bundlePath, keyHex, crashAt] = process.argv.slice(2);
const bytes = new Uint8Array(await readFile(bundlePath!));
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const t0 = performance.now();
await installBundle(dir!, bytes, {
  publicKey: new Uint8Array(Buffer.from(keyHex!, 'hex')),
  healthCheck: () => undefined,
  onStep: (step) => {
    if (step === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write(`installed in ${(performance.now() - t0).toFixed(1)} ms\n`);
process.exit(0);
