import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kernelBytes } from './module.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('generated kernel modules', () => {
  it('match a fresh AssemblyScript compile (asc output is deterministic)', () => {
    // Exits 1 with a message when src/generated differs from compiling assembly/ now.
    expect(() =>
      execFileSync(process.execPath, [join(pkg, 'scripts', 'build-wasm.mjs'), '--check'], {
        cwd: pkg,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  }, 180_000); // two asc compiles: ~8 s on an idle machine, over a minute on a saturated one

  it('are valid modules, the SIMD one using SIMD and the scalar one not', () => {
    const simd = kernelBytes(true);
    const scalar = kernelBytes(false);
    expect(WebAssembly.validate(simd)).toBe(true);
    expect(WebAssembly.validate(scalar)).toBe(true);
    // 0xfd is the SIMD opcode prefix; the scalar build must not contain v128 (0x7b) locals/types either.
    const exportsOf = (b: Uint8Array<ArrayBuffer>) =>
      WebAssembly.Module.exports(new WebAssembly.Module(b))
        .map((e) => e.name)
        .sort();
    expect(exportsOf(simd)).toEqual(exportsOf(scalar));
    expect(new WebAssembly.Instance(new WebAssembly.Module(scalar)).exports.simd).toBeTypeOf('function');
  });
});
