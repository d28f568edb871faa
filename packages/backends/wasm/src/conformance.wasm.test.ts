import { findBackend, getFallbackReport } from '@tinyvision/tensor';
import { runConformance } from '@tinyvision/tensor/testing';
import { afterAll } from 'vitest';
import { WasmBackend } from './backend.js';
import { wasm } from './index.js';

// Same torch-checked cases as the CPU backend; ops without a WASM kernel fall back per node to the CPU
// reference (registered by runConformance's dependencies), so the skip list stays empty.
runConformance({ backend: wasm() });

afterAll(() => {
  // Coverage: kernel calls computed in WebAssembly vs handed to the CPU reference (by our kernels, or by the
  // engine's per-node fallback for kernels this backend lacks).
  const b = findBackend('wasm');
  if (!(b instanceof WasmBackend)) return;
  const rows = [...b.stats].sort(([x], [y]) => x.localeCompare(y));
  const fb = getFallbackReport().filter((r) => r.backend === 'wasm');
  const native = rows.reduce((s, [, r]) => s + r.native, 0);
  const via = rows.reduce((s, [, r]) => s + r.viaCpu, 0) + fb.reduce((s, r) => s + r.count, 0);
  process.stdout.write(
    `wasm kernel coverage (${b.simd ? 'simd' : 'scalar'}): ${native} kernel calls in wasm, ${via} on the CPU reference\n` +
      rows
        .map(([k, r]) => `  ${k.padEnd(16)} wasm ${String(r.native).padStart(5)}  cpu ${r.viaCpu}`)
        .join('\n') +
      '\n  engine fallbacks: ' +
      fb.map((r) => `${r.kernel}/${r.dtype} ×${r.count}`).join(', ') +
      '\n',
  );
});
