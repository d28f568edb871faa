// TFLite Support metadata: the M001 flatbuffer is decoded by the official flatc against metadata_schema.fbs
// (Debian flatbuffers-compiler), the appended labels zip is read by Python's zipfile, and the interpreter still
// loads the model.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpu } from '@tinyvision/backend-cpu';
import {
  flatten,
  fusedConv2d,
  globalAvgPool,
  InvalidArgumentError,
  linear,
  randn,
  registerBackend,
  type Tensor,
  trace,
} from '@tinyvision/tensor';
import { describe, expect, it } from 'vitest';
import { TFLITE_METADATA_NAME } from './metadata.js';
import { readTfliteModel } from './parse.js';
import { compareWithGraph } from './testing/oracle.js';
import { exportTflite } from './writer.js';

const SCHEMA =
  '/work/shared/specs/tflite/tflite-support/tensorflow_lite_support/metadata/metadata_schema.fbs';
const dir = mkdtempSync(join(tmpdir(), 'tv-tflite-meta-'));

registerBackend(cpu());

describe('TFLite metadata', () => {
  const w = (s: number[], n: string): Tensor => {
    const t = randn(s).mul(0.3);
    t.name = n;
    return t;
  };
  const c = w([4, 3, 3, 3], 'c');
  const fc = w([3, 4], 'fc');
  const g = trace(
    (x) => linear(flatten(globalAvgPool(fusedConv2d(x, c, null, { padding: 1, activation: 'relu' })), 1), fc),
    [randn([1, 3, 16, 12])],
  );
  const labels = ['cat', 'dog', 'bird'];
  const bytes = exportTflite(g, {
    metadata: {
      name: 'tiny-classifier',
      version: 'v2',
      author: 'tinyvision tests',
      license: 'MIT',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      labels,
    },
  });

  it('stores an M001 flatbuffer that flatc decodes with the official schema', () => {
    const p = readTfliteModel(bytes);
    const entry = p.model.metadata.find((m) => m.name === TFLITE_METADATA_NAME)!;
    const meta = p.buffers[entry.buffer]!;
    expect(new TextDecoder().decode(meta.subarray(4, 8))).toBe('M001');
    writeFileSync(join(dir, 'meta.bin'), meta);
    const r = spawnSync(
      'flatc',
      ['--json', '--strict-json', '--raw-binary', '-o', dir, SCHEMA, '--', join(dir, 'meta.bin')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(json).toMatchObject({
      name: 'tiny-classifier',
      version: 'v2',
      author: 'tinyvision tests',
      license: 'MIT',
      min_parser_version: '1.0.0',
    });
    const input = json.subgraph_metadata[0].input_tensor_metadata[0];
    expect(input.content.content_properties_type).toBe('ImageProperties');
    expect(input.content.content_properties).toMatchObject({
      color_space: 'RGB',
      default_size: { width: 12, height: 16 },
    });
    expect(input.process_units[0].options_type).toBe('NormalizationOptions');
    expect(input.process_units[0].options.mean.map((v: number) => v.toFixed(3))).toEqual([
      '0.485',
      '0.456',
      '0.406',
    ]);
    const out = json.subgraph_metadata[0].output_tensor_metadata[0];
    expect(out.associated_files[0]).toMatchObject({ name: 'labels.txt', type: 'TENSOR_AXIS_LABELS' });
  });

  it('appends labels.txt as a zip archive that Python zipfile reads, and the model still runs', () => {
    const path = join(dir, 'model.tflite');
    writeFileSync(path, bytes);
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("labels.txt").decode(), end="")',
        path,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('cat\ndog\nbird\n');
    const [res] = compareWithGraph([{ graph: g, model: bytes, inputs: [randn([1, 3, 16, 12])] }]);
    expect(res!.worst).toBeLessThanOrEqual(1e-4);
  });

  it('rejects inconsistent normalization', () => {
    expect(() => exportTflite(g, { metadata: { mean: [0.5] } })).toThrow(InvalidArgumentError);
    expect(() => exportTflite(g, { metadata: { mean: [0.5, 0.5], std: [1, 1] } })).toThrow(
      /3 input channels/,
    );
    expect(() => exportTflite(g, { metadata: { mean: [0], std: [0] } })).toThrow(/positive/);
    expect(() => exportTflite(g, { metadata: { labels: ['a\nb'] } })).toThrow(/line break/);
  });
});
