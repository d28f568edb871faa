#!/usr/bin/env node
// `npm run test:browser`: runs the torch-generated conformance suite on the WebGPU and WebGL backends in headless
// Chromium (SwiftShader provides both APIs without a GPU). Bundles scripts/browser/entry.ts with esbuild, serves it
// and the fixtures from 127.0.0.1, drives the page with playwright-core and exits non-zero on any failure.
//
// Usage: node scripts/test-browser.mjs [--backend webgpu,webgl] [--family conv,pool] [--filter REGEX]
//        [--chromium /usr/bin/chromium] [--json out.json]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { stubPlugin } from './browser/stubs.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(root, 'packages/tensor/src/testing/__fixtures__');
const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu,webgl' },
    family: { type: 'string' },
    filter: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    json: { type: 'string' },
    timeout: { type: 'string', default: '900' },
  },
});

const families = args.family
  ? args.family.split(',')
  : readdirSync(fixtures)
      .filter((f) => existsSync(join(fixtures, f, 'manifest.json')))
      .sort();

const t0 = Date.now();
const bundle = await build({
  entryPoints: [join(root, 'scripts/browser/entry.ts')],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  conditions: ['@tinyvision/source'],
  plugins: [stubPlugin],
  logLevel: 'error',
  sourcemap: 'inline',
});
const js = bundle.outputFiles[0].text;
console.log(`bundled ${(js.length / 1e6).toFixed(1)} MB in ${Date.now() - t0} ms`);

// One request per family instead of one per .npy file (thousands of small fetches dominated the run):
// u32 LE header length, JSON header {relative path: [offset, length]}, then the file bytes.
const packs = new Map();
function pack(family) {
  if (packs.has(family)) return packs.get(family);
  const dir = join(fixtures, family);
  if (!existsSync(join(dir, 'manifest.json'))) return null;
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name));
  const index = {};
  const parts = [];
  let offset = 0;
  for (const f of files) {
    const bytes = readFileSync(f);
    index[
      f
        .slice(fixtures.length + 1)
        .split(sep)
        .join('/')
    ] = [offset, bytes.length];
    parts.push(bytes);
    offset += bytes.length;
  }
  const head = Buffer.from(JSON.stringify(index));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const out = Buffer.concat([len, head, ...parts]);
  packs.set(family, out);
  return out;
}

const html =
  '<!doctype html><meta charset="utf-8"><title>tinyvision browser conformance</title><script type="module" src="/bundle.js"></script>';
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  try {
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    } else if (url.pathname === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else if (url.pathname.startsWith('/pack/')) {
      const body = pack(decodeURIComponent(url.pathname.slice('/pack/'.length)));
      if (!body) throw Object.assign(new Error('no such fixture family'), { status: 404 });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    } else if (url.pathname.startsWith('/fixtures/')) {
      const file = normalize(join(fixtures, decodeURIComponent(url.pathname.slice('/fixtures/'.length))));
      if (!file.startsWith(fixtures + sep))
        throw Object.assign(new Error('outside fixtures'), { status: 403 });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await readFile(file));
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else res.writeHead(404).end();
  } catch (e) {
    if (!e.status) console.error(`[server] ${req.url}: ${e.stack ?? e}`);
    res.writeHead(e.status ?? 500).end(String(e));
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu', '--use-angle=swiftshader'],
});
let exitCode = 0;
const report = [];
const timer = setTimeout(() => {
  console.error(`test-browser: timed out after ${args.timeout} s`);
  process.exit(2);
}, Number(args.timeout) * 1000);
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.error(`[console] ${m.text()}`));
  await page.goto(origin);
  await page.waitForFunction(() => globalThis.tvReady === true, null, { timeout: 60_000 });
  for (const backend of args.backend.split(',')) {
    let out;
    try {
      out = await page.evaluate((cfg) => globalThis.tvRun(cfg), { backend, families, filter: args.filter });
    } catch (e) {
      console.error(`\n${backend}: FAILED TO RUN: ${e.message.split('\n')[0]}`);
      exitCode = 1;
      report.push({ backend, error: e.message });
      continue;
    }
    report.push(out);
    const { results } = out;
    const count = (pred) => results.filter(pred).length;
    const pass = results.filter((r) => r.status === 'pass');
    console.log(`\n${backend} in Chromium: ${JSON.stringify(out.info)} (${(out.ms / 1000).toFixed(1)} s)`);
    for (const d of out.selfCheck ?? []) console.log(`  self-check: ${d}`);
    const fams = [...new Set(results.map((r) => r.family))];
    for (const f of fams) {
      const rs = results.filter((r) => r.family === f);
      const c = (s) => rs.filter((r) => r.status === s || r.placement === s).length;
      console.log(
        `  ${f.padEnd(12)} ${String(c('pass')).padStart(4)} pass ${String(c('fail')).padStart(3)} fail ${String(c('skip')).padStart(3)} skip | on accelerator: ${c('gpu')} all-kernels, ${c('mixed')} mixed, ${c('host')} CPU-fallback`,
      );
    }
    const placed = (p) => pass.filter((r) => r.placement === p).length;
    console.log(
      `  TOTAL ${backend}: ${pass.length} pass, ${count((r) => r.status === 'fail')} fail, ${count((r) => r.status === 'skip')} skip; passing cases: ${placed('gpu')} all kernels on the accelerator, ${placed('mixed')} mixed, ${placed('host')} CPU fallback only`,
    );
    const slow = [...results].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0)).slice(0, 5);
    console.log(`  slowest: ${slow.map((r) => `${r.family}/${r.name} ${r.ms} ms`).join(', ')}`);
    const failed = results.filter((r) => r.status === 'fail');
    for (const r of failed.slice(0, 50)) console.log(`  FAIL ${r.family}/${r.name}: ${r.message}`);
    if (failed.length > 50) console.log(`  ... ${failed.length - 50} more failures`);
    if (failed.length > 0 || results.length === 0) exitCode = 1;
  }
} finally {
  clearTimeout(timer);
  await browser.close();
  server.close();
}
if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `\ntest-browser: ${exitCode === 0 ? 'OK' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
process.exit(exitCode);
