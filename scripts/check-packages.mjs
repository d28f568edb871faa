// Checks every published package after `npm run build`:
//   publint --strict        package.json fields, exports and files against what is in dist/
//   attw --pack             type resolution under node16 (CJS and ESM) and bundler. `--profile node16` leaves
//                           out node10 resolution: it ignores "exports", so subpaths (./internal, ./testing)
//                           cannot resolve there; our engines field needs Node >= 20 (exports-aware) and
//                           TypeScript 6 deprecates moduleResolution node10.
//   smoke tests             the built ESM and CJS entries load without the @tinyvision/source condition,
//                           the embedded dataset ships and loads from dist, the built CLI runs.
// attw packs the package with `npm pack` locally; it needs no network.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules/.bin', name);

function packageDirs() {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return workspaces
    .flatMap((w) =>
      w.endsWith('/*')
        ? readdirSync(join(root, w.slice(0, -2)), { withFileTypes: true })
            .filter((d) => d.isDirectory())
            .map((d) => `${w.slice(0, -2)}/${d.name}`)
        : [w],
    )
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .filter((d) => !JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')).private);
}

function run(cmd, args, cwd = root) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    let out = '';
    let stdout = '';
    p.stdout.on('data', (d) => {
      out += d;
      stdout += d;
    });
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out, stdout }));
  });
}

const failures = [];
async function check(name, fn) {
  const t0 = performance.now();
  let result;
  try {
    result = await fn();
  } catch (e) {
    result = { code: 1, out: e instanceof Error ? e.stack : String(e) };
  }
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  if (result.code === 0) {
    console.log(`ok    ${name} (${s}s)`);
  } else {
    failures.push(name);
    console.log(`FAIL  ${name} (${s}s)\n${result.out.trim().replace(/^/gm, '      ')}`);
  }
}

const dirs = packageDirs();
const missingDist = dirs.filter((d) => !existsSync(join(root, d, 'dist')));
if (missingDist.length > 0) {
  console.error(`check-packages: no dist/ in ${missingDist.join(', ')}; run \`npm run build\` first`);
  process.exit(1);
}

// Two at a time: each attw run packs a tarball and type-checks it.
const queue = dirs.flatMap((d) => {
  const name = JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')).name;
  return [
    [`publint --strict ${name}`, () => run(bin('publint'), ['--strict'], join(root, d))],
    [
      `attw --pack ${name}`,
      () =>
        run(bin('attw'), ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped'], join(root, d)),
    ],
  ];
});
async function worker() {
  for (let job = queue.shift(); job; job = queue.shift()) await check(...job);
}
await Promise.all([worker(), worker()]);

// Smoke tests of the built output (plain node: no @tinyvision/source condition, so dist/ is used).
const esmSmoke = `
  import { registerBackend, tensor, add } from '@tinyvision/tensor';
  import { cpu } from '@tinyvision/backend-cpu';
  import { loadFashionMnist } from '@tinyvision/models';
  registerBackend(cpu());
  const s = add(tensor([1, 2]), 1).toArray();
  if (JSON.stringify(s) !== '[2,3]') throw new Error('add gave ' + JSON.stringify(s));
  const d = await loadFashionMnist({ split: 'test' });
  if (d.count !== 1000 || d.images.shape.join() !== '1000,1,28,28') throw new Error('embedded test split: ' + d.count);
`;
await check('smoke: ESM dist of tensor + backend-cpu + models (embedded data from dist)', () =>
  run(process.execPath, ['--input-type=module', '-e', esmSmoke]),
);
const cjsSmoke = `
  const { registerBackend } = require('@tinyvision/tensor');
  const { cpu } = require('@tinyvision/backend-cpu');
  const { loadFashionMnist } = require('@tinyvision/models');
  require('@tinyvision/compress'); require('@tinyvision/export'); require('@tinyvision/cli');
  registerBackend(cpu());
  loadFashionMnist({ split: 'train', limit: 10 }).then((d) => {
    if (d.count !== 10) throw new Error('count ' + d.count);
  }).catch((e) => { console.error(e); process.exit(1); });
`;
await check('smoke: CJS dist of every package (require)', () =>
  run(process.execPath, ['--input-type=commonjs', '-e', cjsSmoke]),
);
await check('smoke: npm pack of @tinyvision/models ships the embedded dataset', async () => {
  const r = await run(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts'],
    join(root, 'packages/models'),
  );
  if (r.code !== 0) return r;
  const files = JSON.parse(r.out.slice(r.out.indexOf('['))).flatMap((p) => p.files.map((f) => f.path));
  const want = ['LICENSE', 'README.md', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']
    .concat(['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
    .map((f) => `data/fashion-mnist-mini/${f}`);
  const missing = want.filter((f) => !files.includes(f));
  const tests = files.filter((f) => f.endsWith('.test.ts'));
  if (missing.length + tests.length === 0) return { code: 0, out: '' };
  return {
    code: 1,
    out: `missing: ${missing.join(', ') || '-'}; test files shipped: ${tests.join(', ') || '-'}`,
  };
});
await check('smoke: built CLI (node packages/cli/dist/bin.js doctor --json)', async () => {
  const r = await run(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'doctor', '--json']);
  if (r.code !== 0) return r;
  // stdout only: native GPU drivers loaded by the webgpu plugin may print warnings on stderr.
  const report = JSON.parse(r.stdout);
  const cpu = report.backends.find((b) => b.name === 'cpu');
  return cpu?.available && cpu.selfCheck?.ok ? r : { code: 1, out: r.out };
});

if (failures.length > 0) {
  console.error(`\ncheck-packages: ${failures.length} check(s) failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log(`\ncheck-packages: all ${dirs.length} packages ok`);
