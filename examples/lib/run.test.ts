import { ShapeError } from '@tinyvision/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeError, run } from './run.js';

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('examples/lib/run', () => {
  it('prints a failure with name, code and cause, and sets a non-zero exit code', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    await run(async () => {
      throw new Error('training diverged', {
        cause: new ShapeError("conv2d: 'w' shape [8,3,3] must have rank 4"),
      });
    });
    expect(process.exitCode).toBe(1);
    const text = String(err.mock.calls[0]![0]);
    expect(text).toMatch(/example failed: Error: training diverged/);
    expect(text).toMatch(/caused by: ShapeError \[SHAPE\]: conv2d: 'w' shape \[8,3,3\]/);
    expect(text).not.toMatch(/node:internal/);
  });

  it('leaves the exit code alone on success', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await run(() => {});
    expect(process.exitCode).toBeUndefined();
    expect(String(log.mock.calls.at(-1)![0])).toMatch(/done in \d+\.\ds/);
  });

  it('describes non-Error throws', () => {
    expect(describeError('plain string')).toBe('plain string');
  });
});
