import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import { decodeTvm, InvalidArgumentError, registerBackend, runGraph, tensor } from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { HEALTH_INPUT, tempDir, testSigner, tinyModel, traceModel } from '../__fixtures__/helpers.js';
import { createBundle } from '../bundle.js';
import { signedMessage } from '../crypto.js';
import {
  BundleIntegrityError,
  BundleSignatureError,
  BundleVersionError,
  HealthCheckError,
} from '../errors.js';
import { modelHealthCheck } from './health.js';
import { checkHealth, installBundle, rollbackModel, storeStatus } from './store.js';

registerBackend(cpu());

const signer = testSigner();
const meta = { inputShape: [1, 16], targetBackend: 'cpu' };
const m1 = tinyModel(1);
const m2bytes = traceModel(m1.w1, m1.b1, m1.w2.mul(1.5), m1.b2);
const bundle = (version: string, bytes: Uint8Array, base?: { version: string; bytes: Uint8Array }) =>
  createBundle(
    {
      name: 'tiny',
      version,
      model: 'model.tvm',
      files: { 'model.tvm': bytes },
      metadata: meta,
      ...(base ? { base: { version: base.version, files: { 'model.tvm': base.bytes } } } : {}),
    },
    signer,
  );
const expectedOf = (bytes: Uint8Array) =>
  Array.from(runGraph(decodeTvm(bytes), [tensor(HEALTH_INPUT, [1, 16])]).outputs[0]!.dataSync());

describe('installing into a model directory', () => {
  it('installs, keeps the previous version, refuses downgrades and replays, rolls back explicitly', async () => {
    const dir = await tempDir();
    const opts = { publicKey: signer.publicKey };
    expect(await storeStatus(dir)).toEqual({ current: null, previous: null });
    const b1 = await bundle('1.0.0', m1.bytes);
    expect(await installBundle(dir, b1, opts)).toEqual({ version: '1.0.0', previousVersion: null });
    const b2 = await bundle('1.1.0', m2bytes);
    expect(await installBundle(dir, b2, opts)).toEqual({ version: '1.1.0', previousVersion: '1.0.0' });
    const s = await storeStatus(dir, { verify: true });
    expect(s.current?.version).toBe('1.1.0');
    expect(s.previous?.version).toBe('1.0.0');
    expect(Buffer.from(await readFile(s.current!.modelPath)).equals(Buffer.from(m2bytes))).toBe(true);
    // rollback attack: an older, validly signed bundle, and a replay of the installed one
    await expect(installBundle(dir, b1, opts)).rejects.toThrow(/1\.0\.0 is not newer than installed 1\.1\.0/);
    await expect(installBundle(dir, b2, opts)).rejects.toThrow(BundleVersionError);
    expect(await rollbackModel(dir)).toEqual({ version: '1.0.0', previousVersion: '1.1.0' });
    expect((await storeStatus(dir)).current?.version).toBe('1.0.0');
    await expect(rollbackModel(await tempDir())).rejects.toThrow(InvalidArgumentError);
    // only current + previous slots are kept
    await installBundle(dir, await bundle('1.2.0', m1.bytes), opts);
    expect((await readdir(join(dir, 'slots'))).length).toBe(2);
  });

  it('applies a delta against the installed version and refuses it on any other base', async () => {
    const dir = await tempDir();
    const opts = { publicKey: signer.publicKey };
    await installBundle(dir, await bundle('1.0.0', m1.bytes), opts);
    const d = await bundle('2.0.0', m2bytes, { version: '1.0.0', bytes: m1.bytes });
    const other = await tempDir();
    await installBundle(other, await bundle('1.5.0', m1.bytes), opts);
    await expect(installBundle(other, d, opts)).rejects.toThrow(/applies to 1\.0\.0, installed is 1\.5\.0/);
    await installBundle(dir, d, opts);
    const s = await storeStatus(dir, { verify: true });
    expect(Buffer.from(await readFile(s.current!.modelPath)).equals(Buffer.from(m2bytes))).toBe(true);
  });

  it('rejects bundles from another key and mix-and-match payloads', async () => {
    const dir = await tempDir();
    const opts = { publicKey: signer.publicKey };
    const foreign = await createBundle(
      {
        name: 'tiny',
        version: '1.0.0',
        model: 'model.tvm',
        files: { 'model.tvm': m1.bytes },
        metadata: meta,
      },
      testSigner(),
    );
    await expect(installBundle(dir, foreign, opts)).rejects.toThrow(BundleSignatureError);
    // manifest + signature of 1.0.0 with the payload of 1.1.0 (same size)
    const a = await bundle('1.0.0', m1.bytes);
    const b = await bundle('1.1.0', m2bytes);
    const ma = new DataView(a.buffer).getUint32(12, true);
    const mb = new DataView(b.buffer).getUint32(12, true);
    const mixed = new Uint8Array([...a.subarray(0, 84 + ma), ...b.subarray(84 + mb)]);
    await expect(installBundle(dir, mixed, opts)).rejects.toThrow(BundleIntegrityError);
    expect((await storeStatus(dir)).current).toBeNull();
    void signedMessage;
  });

  it('health check: a bad model never becomes current; a broken current one is rolled back', async () => {
    const dir = await tempDir();
    const opts = { publicKey: signer.publicKey };
    const hc = modelHealthCheck({
      input: HEALTH_INPUT,
      expected: expectedOf(m1.bytes),
      tolerance: 1e-5,
      maxLatencyMs: 5000,
    });
    await installBundle(dir, await bundle('1.0.0', m1.bytes), { ...opts, healthCheck: hc });
    const p = installBundle(dir, await bundle('1.1.0', m2bytes), { ...opts, healthCheck: hc });
    await expect(p).rejects.toThrow(HealthCheckError);
    await expect(p).rejects.toThrow(/output\[\d\] is .* expected .* ± 0.00001|1e-5/);
    expect((await storeStatus(dir)).current?.version).toBe('1.0.0');
    expect((await readdir(join(dir, 'slots'))).length).toBe(1);
    const slow = modelHealthCheck({ input: HEALTH_INPUT, expected: expectedOf(m1.bytes), maxLatencyMs: 0 });
    await expect(
      installBundle(dir, await bundle('1.1.0', m1.bytes), { ...opts, healthCheck: slow }),
    ).rejects.toThrow(/over the 0 ms bound/);
    // a healthy update, then its file gets corrupted on disk: checkHealth rolls back
    const hc2 = modelHealthCheck({ input: HEALTH_INPUT, expected: expectedOf(m2bytes) });
    await installBundle(dir, await bundle('1.1.0', m2bytes), { ...opts, healthCheck: hc2 });
    expect(await checkHealth(dir, hc2)).toEqual({ ok: true, version: '1.1.0' });
    const s = await storeStatus(dir);
    await writeFile(s.current!.modelPath, new Uint8Array(10));
    const r = await checkHealth(dir, hc2);
    expect(r).toMatchObject({ ok: false, version: '1.1.0', rolledBackTo: '1.0.0' });
    expect(r.error).toMatch(/does not match its manifest/);
    expect((await storeStatus(dir)).current?.version).toBe('1.0.0');
  });
});
