import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  castValues,
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  fromFloat32,
  toFloat32,
} from './dtype.js';
import { parseNpy } from './io/npy.js';

// Oracles written by scripts/fixtures/gen_dtype_exhaustive.py from torch 1.13.
const DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'testing', '__fixtures__', 'dtype');

function load(name: string, as?: 'bfloat16') {
  return parseNpy(readFileSync(join(DIR, name)), name, as).data;
}

/** Indices where `got` differs from `want` (NaN matches NaN); at most 5 listed. */
function mismatches(n: number, got: (i: number) => number, want: (i: number) => number): string[] {
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    const g = got(i);
    const w = want(i);
    if (Number.isNaN(w) ? Number.isNaN(g) : Object.is(g, w)) continue;
    if (count++ < 5) bad.push(`#${i}: got ${g}, torch ${w}`);
  }
  if (count > 5) bad.push(`… ${count} mismatches in all`);
  return bad;
}

const isF16NaN = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
const isBF16NaN = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
/** Compares bit patterns; NaN patterns only need to both be NaN. */
const bitsKey = (nanBits: (b: number) => boolean) => (b: number) => (nanBits(b) ? Number.NaN : b);

describe('float16 conversions match torch', () => {
  it('decodes all 65,536 float16 bit patterns exactly', () => {
    const want = load('f16_decode.npy') as Float32Array;
    expect(want.length).toBe(65536);
    expect(mismatches(65536, float16BitsToFloat32, (i) => want[i]!)).toEqual([]);
  });

  it('rounds midpoints, their float32 neighbours and special values like .half()', () => {
    const x = load('f16_round_in.npy') as Float32Array;
    const y = load('f16_round_out.npy') as Uint16Array;
    expect(x.length).toBe(y.length);
    expect(x.length).toBeGreaterThan(90_000);
    const key = bitsKey(isF16NaN);
    expect(
      mismatches(
        x.length,
        (i) => key(float32ToFloat16Bits(x[i]!)),
        (i) => key(y[i]!),
      ),
    ).toEqual([]);
  });

  it('round-trips every non-NaN pattern (encode ∘ decode = identity)', () => {
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      if (!isF16NaN(b) && float32ToFloat16Bits(float16BitsToFloat32(b)) !== b) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('the array helpers agree with the scalar conversions', () => {
    const x = load('f16_round_in.npy') as Float32Array;
    const y = load('f16_round_out.npy') as Uint16Array;
    const bits = fromFloat32(x, 'float16');
    const back = toFloat32(bits, 'float16');
    const viaCast = castValues(x, 'float32', 'float16');
    const key = bitsKey(isF16NaN);
    expect(
      mismatches(
        x.length,
        (i) => key(bits[i]!),
        (i) => key(y[i]!),
      ),
    ).toEqual([]);
    expect(
      mismatches(
        x.length,
        (i) => key(viaCast[i]!),
        (i) => key(y[i]!),
      ),
    ).toEqual([]);
    expect(
      mismatches(
        x.length,
        (i) => back[i]!,
        (i) => float16BitsToFloat32(y[i]!),
      ),
    ).toEqual([]);
  });
});

describe('bfloat16 conversions match torch', () => {
  it('decodes all 65,536 bfloat16 bit patterns exactly', () => {
    const want = load('bf16_decode.npy') as Float32Array;
    expect(want.length).toBe(65536);
    expect(mismatches(65536, bfloat16BitsToFloat32, (i) => want[i]!)).toEqual([]);
  });

  it('rounds midpoints, their float32 neighbours and special values like .bfloat16()', () => {
    const x = load('bf16_round_in.npy') as Float32Array;
    const y = load('bf16_round_out.npy', 'bfloat16') as Uint16Array;
    expect(x.length).toBe(y.length);
    expect(x.length).toBeGreaterThan(90_000);
    const key = bitsKey(isBF16NaN);
    expect(
      mismatches(
        x.length,
        (i) => key(float32ToBFloat16Bits(x[i]!)),
        (i) => key(y[i]!),
      ),
    ).toEqual([]);
  });

  it('round-trips every non-NaN pattern (encode ∘ decode = identity)', () => {
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      if (!isBF16NaN(b) && float32ToBFloat16Bits(bfloat16BitsToFloat32(b)) !== b) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it('the array helpers agree with the scalar conversions', () => {
    const x = load('bf16_round_in.npy') as Float32Array;
    const y = load('bf16_round_out.npy', 'bfloat16') as Uint16Array;
    const bits = fromFloat32(x, 'bfloat16');
    const back = toFloat32(bits, 'bfloat16');
    const key = bitsKey(isBF16NaN);
    expect(
      mismatches(
        x.length,
        (i) => key(bits[i]!),
        (i) => key(y[i]!),
      ),
    ).toEqual([]);
    expect(
      mismatches(
        x.length,
        (i) => back[i]!,
        (i) => bfloat16BitsToFloat32(y[i]!),
      ),
    ).toEqual([]);
  });
});

describe('16-bit conversions of float64 inputs', () => {
  it('round the value to float32 first, as documented', () => {
    // 1 + 2^-11 + 2^-40 is above the f16 tie in float64 but rounds to the tie (1 + 2^-11) in float32,
    // which then rounds to even (1.0).
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c00);
    expect(float32ToBFloat16Bits(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f80);
  });
});
