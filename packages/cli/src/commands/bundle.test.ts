import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import {
  decodeTvm,
  encodeTvm,
  linear,
  Rng,
  randn,
  registerBackend,
  runGraph,
  softmax,
  tensor,
  trace,
} from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

registerBackend(cpu());

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** A tiny traced model (16 → 4, softmax) with seeded random weights, weight `w` scaled by `k`. */
function model(k: number): Uint8Array {
  const rng = new Rng(3);
  const w = randn([4, 16], { rng }).mul(k);
  const b = randn([4], { rng });
  w.name = 'fc.weight';
  b.name = 'fc.bias';
  return encodeTvm(trace((x) => softmax(linear(x, w, b), -1), [randn([1, 16], { rng })]));
}

const INPUT = Array.from({ length: 16 }, (_, i) => i / 16);

describe('tinyvision keygen / bundle', () => {
  it('creates, verifies, installs, updates with a delta, rolls back and reports status', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tv-cli-bundle-'));
    expect((await run(['keygen', '-o', join(dir, 'keys')])).code).toBe(0);
    const key = join(dir, 'keys', 'bundle-signing.key');
    const pub = join(dir, 'keys', 'bundle-signing.pub');
    await writeFile(join(dir, 'm1.tvm'), model(1));
    await writeFile(join(dir, 'm2.tvm'), model(2));
    await writeFile(join(dir, 'labels.txt'), 'a\nb\nc\nd\n');
    const c1 = await run([
      'bundle',
      'create',
      join(dir, 'm1.tvm'),
      '--name',
      'tiny',
      '--version',
      '1.0.0',
      '--key',
      key,
      '-o',
      join(dir, 'v1.tvb'),
      '--labels',
      join(dir, 'labels.txt'),
    ]);
    expect(c1.err).toBe('');
    expect(c1.out).toMatch(/tiny 1\.0\.0/);
    const v = await run(['bundle', 'verify', join(dir, 'v1.tvb'), '--pubkey', pub, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.out).metadata).toMatchObject({
      inputShape: [1, 16],
      labels: ['a', 'b', 'c', 'd'],
      targetBackend: 'cpu',
    });
    const models = join(dir, 'models');
    expect(
      (await run(['bundle', 'install', join(dir, 'v1.tvb'), '--dir', models, '--pubkey', pub])).out,
    ).toMatch(/installed 1\.0\.0/);
    // a delta update: same file name inside the bundle
    await writeFile(join(dir, 'm1.tvm'), model(2));
    const c2 = await run([
      'bundle',
      'create',
      join(dir, 'm1.tvm'),
      '--name',
      'tiny',
      '--version',
      '1.1.0',
      '--key',
      key,
      '-o',
      join(dir, 'v2.tvb'),
      '--labels',
      join(dir, 'labels.txt'),
      '--base',
      join(dir, 'v1.tvb'),
    ]);
    expect(c2.out).toMatch(/delta from 1\.0\.0/);
    const expected = Array.from(
      runGraph(decodeTvm(model(2)), [tensor(INPUT, [1, 16])]).outputs[0]!.dataSync(),
    );
    await writeFile(join(dir, 'health.json'), JSON.stringify({ input: INPUT, expected, tolerance: 1e-5 }));
    const i2 = await run([
      'bundle',
      'install',
      join(dir, 'v2.tvb'),
      '--dir',
      models,
      '--pubkey',
      pub,
      '--health',
      join(dir, 'health.json'),
    ]);
    expect(i2.err).toBe('');
    expect(i2.out).toMatch(/installed 1\.1\.0 \(previous: 1\.0\.0\)/);
    const st = await run(['bundle', 'status', '--dir', models, '--verify', '--json']);
    expect(JSON.parse(st.out)).toMatchObject({
      current: { version: '1.1.0' },
      previous: { version: '1.0.0' },
    });
    const down = await run(['bundle', 'install', join(dir, 'v1.tvb'), '--dir', models, '--pubkey', pub]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/BundleVersionError: .*not newer than installed 1\.1\.0/);
    expect((await run(['bundle', 'rollback', '--dir', models])).out).toMatch(/rolled back to 1\.0\.0/);
    expect((await run(['bundle', 'status', '--dir', models])).out).toMatch(/current: +tiny 1\.0\.0/);
  });

  it('bundle verify exits non-zero on any tampering, a wrong key or an expired bundle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tv-cli-verify-'));
    await run(['keygen', '-o', join(dir, 'k1')]);
    await run(['keygen', '-o', join(dir, 'k2')]);
    await writeFile(join(dir, 'm.tvm'), model(1));
    const key = join(dir, 'k1', 'bundle-signing.key');
    const pub = join(dir, 'k1', 'bundle-signing.pub');
    expect(
      (
        await run([
          'bundle',
          'create',
          join(dir, 'm.tvm'),
          '--version',
          '1.0.0',
          '--key',
          key,
          '-o',
          join(dir, 'b.tvb'),
        ])
      ).code,
    ).toBe(0);
    const good = await readFile(join(dir, 'b.tvb'));
    expect((await run(['bundle', 'verify', join(dir, 'b.tvb'), '--pubkey', pub])).out).toMatch(/^OK /);
    const wrong = await run([
      'bundle',
      'verify',
      join(dir, 'b.tvb'),
      '--pubkey',
      join(dir, 'k2', 'bundle-signing.pub'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/BundleSignatureError/);
    // flip one byte at a spread of positions: header, manifest, signature, payload
    const rng = new Rng(8);
    const positions = [
      0,
      9,
      13,
      40,
      200,
      good.length - 70,
      good.length - 1,
      ...Array.from({ length: 8 }, () => Math.floor(rng.next() * good.length)),
    ];
    for (const p of positions) {
      const t = Buffer.from(good);
      t[p] = t[p]! ^ 0x5a;
      await writeFile(join(dir, 't.tvb'), t);
      const r = await run(['bundle', 'verify', join(dir, 't.tvb'), '--pubkey', pub]);
      expect(r.code, `byte ${p}`).toBe(1);
      expect(r.err).toMatch(
        /^tinyvision bundle verify: (FormatError|BundleSignatureError|BundleIntegrityError|SizeLimitError): /,
      );
    }
    expect(
      (
        await run([
          'bundle',
          'create',
          join(dir, 'm.tvm'),
          '--version',
          '1.0.0',
          '--key',
          key,
          '-o',
          join(dir, 'old.tvb'),
          '--ttl-days',
          '-1',
        ])
      ).code,
    ).toBe(0);
    const expired = await run(['bundle', 'verify', join(dir, 'old.tvb'), '--pubkey', pub]);
    expect(expired.code).toBe(1);
    expect(expired.err).toMatch(/BundleExpiredError/);
  });

  it('serve-updates and serve run real HTTP servers until SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tv-cli-serve-'));
    await run(['keygen', '-o', join(dir, 'k')]);
    await writeFile(join(dir, 'm.tvm'), model(1));
    await mkdir(join(dir, 'rel'));
    await run([
      'bundle',
      'create',
      join(dir, 'm.tvm'),
      '--name',
      'tiny',
      '--version',
      '1.0.0',
      '--key',
      join(dir, 'k', 'bundle-signing.key'),
      '-o',
      join(dir, 'rel', 'tiny-1.0.0.tvb'),
    ]);
    const io = capture();
    const done = main(['serve-updates', join(dir, 'rel'), '--port', '0'], io);
    await expect.poll(() => io.stdout(), { timeout: 10_000 }).toMatch(/at http/);
    const url = /at (http:\/\/[^/]+)\//.exec(io.stdout())![1]!;
    const u = await run([
      'bundle',
      'update',
      url,
      '--dir',
      join(dir, 'models'),
      '--pubkey',
      join(dir, 'k', 'bundle-signing.pub'),
    ]);
    expect(u.err).toBe('');
    expect(u.out).toMatch(/installed 1\.0\.0/);
    process.emit('SIGINT');
    expect(await done).toBe(0);

    const io2 = capture();
    const serving = main(['serve', join(dir, 'models'), '--port', '0'], io2);
    await expect.poll(() => io2.stdout(), { timeout: 10_000 }).toMatch(/at http/);
    const url2 = /at (http:\/\/[^/]+)\//.exec(io2.stdout())![1]!;
    const res = await fetch(`${url2}/predict`, { method: 'POST', body: JSON.stringify({ input: INPUT }) });
    const body = (await res.json()) as { output: number[] };
    const want = Array.from(runGraph(decodeTvm(model(1)), [tensor(INPUT, [1, 16])]).outputs[0]!.dataSync());
    body.output.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6));
    process.emit('SIGINT');
    expect(await serving).toBe(0);
  });
});
