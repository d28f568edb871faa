// `npm test`: the whole suite, stage by stage, stopping at the first failure, with a timing summary.
// Each stage is an npm script, so any of them can also be run alone (`npm run lint`, `npm run test:unit`, ...).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const REPORT = '.vitest-report.json';
rmSync(REPORT, { force: true });

const STAGES = [
  ['lint', 'biome lint + format check'],
  ['typecheck', 'tsc: packages, examples'],
  ['test:unit', 'vitest'],
  ['test:browser', 'conformance of the WebGPU and WebGL backends in headless Chromium (SwiftShader)'],
  ['test:packages', 'build (turbo + tsup), publint --strict, attw --pack, smoke tests of the built packages'],
  ['size', 'code lines and gzip size per package (informational)'],
  ['docs', 'typedoc API reference into docs/api'],
];

const only = process.argv.slice(2);
const times = [];
let failed;
for (const [script, what] of STAGES) {
  if (only.length > 0 && !only.includes(script)) continue;
  console.log(`\n▶ npm run ${script}  (${what})`);
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit' });
  const s = (performance.now() - t0) / 1000;
  times.push([script, s, r.status]);
  if (r.status !== 0) {
    failed = script;
    break;
  }
}

console.log('\nstage            seconds  result');
for (const [script, s, status] of times) {
  console.log(
    `${script.padEnd(16)} ${s.toFixed(1).padStart(7)}  ${status === 0 ? 'ok' : `FAILED (exit ${status})`}`,
  );
}
const total = times.reduce((a, [, s]) => a + s, 0);
console.log(`${'total'.padEnd(16)} ${total.toFixed(1).padStart(7)}`);
// The closing line CI reads: the vitest totals (written by `npm run test:unit`).
if (existsSync(REPORT)) {
  const r = JSON.parse(readFileSync(REPORT, 'utf8'));
  console.log(
    `\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
  );
}
if (failed) {
  console.error(`\nnpm test: stage '${failed}' failed (rerun it alone with: npm run ${failed})`);
  process.exit(1);
}
