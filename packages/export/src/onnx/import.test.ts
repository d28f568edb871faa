// importOnnx: round trips through our own writer, typed errors, opset handling and a seeded fuzz test.
import { create, toBinary } from '@bufbuild/protobuf';
import { cpu } from '@tinyvision/backend-cpu';
import {
  add,
  batchNorm,
  conv2d,
  FormatError,
  type Graph,
  globalAvgPool,
  hardSwish,
  linear,
  manualSeed,
  maxPool2d,
  optimizeGraph,
  Rng,
  randn,
  registerBackend,
  relu,
  runGraph,
  softmax,
  type Tensor,
  TinyVisionError,
  trace,
  UnsupportedOpError,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProto_DataType,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from './generated/onnx/onnx_pb.js';
import { importOnnx, onnxImportableOps } from './import.js';
import { exportOnnx } from './writer.js';

beforeAll(() => {
  registerBackend(cpu());
  manualSeed(11);
});

const w = (shape: number[], name: string): Tensor => {
  const t = randn(shape).mul(0.3);
  t.name = name;
  return t;
};

/** A small CNN: conv → BN → relu → maxpool → conv → hardswish + residual → GAP → linear → softmax. */
function smallCnn(dynamicBatch: boolean): Graph {
  const w1 = w([8, 3, 3, 3], 'w1');
  const w2 = w([8, 8, 3, 3], 'w2');
  const mean = w([8], 'mean');
  const v = randn([8]).abs().add(0.5);
  v.name = 'var';
  const fc = w([5, 8], 'fc');
  const b = w([5], 'fc_b');
  return trace(
    (x: Tensor) => {
      let y = relu(batchNorm(conv2d(x, w1, null, { padding: 1 }), { runningMean: mean, runningVar: v }));
      y = maxPool2d(y, { kernelSize: 2 });
      y = add(hardSwish(conv2d(y, w2, null, { padding: 1 })), y);
      return softmax(linear(globalAvgPool(y).reshape([-1, 8]), fc, b), -1);
    },
    [randn([2, 3, 16, 16])],
    { dynamicBatch, metadata: { labels: 'a,b,c,d,e', mean: '0.5' } },
  );
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(b.shape).toEqual(a.shape);
  const x = a.toFloat32();
  const y = b.toFloat32();
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

function tensorInput(name: string, dims: (number | string)[], elemType = TensorProto_DataType.FLOAT) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value:
                  typeof d === 'number'
                    ? { case: 'dimValue', value: BigInt(d) }
                    : { case: 'dimParam', value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

function oneNodeModel(opType: string, opset = 13, domain = ''): Uint8Array {
  const node = create(NodeProtoSchema, {
    name: 'the_node',
    opType,
    domain,
    input: ['x'],
    output: ['y'],
    attribute: [
      create(AttributeProtoSchema, { name: 'alpha', type: AttributeProto_AttributeType.FLOAT, f: 0.5 }),
    ],
  });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
      graph: create(GraphProtoSchema, {
        name: 'g',
        node: [node],
        input: [tensorInput('x', ['N', 4])],
        output: [tensorInput('y', ['N', 4])],
      }),
    }),
  );
}

