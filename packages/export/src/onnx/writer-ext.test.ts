// Writer extensions checked by onnxruntime-node and the ONNX checker: fp16 weights, external data, metadata.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import {
  conv2d,
  type Graph,
  globalAvgPool,
  linear,
  manualSeed,
  optimizeGraph,
  randn,
  registerBackend,
  relu,
  runGraph,
  type Tensor,
  trace,
} from '@tinyvision/tensor';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnxCheck, verifyOnnx } from '../test/onnx-oracle.js';
import { ModelProtoSchema, TensorProto_DataType } from './generated/onnx/onnx_pb.js';
import { loadOnnx } from './load.js';
import { saveOnnxFiles } from './save.js';
import { exportOnnx } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tv-onnx-ext-'));
let graph: Graph;

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(3);
  const w = (shape: number[], name: string): Tensor => {
    const t = randn(shape).mul(0.2);
    t.name = name;
    return t;
  };
  const c1 = w([16, 3, 3, 3], 'c1');
  const c2 = w([32, 16, 3, 3], 'c2');
  const fc = w([10, 32], 'fc');
  const metadata = {
    preprocessing: JSON.stringify({
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      layout: 'NCHW',
    }),
    labels: JSON.stringify(['t-shirt', 'trouser', 'pullover']),
  };
  graph = optimizeGraph(
    trace(
      (x: Tensor) =>
        linear(
          globalAvgPool(
            relu(conv2d(relu(conv2d(x, c1, null, { padding: 1 })), c2, null, { stride: 2 })),
          ).reshape([-1, 32]),
          fc,
        ),
      [randn([2, 3, 16, 16])],
      { dynamicBatch: true, metadata },
    ),
  );
});

describe('exportOnnx extensions', () => {
  it('fp16 weights: FLOAT16 initializers widened by Cast, half the size, runs in onnxruntime within fp16 error', async () => {
    const bytes = exportOnnx(graph, { dtype: 'float16' });
    const m = fromBinary(ModelProtoSchema, bytes);
    const types = new Set(m.graph!.initializer.filter((t) => t.dims.length > 1).map((t) => t.dataType));
    expect([...types]).toEqual([TensorProto_DataType.FLOAT16]);
    expect(m.graph!.node.filter((n) => n.opType === 'Cast').length).toBeGreaterThanOrEqual(3);
    expect(bytes.length).toBeLessThan(exportOnnx(graph).length * 0.6);
    const r = await verifyOnnx(graph, [[randn([2, 3, 16, 16])]], { dtype: 'float16' });
    expect(r.worst).toBeGreaterThan(0); // fp16 rounding is visible…
    expect(r.worst).toBeLessThan(5e-3); // …but within half precision of the output range
  });

  it('external data: saveOnnx writes model + .data; onnxruntime, the checker and loadOnnx read it', async () => {
    const path = join(dir, 'ext.onnx');
    await saveOnnxFiles(path, graph, { externalData: true, externalDataThreshold: 256 });
    expect(statSync(`${path}.data`).size).toBeGreaterThan(4 * 16 * 32 * 9);
    expect(statSync(path).size).toBeLessThan(statSync(`${path}.data`).size / 4);
    onnxCheck(path);
    const x = randn([3, 3, 16, 16]);
    const want = runGraph(graph, [x]).outputs[0]!.toFloat32();
    const session = await ort.InferenceSession.create(path);
    const got = (
      await session.run({ [graph.inputs[0]!]: new ort.Tensor('float32', x.toFloat32(), [3, 3, 16, 16]) })
    )[graph.outputs[0]!]!.data as Float32Array;
    await session.release();
    const back = await loadOnnx(path);
    const ours = runGraph(back, [x]).outputs[0]!.toFloat32();
    for (let i = 0; i < want.length; i++) {
      expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
      expect(ours[i]).toBe(want[i]);
    }
  });

  it('metadata_props carry preprocessing and labels (read back by python onnx and importOnnx)', async () => {
    const path = join(dir, 'meta.onnx');
    await saveOnnxFiles(path, graph);
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys,onnx,json; m=onnx.load(sys.argv[1]); print(json.dumps({p.key: p.value for p in m.metadata_props}))',
        path,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const props = JSON.parse(r.stdout) as Record<string, string>;
    expect(JSON.parse(props.preprocessing!)).toMatchObject({ layout: 'NCHW', mean: [0.485, 0.456, 0.406] });
    expect(JSON.parse(props.labels!)).toEqual(['t-shirt', 'trouser', 'pullover']);
    expect((await loadOnnx(path)).metadata).toEqual(graph.metadata);
  });
});
