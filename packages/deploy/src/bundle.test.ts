import { cpu } from '@tinyvision/backend-cpu';
import { FormatError, Rng, registerBackend, TinyVisionError } from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { testSigner, tinyModel, traceModel } from './__fixtures__/helpers.js';
import { createBundle, inspectBundle, readBundle, resolveFiles } from './bundle.js';
import { signedMessage } from './crypto.js';
import { applyDelta, createDelta } from './delta.js';
import {
  BundleExpiredError,
  BundleIntegrityError,
  BundleSignatureError,
  BundleVersionError,
  SizeLimitError,
  UnsafePathError,
} from './errors.js';
import { assertSafePath, compareVersions } from './manifest.js';

beforeAll(() => registerBackend(cpu()));

const signer = testSigner();
const meta = { inputShape: [1, 16], targetBackend: 'cpu', labels: ['a', 'b', 'c', 'd'] };
const model = () => tinyModel(7).bytes;

async function make(version = '1.0.0', extra: Partial<Parameters<typeof createBundle>[0]> = {}) {
  return createBundle(
    {
      name: 'tiny',
      version,
      model: 'model.tvm',
      files: { 'model.tvm': model(), 'labels.txt': new TextEncoder().encode('a\nb\nc\nd\n') },
      metadata: meta,
      ...extra,
    },
    signer,
  );
}

/** Re-signs a container whose manifest JSON was edited by `edit` (a malicious but correctly signed publisher). */
async function resign(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Promise<Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const m = dv.getUint32(12, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + m)));
  edit(manifest);
  const mb = new TextEncoder().encode(JSON.stringify(manifest));
  const sig = await signer.sign(signedMessage(mb));
  const rest = bytes.subarray(20 + m + 64);
  const out = new Uint8Array(20 + mb.length + 64 + rest.length);
  out.set(bytes.subarray(0, 12));
  new DataView(out.buffer).setUint32(12, mb.length, true);
  out.set(mb, 16);
  new DataView(out.buffer).setUint32(16 + mb.length, 64, true);
  out.set(sig, 20 + mb.length);
  out.set(rest, 84 + mb.length);
  return out;
}

