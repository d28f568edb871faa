/**
 * Runs every benchmark in turn (`npm run bench`); each writes `bench/results/<name>.json` and its section of
 * `bench/RESULTS.md`. Pass `--quick` through for shorter runs where a benchmark supports it.
 */
import { spawnSync } from 'node:child_process';

const BENCHES = ['bench/gemm-conv.ts', 'bench/train-step.ts', 'bench/train-throughput.ts'];
const extra = process.argv.slice(2);
let failed = 0;
for (const file of BENCHES) {
  console.log(`\n▶ ${file}`);
  const r = spawnSync('npx', ['tsx', '--conditions=@tinyvision/source', file, ...extra], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
