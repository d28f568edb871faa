import { fromBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import {
  InvalidArgumentError,
  makeGraph,
  randn,
  registerBackend,
  relu,
  type Tensor,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelProtoSchema } from './generated/onnx/onnx_pb.js';
import { exportOnnx } from './writer.js';

beforeAll(() => registerBackend(cpu()));

describe('exportOnnx model fields and errors', () => {
  it('writes opset, producer, model version and metadata_props', () => {
    const g = trace((x: Tensor) => relu(x), [randn([2, 3])], { metadata: { author: 'tv', license: 'MIT' } });
    const m = fromBinary(
      ModelProtoSchema,
      exportOnnx(g, {
        opset: 15,
        producerName: 'test',
        modelVersion: 3,
        metadata: { license: 'Apache-2.0' },
      }),
    );
    expect(m.opsetImport[0]!.version).toBe(15n);
    expect(m.producerName).toBe('test');
    expect(m.modelVersion).toBe(3n);
    expect(Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]))).toEqual({
      author: 'tv',
      license: 'Apache-2.0',
    });
  });

  it('rejects an unsupported op with UnsupportedOpError naming the op and node', () => {
    const g = makeGraph({
      inputs: ['x'],
      outputs: ['y'],
      nodes: [{ name: 'unfold_7', op: 'Unfold', inputs: ['x'], outputs: ['y'], attrs: {} }],
      values: [
        { name: 'x', shape: [1, 1, 4, 4], dtype: 'float32' },
        { name: 'y', shape: [1, 4, 9], dtype: 'float32' },
      ],
    });
    expect(() => exportOnnx(g)).toThrow(UnsupportedOpError);
    expect(() => exportOnnx(g)).toThrow(/'Unfold'.*'unfold_7'/);
  });

  it('rejects non-float graphs and bad options', () => {
    const g = trace((x: Tensor) => relu(x), [randn([2, 3]).cast('float16')]);
    expect(() => exportOnnx(g)).toThrow(UnsupportedOpError);
    const f = trace((x: Tensor) => relu(x), [randn([2, 3])]);
    expect(() => exportOnnx(f, { opset: 12 })).toThrow(InvalidArgumentError);
    expect(() => exportOnnx(f, { opset: 18 })).toThrow(InvalidArgumentError);
    expect(() => exportOnnx(f, { modelVersion: -1 })).toThrow(InvalidArgumentError);
  });
});