describe('bundle format', () => {
  it('round-trips files and metadata and binds every file by sha256', async () => {
    const bytes = await make();
    const b = await readBundle(bytes, { publicKey: signer.publicKey });
    expect(b.manifest.version).toBe('1.0.0');
    expect(b.manifest.metadata.labels).toEqual(['a', 'b', 'c', 'd']);
    expect(b.manifest.files.map((f) => f.path)).toEqual(['model.tvm', 'labels.txt']);
    const files = await resolveFiles(b);
    expect(Buffer.from(files.get('model.tvm')!).equals(Buffer.from(model()))).toBe(true);
    expect(inspectBundle(bytes).name).toBe('tiny');
  });

  it('rejects a modified manifest, a modified payload, a wrong key, truncation and trailing bytes', async () => {
    const bytes = await make();
    const m = new DataView(bytes.buffer).getUint32(12, true);
    const flipManifest = bytes.slice();
    flipManifest[16 + 40] ^= 1;
    await expect(readBundle(flipManifest, { publicKey: signer.publicKey })).rejects.toThrow(
      BundleSignatureError,
    );
    const flipPayload = bytes.slice();
    flipPayload[bytes.length - 3] ^= 0x40;
    await expect(readBundle(flipPayload, { publicKey: signer.publicKey })).rejects.toThrow(
      /sha256 is .* manifest says/,
    );
    await expect(readBundle(bytes, { publicKey: testSigner().publicKey })).rejects.toThrow(
      BundleSignatureError,
    );
    await expect(
      readBundle(bytes.subarray(0, bytes.length - 1), { publicKey: signer.publicKey }),
    ).rejects.toThrow(BundleIntegrityError);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    await expect(readBundle(longer, { publicKey: signer.publicKey })).rejects.toThrow(
      /unexpected bytes after/,
    );
    const badSigLen = bytes.slice();
    new DataView(badSigLen.buffer).setUint32(16 + m, 63, true);
    await expect(readBundle(badSigLen, { publicKey: signer.publicKey })).rejects.toThrow(
      /signature length 63/,
    );
  });

  it('bounds lengths before allocating and names the byte offset', async () => {
    const bytes = await make();
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(12, 0xffffffff, true);
    await expect(readBundle(huge, { publicKey: signer.publicKey })).rejects.toThrow(SizeLimitError);
    const past = bytes.slice(0, 100);
    await expect(readBundle(past, { publicKey: signer.publicKey })).rejects.toThrow(/runs past the end/);
    await expect(readBundle(new Uint8Array(10), { publicKey: signer.publicKey })).rejects.toThrow(
      FormatError,
    );
    const magic = bytes.slice();
    magic[0] = 0;
    await expect(readBundle(magic, { publicKey: signer.publicKey })).rejects.toThrow(/bad magic at byte 0/);
    const limited = readBundle(bytes, { publicKey: signer.publicKey, limits: { maxFileBytes: 100 } });
    await expect(limited).rejects.toThrow(/files\[0\]\.size is \d+ bytes, over the limit of 100/);
  });

  it('rejects expired manifests (freeze) and too-new runtimes', async () => {
    const bytes = await make('1.0.0', { ttlSeconds: 60 });
    const later = new Date(Date.now() + 120_000);
    await expect(readBundle(bytes, { publicKey: signer.publicKey, now: later })).rejects.toThrow(
      BundleExpiredError,
    );
    const future = await make('1.0.0', { metadata: { ...meta, minRuntimeVersion: '9.0.0' } });
    await expect(readBundle(future, { publicKey: signer.publicKey })).rejects.toThrow(BundleVersionError);
  });

  it('rejects path-traversal, absolute and NUL names even when correctly signed', async () => {
    const bytes = await make();
    for (const [bad, re] of [
      ['../evil.tvm', /contains '\.\.'/],
      ['a/../../evil', /contains '\.\.'/],
      ['/etc/passwd', /is absolute/],
      ['C:/x', /is absolute/],
      ['a\0b', /NUL/],
      ['a\\b', /backslash/],
      ['a//b', /empty/],
    ] as const) {
      const evil = await resign(bytes, (m) => {
        (m.files as { path: string }[])[1]!.path = bad;
      });
      const p = readBundle(evil, { publicKey: signer.publicKey });
      await expect(p).rejects.toThrow(UnsafePathError);
      await expect(p).rejects.toThrow(re);
    }
    expect(() => assertSafePath('weights/model.tvm', 'x')).not.toThrow();
  });

  it('names the manifest field that is wrong', async () => {
    const bytes = await make();
    const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
      [(m) => void (m.version = '1.0'), /version "1\.0" does not match/],
      [(m) => void (m.expiresAt = 'tomorrow'), /expiresAt "tomorrow" is not an ISO 8601 date/],
      [(m) => void (m.model = 'other.tvm'), /model "other\.tvm" is not one of the files/],
      [
        (m) => void ((m.files as { path: string }[])[1]!.path = 'model.tvm'),
        /files\[1\]\.path "model\.tvm" appears twice/,
      ],
      [
        (m) => void ((m.files as { size: number }[])[0]!.size = -1),
        /files\[0\]\.size must be a non-negative integer/,
      ],
      [
        (m) => void ((m.metadata as { inputShape: unknown }).inputShape = [1, 'x']),
        /metadata\.inputShape\[1\]/,
      ],
      [(m) => void (m.formatVersion = 2), /formatVersion 2 is not supported/],
      [
        (m) =>
          void (m.files = Array.from({ length: 65 }, (_, i) => ({
            path: `f${i}`,
            size: 0,
            sha256: '0'.repeat(64),
          }))),
        /65 files, over the limit of 64/,
      ],
    ];
    for (const [edit, re] of cases) {
      await expect(readBundle(await resign(bytes, edit), { publicKey: signer.publicKey })).rejects.toThrow(
        re,
      );
    }
  });

  it('never crashes on random corruption: every failure is a typed TinyVisionError', async () => {
    const bytes = await make();
    const rng = new Rng(3);
    let rejected = 0;
    for (let t = 0; t < 150; t++) {
      const c = bytes.slice();
      const n = 1 + Math.floor(rng.next() * 4);
      for (let k = 0; k < n; k++) c[Math.floor(rng.next() * c.length)] = Math.floor(rng.next() * 256);
      const cut = rng.next() < 0.3 ? c.subarray(0, Math.floor(rng.next() * c.length)) : c;
      try {
        await readBundle(cut, { publicKey: signer.publicKey });
      } catch (e) {
        expect(TinyVisionError.isInstance(e), String(e)).toBe(true);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(140);
  });

  it('compares versions numerically', () => {
    expect(compareVersions('1.10.0', '1.9.3')).toBeGreaterThan(0);
    expect(compareVersions('2.0.0', '2.0.0')).toBe(0);
    expect(() => compareVersions('1.0', '1.0.0')).toThrow(FormatError);
  });
});

describe('delta updates (TVDELTA1)', () => {
  it('round-trips arbitrary edits: inserts, deletes, shifts', async () => {
    const rng = new Rng(11);
    const base = new Uint8Array(50_000).map(() => Math.floor(rng.next() * 256));
    const target = new Uint8Array([
      ...base.subarray(0, 10_000),
      1,
      2,
      3,
      ...base.subarray(10_500, 40_000),
      ...base.subarray(0, 999),
    ]);
    const patch = await createDelta(base, target);
    expect(patch.length).toBeLessThan(1000);
    expect(Buffer.from(await applyDelta(base, patch)).equals(Buffer.from(target))).toBe(true);
    const empty = await createDelta(base, new Uint8Array(0));
    expect((await applyDelta(base, empty)).length).toBe(0);
  });

  it('checks the base and the result, and bounds every op', async () => {
    const base = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
    const target = base.slice();
    target[100] = 1;
    const patch = await createDelta(base, target);
    const wrongBase = base.slice();
    wrongBase[5] ^= 1;
    await expect(applyDelta(wrongBase, patch)).rejects.toThrow(BundleIntegrityError);
    const badOp = patch.slice();
    badOp[80] = 9;
    await expect(applyDelta(base, badOp)).rejects.toThrow(/unknown op 9 at byte 80/);
    await expect(applyDelta(base, patch.subarray(0, patch.length - 1))).rejects.toThrow(FormatError);
    await expect(applyDelta(base, patch, 100)).rejects.toThrow(SizeLimitError);
  });

  it('makes a model update whose second layer changed much smaller than the full bundle', async () => {
    const v1 = tinyModel(5, 256);
    const rng = new Rng(99);
    const w2 = v1.w2.add(0.01).mul(1 + rng.next());
    const v2bytes = traceModel(v1.w1, v1.b1, w2, v1.b2);
    const full = await createBundle(
      { name: 'tiny', version: '1.1.0', model: 'model.tvm', files: { 'model.tvm': v2bytes }, metadata: meta },
      signer,
    );
    const delta = await createBundle(
      {
        name: 'tiny',
        version: '1.1.0',
        model: 'model.tvm',
        files: { 'model.tvm': v2bytes },
        metadata: meta,
        base: { version: '1.0.0', files: { 'model.tvm': v1.bytes } },
      },
      signer,
    );
    // fc1 (256x16 + 256 floats) unchanged, fc2 (4x256 + 4) changed: the delta carries ~ the changed 20 %.
    expect(delta.length).toBeLessThan(full.length * 0.3);
    const b = await readBundle(delta, { publicKey: signer.publicKey });
    expect(b.manifest.baseVersion).toBe('1.0.0');
    const files = await resolveFiles(b, async () => v1.bytes, '1.0.0');
    expect(Buffer.from(files.get('model.tvm')!).equals(Buffer.from(v2bytes))).toBe(true);
    await expect(resolveFiles(b, async () => v1.bytes, '0.9.0')).rejects.toThrow(BundleVersionError);
    await expect(resolveFiles(b, async () => v2bytes, '1.0.0')).rejects.toThrow(BundleIntegrityError);
    console.log(
      `delta bundle ${delta.length} B vs full ${full.length} B (${((100 * delta.length) / full.length).toFixed(1)} %)`,
    );
  });
});