describe('importOnnx', () => {
  it.each([13, 17])(
    'round-trips a traced CNN exported at opset %i (runGraph matches the source graph)',
    (opset) => {
      const g = smallCnn(true);
      const back = importOnnx(exportOnnx(g, { opset }));
      expect(back.metadata).toMatchObject({ labels: 'a,b,c,d,e', mean: '0.5' });
      expect(back.values.get(back.inputs[0]!)?.shape).toEqual(['N', 3, 16, 16]);
      for (const batch of [1, 3]) {
        const x = randn([batch, 3, 16, 16]);
        const want = runGraph(g, [x]).outputs[0]!;
        const got = runGraph(back, [x]).outputs[0]!;
        expect(maxDiff(want, got)).toBeLessThan(1e-5);
      }
    },
  );

  it('round-trips an optimised (BN-folded, fused) graph', () => {
    const g = optimizeGraph(smallCnn(false));
    const back = importOnnx(exportOnnx(g));
    const x = randn([2, 3, 16, 16]);
    expect(maxDiff(runGraph(g, [x]).outputs[0]!, runGraph(back, [x]).outputs[0]!)).toBeLessThan(1e-5);
  });

  it('maps ONNX attribute defaults (LeakyRelu alpha from the model, opset ≥ 7)', () => {
    const g = importOnnx(oneNodeModel('LeakyRelu'));
    expect(g.nodes).toHaveLength(1);
    expect(g.nodes[0]).toMatchObject({ op: 'LeakyRelu', attrs: { alpha: 0.5 } });
    expect(g.values.get('y')?.shape).toEqual(['N', 4]);
  });

  it('names the node and op of an unsupported op', () => {
    expect(() => importOnnx(oneNodeModel('Sin'))).toThrow(UnsupportedOpError);
    expect(() => importOnnx(oneNodeModel('Sin'))).toThrow(/node 'the_node'.*'Sin'/);
    expect(() => importOnnx(oneNodeModel('Relu', 13, 'com.microsoft'))).toThrow(/com\.microsoft\.Relu/);
    expect(() => importOnnx(oneNodeModel('Relu', 99))).toThrow(/opset 99/);
  });

  it('rejects non-models with FormatError', () => {
    expect(() => importOnnx(new Uint8Array())).toThrow(FormatError);
    expect(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(FormatError);
    expect(() => importOnnx(new TextEncoder().encode('not a model at all'))).toThrow(TinyVisionError);
    const empty = toBinary(ModelProtoSchema, create(ModelProtoSchema, { irVersion: 8n }));
    expect(() => importOnnx(empty)).toThrow(/no graph/);
  });

  it('turns a 100 000-level nested subgraph chain (stack exhaustion) into FormatError', () => {
    // ModelProto.graph(7) → GraphProto.node(1) → NodeProto.attribute(5) → AttributeProto.g(6) → GraphProto …
    const varint = (n: number): number[] => {
      const out: number[] = [];
      while (n > 127) {
        out.push((n & 127) | 128);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    // outermost first: node(1), attribute(5), g(6), node(1), …; wrapped innermost first
    const outer = Array.from({ length: 99_999 }, (_, i) => [1, 5, 6][i % 3]!);
    let chunks: number[][] = [];
    let len = 0;
    const wrap = (field: number) => {
      const head = [(field << 3) | 2, ...varint(len)];
      chunks.push(head);
      len += head.length;
    };
    for (const f of outer.reverse()) wrap(f);
    wrap(7);
    chunks = chunks.reverse();
    const bytes = new Uint8Array(len);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    expect(() => importOnnx(bytes)).toThrow(FormatError);
    expect(() => importOnnx(bytes)).toThrow(/not a valid ONNX ModelProto/);
  });

  it('lists the importable ops', () => {
    const ops = onnxImportableOps();
    for (const op of ['Conv', 'Gemm', 'Resize', 'QuantizeLinear', 'QLinearConv', 'Range'])
      expect(ops).toContain(op);
  });

  it('fuzz: mutated and truncated exports raise only typed errors, never hang (seeded)', () => {
    const base = exportOnnx(optimizeGraph(smallCnn(true)));
    const rng = new Rng(1234);
    const start = Date.now();
    const kinds = new Map<string, number>();
    let ok = 0;
    for (let k = 0; k < 3000; k++) {
      let bytes: Uint8Array;
      const mode = k % 4;
      if (mode === 0) bytes = base.slice(0, rng.int(base.length));
      else {
        bytes = base.slice();
        const flips = 1 + rng.int(mode === 3 ? 64 : 4);
        for (let f = 0; f < flips; f++) {
          // small models put the structure in the last kilobytes; bias mutations there half of the time
          const at =
            rng.next() < 0.5 ? base.length - 1 - rng.int(Math.min(base.length, 4096)) : rng.int(base.length);
          bytes[at] = mode === 2 ? bytes[at]! ^ (1 << rng.int(8)) : rng.int(256);
        }
      }
      try {
        importOnnx(bytes);
        ok++;
      } catch (e) {
        if (!TinyVisionError.isInstance(e)) throw new Error(`case ${k}: untyped ${String(e)}`);
        const name = (e as Error).constructor.name;
        kinds.set(name, (kinds.get(name) ?? 0) + 1);
      }
    }
    expect(Date.now() - start).toBeLessThan(30_000);
    expect(kinds.get('FormatError') ?? 0).toBeGreaterThan(100);
    expect(ok + [...kinds.values()].reduce((a, b) => a + b, 0)).toBe(3000);
  }, 60_000);
});
