import { cpu } from '@tinyvision/backend-cpu';
import { createModel, type ModelName, traceModule } from '@tinyvision/models';
import {
  conv2d,
  dequantizeLinear,
  type Graph,
  gelu,
  hardSwish,
  InvalidArgumentError,
  optimizeGraph,
  quantizeLinear,
  quantParams,
  randn,
  registerBackend,
  relu,
  type Tensor,
  trace,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCompatibility, formatCompatibilityReport } from './check.js';

beforeAll(() => {
  registerBackend(cpu());
});

function zoo(name: ModelName): Graph {
  return optimizeGraph(
    traceModule(createModel(name, { resolution: 64, numClasses: 10 }), [randn([1, 3, 64, 64])]),
  );
}

const act = quantParams(0.05, 3);
const w8 = () => quantizeLinear(randn([8, 8, 3, 3]), quantParams(Array(8).fill(0.02), 0, 0));

/** A full-integer QDQ graph (docs/decisions/0003): Q → DQ → conv → Q → DQ → [mid] → Q → DQ → conv → Q → DQ. */
function qdqGraph(mid: (x: Tensor) => Tensor, batch = 1): Graph {
  const wa = w8();
  const wb = w8();
  const qdq = (t: Tensor) => dequantizeLinear(quantizeLinear(t, act));
  return trace(
    (x: Tensor) => {
      const a = qdq(conv2d(qdq(x), dequantizeLinear(wa), null, { padding: 1 }));
      const b = qdq(mid(a));
      return qdq(conv2d(b, dequantizeLinear(wb), null, { padding: 1 }));
    },
    [randn([batch, 8, 8, 8])],
    batch > 1 ? { dynamicBatch: true } : {},
  );
}

