import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Runs every ```ts block of the root README and the package READMEs as a module (tsx, workspace sources)
// and checks `console.log(...); // expected` comments against what it printed.
const root = join(import.meta.dirname, '..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const run = promisify(execFile);

function readmes(): string[] {
  const dirs = ['packages', 'packages/backends'].flatMap((d) =>
    readdirSync(join(root, d)).map((name) => join(root, d, name, 'README.md')),
  );
  return [join(root, 'README.md'), ...dirs].filter((f) => existsSync(f));
}

const blocks = readmes().flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
    name: `${relative(root, file)} block ${i + 1}`,
    code: m[1]!,
  })),
);

describe('README examples', () => {
  it('finds the quick example in the root README', () => {
    expect(blocks.some((b) => b.name === 'README.md block 1' && b.code.includes('backward()'))).toBe(true);
  });

  it.concurrent.each(blocks)('$name runs and prints what its comments say', async ({ code }) => {
    const { stdout } = await run(
      process.execPath,
      [tsxCli, '--conditions=@tinyvision/source', '--input-type=module', '-e', code],
      {
        cwd: root,
      },
    );
    const expected = [...code.matchAll(/console\.log\(.*\);\s*\/\/\s*(.+)$/gm)].map((m) => m[1]!.trim());
    if (expected.length === 0) return; // ran without throwing: enough for blocks that print nothing checkable
    expect(stdout.trim().split('\n').slice(-expected.length)).toEqual(expected);
  });
});
