import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MODEL_NAMES } from '@tinyvision/models';
import { resetRegistry } from '@tinyvision/tensor/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { capture } from '../__fixtures__/capture.js';
import { main } from '../program.js';

const here = dirname(fileURLToPath(import.meta.url));

afterEach(() => resetRegistry());

describe('tinyvision zoo (in-process)', () => {
  it('list --json names every model with its family', async () => {
    const io = capture();
    expect(await main(['zoo', 'list', '--json'], io)).toBe(0);
    const rows = JSON.parse(io.stdout()) as { name: string; family: string; description: string }[];
    expect(rows.map((r) => r.name)).toEqual([...MODEL_NAMES]);
    expect(rows.find((r) => r.name === 'efficientnet_lite3')!.family).toBe('efficientnet_lite');
    expect(rows.every((r) => r.description.length > 0)).toBe(true);
  });

  it('list prints one line per model', async () => {
    const io = capture();
    expect(await main(['zoo', 'list'], io)).toBe(0);
    expect(io.stdout().trim().split('\n')).toHaveLength(MODEL_NAMES.length);
    expect(io.stdout()).toMatch(/^mobilenet_v1 +MobileNetV1/m);
  });

  it('info --json reports params, MACs, input shape, width and resolution', async () => {
    const io = capture();
    expect(
      await main(['zoo', 'info', 'mobilenet_v1', '--width', '0.5', '--resolution', '160', '--json'], io),
    ).toBe(0);
    const info = JSON.parse(io.stdout()) as Record<string, unknown>;
    expect(info).toMatchObject({
      name: 'mobilenet_v1',
      family: 'mobilenet_v1',
      inputShape: [1, 3, 160, 160],
      width: 0.5,
      resolution: 160,
    });
    // Paper Table 8: 0.50 MobileNet-160 has 1.32M params and 76M MACs.
    expect(Math.round((info.params as number) / 1e5) / 10).toBe(1.3);
    expect(Math.abs((info.macs as number) / 1e6 - 76)).toBeLessThan(1); // paper truncates 76.6M
  });

  it('info applies --num-classes and prints text without --json', async () => {
    const io = capture();
    expect(await main(['zoo', 'info', 'efficientnet_lite0', '--num-classes', '10'], io)).toBe(0);
    // 4,652,008 parameters with 1000 classes; the classifier shrinks by 990 · (1280 + 1).
    const params = 4652008 - 990 * 1281;
    expect(io.stdout()).toMatch(new RegExp(`^ {2}params +${params} `, 'm'));
    expect(io.stdout()).toMatch(/^ {2}input +\[1, 3, 224, 224\]$/m);
    expect(io.stdout()).toMatch(/^efficientnet_lite0 \(efficientnet_lite\)$/m);
  });

  it('an unknown name exits 1 listing the valid names', async () => {
    const io = capture();
    expect(await main(['zoo', 'info', 'resnet18'], io)).toBe(1);
    expect(io.stderr()).toMatch(/unknown model 'resnet18'; valid names: mobilenet_v1, mobilenet_v2, /);
    expect(io.stdout()).toBe('');
  });

  it('an invalid width exits 1 listing the valid values', async () => {
    for (const [name, width, pattern] of [
      [
        'mobilenet_v1',
        'abc',
        /'width' must be a finite number in \(0, 4\] \(published: 0\.25, 0\.5, 0\.75, 1\)/,
      ],
      ['mobilenet_v2', '9', /'width' must be .*published: 0\.35, 0\.5, 0\.75, 1\.0, 1\.4/],
      ['efficientnet_lite1', '1.2', /'width' is fixed by the variant to 1 /],
    ] as const) {
      const io = capture();
      expect(await main(['zoo', 'info', name, '--width', width], io)).toBe(1);
      expect(io.stderr()).toMatch(pattern);
    }
  });

  it('a missing name is a usage error', async () => {
    const io = capture();
    expect(await main(['zoo', 'info'], io)).not.toBe(0);
    expect(io.stderr()).toMatch(/missing required argument 'name'/);
  });
});

describe('tinyvision zoo (child process via tsx)', () => {
  const run = promisify(execFile);
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const bin = join(here, '../bin.ts');
  const exec = (args: string[]) =>
    run(process.execPath, [tsxCli, '--conditions=@tinyvision/source', bin, ...args], {
      env: { ...process.env },
    });

  it('zoo info mobilenet_v2 --json prints torchvision num_params 3504872', async () => {
    const { stdout } = await exec(['zoo', 'info', 'mobilenet_v2', '--json']);
    const info = JSON.parse(stdout) as { name: string; params: number; macs: number; inputShape: number[] };
    expect(info.name).toBe('mobilenet_v2');
    expect(info.params).toBe(3504872);
    expect(info.inputShape).toEqual([1, 3, 224, 224]);
    expect(info.macs).toBe(300774272); // torchvision's MAC count (zoo/__fixtures__/params.json macs224)
  });

  it('an unknown name exits 1 with the valid names on stderr', async () => {
    const err = (await exec(['zoo', 'info', 'nope']).catch((e: unknown) => e)) as {
      code?: number;
      stderr?: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/unknown model 'nope'; valid names: .*efficientnet_lite4/);
  });
});