describe('checkCompatibility', () => {
  it('float MobileNetV2 runs whole on NNAPI and WebNN, but not on the int8-only Edge TPU', () => {
    const g = zoo('mobilenet_v2');
    for (const t of ['nnapi', 'webnn'] as const) {
      const r = checkCompatibility(g, t);
      expect(r.summary.fullyOnAccelerator, JSON.stringify(r.nodes.filter((n) => !n.supported))).toBe(true);
      expect(r.partitions).toHaveLength(1);
    }
    const e = checkCompatibility(g, 'edgetpu');
    expect(e.summary.precision).toBe('float');
    expect(e.summary.onAccelerator).toBe(0);
    expect(e.suggestions[0]).toMatch(/quantize the whole model to int8/);
    expect(e.nodes[0]?.reasons.join()).toMatch(/full-integer/);
  });

  it('MobileNetV3: hard-swish/hard-sigmoid map as ADD + RELU6 + MUL; the float graph still misses the Edge TPU', () => {
    const g = zoo('mobilenet_v3_small');
    const n = checkCompatibility(g, 'nnapi', { apiLevel: 30 });
    expect(n.summary.fullyOnAccelerator, JSON.stringify(n.nodes.filter((x) => !x.supported))).toBe(true);
    expect(n.nodes.find((x) => x.op === 'FusedConv2D' && x.note)?.note).toMatch(
      /fused Hard(Swish|Sigmoid) as Add \+ Relu6 \+ Mul/,
    );
    const e = checkCompatibility(g, 'edgetpu');
    expect(e.summary.fullyOnAccelerator).toBe(false);
    expect(e.summary.precision).toBe('float');
  });

  it('MobileViT on NNAPI: BATCH_MATMUL needs API 31, no layer norm, at most 3 delegated partitions', () => {
    const g = optimizeGraph(
      traceModule(createModel('mobilevit_xxs', { resolution: 64, numClasses: 10 }), [randn([1, 3, 64, 64])]),
    );
    const r = checkCompatibility(g, 'nnapi', { apiLevel: 30 });
    expect(r.nodes.find((x) => x.op === 'MatMul')?.reasons.join()).toMatch(
      /BATCH_MATMUL needs NNAPI API level 31/,
    );
    expect(r.nodes.find((x) => x.op === 'LayerNorm')?.supported).toBe(false);
    expect(r.suggestions.join()).toMatch(/LayerNorm: NNAPI has no layer norm/);
    expect(r.summary.acceleratorPartitions).toBeLessThanOrEqual(3);
    expect(
      r.nodes.some(
        (x) => x.supported && x.placement === 'fallback' && /partition cap/.test(x.reasons.join()),
      ),
    ).toBe(true);
    expect(
      checkCompatibility(g, 'nnapi', { apiLevel: 31 }).nodes.find((x) => x.op === 'MatMul')?.supported,
    ).toBe(true);
  });

  it('a full-integer QDQ graph maps whole onto the Edge TPU', () => {
    const r = checkCompatibility(
      qdqGraph((x) => relu(x)),
      'edgetpu',
    );
    expect(r.summary.precision).toBe('int8');
    expect(r.summary.fullyOnAccelerator, formatCompatibilityReport(r)).toBe(true);
    expect(r.suggestions).toEqual([]);
  });

  it('the Edge TPU compiler stops at the first unsupported op: later supported ops go to the CPU', () => {
    const r = checkCompatibility(
      qdqGraph((x) => gelu(x)),
      'edgetpu',
    );
    const first = r.nodes.findIndex((n) => !n.supported);
    expect(r.nodes[first]?.op).toBe('Gelu');
    const after = r.nodes.slice(first + 1);
    expect(after.length).toBeGreaterThan(2);
    expect(after.every((n) => n.placement === 'fallback')).toBe(true);
    expect(after.some((n) => n.supported && /first unsupported op/.test(n.reasons.join()))).toBe(true);
    expect(r.partitions.map((p) => p.placement)).toEqual(['accelerator', 'fallback']);
  });

  it('segment partitioning around an unsupported op (WebNN has no Unfold; NNAPI has no GELU)', () => {
    const r = checkCompatibility(
      qdqGraph((x) => gelu(x)),
      'nnapi',
    );
    expect(r.partitions.map((p) => p.placement)).toEqual(['accelerator', 'fallback', 'accelerator']);
    expect(r.suggestions.join()).toMatch(/Gelu: GELU has no NNAPI op/);
  });

  it('dynamic batch and rank rules are reported with the tensor', () => {
    const r = checkCompatibility(
      qdqGraph((x) => relu(x), 2),
      'edgetpu',
    );
    expect(r.nodes.some((n) => n.reasons.some((x) => x.includes("dynamic dim 'N'")))).toBe(true);
    expect(r.suggestions.join()).toMatch(/fixed batch size of 1/);
    const big = trace((x: Tensor) => relu(x), [randn([2, 3, 4, 4])]);
    expect(checkCompatibility(big, 'edgetpu').nodes[0]?.reasons.join()).toMatch(/only the 3 innermost dims/);
  });

  it('hard-swish inside a QDQ graph maps onto the Edge TPU as a decomposition', () => {
    const r = checkCompatibility(
      qdqGraph((x) => hardSwish(x)),
      'edgetpu',
    );
    expect(r.summary.fullyOnAccelerator, formatCompatibilityReport(r)).toBe(true);
    expect(r.nodes.find((n) => n.op === 'HardSwish')?.note).toBe('HardSwish as Add + Relu6 + Mul');
  });

  it('rejects an unknown target with a typed error', () => {
    expect(() => checkCompatibility(zoo('mobilenet_v1'), 'tpu' as 'edgetpu')).toThrow(InvalidArgumentError);
  });

  it('formats a Markdown report', () => {
    const md = formatCompatibilityReport(checkCompatibility(zoo('mobilenet_v3_small'), 'edgetpu'));
    expect(md).toMatch(/^## MobileNetV3 on Coral Edge TPU/);
    expect(md).toContain('| # | placement | nodes | from | to |');
    expect(md).toContain('What to change:');
  });
});
