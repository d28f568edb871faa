/**
 * Prints code lines per package (src/**\/*.ts without tests, fixtures, blank and comment lines) and the
 * gzip size of each package's built "." ESM entry (dist/index.js plus the local chunks it imports).
 * Informational: it never fails, so a jump shows up in the log and is a question for review.
 * Run: npm run size (after npm run build for the gzip column).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = join(import.meta.dirname, '..');

function packageDirs(): string[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  return workspaces
    .flatMap((w) =>
      w.endsWith('/*') ? readdirSync(join(root, w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`) : [w],
    )
    .filter((d) => existsSync(join(root, d, 'package.json')));
}

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== '__fixtures__' && name !== 'node_modules') yield* sourceFiles(p);
    } else if (/\.(ts|wgsl)$/.test(name) && !/\.(test|test-d|bench)\.ts$/.test(name)) {
      yield p;
    }
  }
}

/** Lines that are not blank and not only comment. */
function codeLines(text: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      continue;
    }
    n++;
  }
  return n;
}

/** The ESM entry plus the local chunks it imports, transitively (code splitting puts code in chunks). */
function entryBytes(entry: string): Buffer | undefined {
  if (!existsSync(entry)) return undefined;
  const seen = new Set<string>();
  const parts: Buffer[] = [];
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const buf = readFileSync(file);
    parts.push(buf);
    for (const m of buf.toString('utf8').matchAll(/(?:from|import)\s*["'](\.\/[^"']+)["']/g)) {
      visit(join(dirname(file), m[1]!));
    }
  };
  visit(entry);
  return Buffer.concat(parts);
}

const rows: [string, string, string, string][] = [];
let totalLines = 0;
let totalFiles = 0;
for (const dir of packageDirs()) {
  const { name } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string };
  const files = [...sourceFiles(join(root, dir, 'src'))];
  const lines = files.reduce((a, f) => a + codeLines(readFileSync(f, 'utf8')), 0);
  totalLines += lines;
  totalFiles += files.length;
  const bytes = entryBytes(join(root, dir, 'dist/index.js'));
  const gz = bytes ? `${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB` : 'not built';
  rows.push([name, String(files.length), String(lines), gz]);
}
rows.push(['total', String(totalFiles), String(totalLines), '']);

const head: [string, string, string, string] = ['package', 'files', 'code lines', 'dist/index.js gzip'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const fmt = (r: readonly string[]) =>
  r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(fmt(head));
for (const r of rows) console.log(fmt(r));
console.log(
  `(code lines: src/**/*.ts without tests, fixtures, blank and comment lines; from ${relative(process.cwd(), root) || '.'})`,
);
