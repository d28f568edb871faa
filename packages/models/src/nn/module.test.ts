import { cpu } from '@tinyvision/backend-cpu';
import {
  InvalidArgumentError,
  mul,
  ones,
  randn,
  registerBackend,
  relu,
  type Tensor,
  tensor,
  zeros,
} from '@tinyvision/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { StateDictError } from './errors.js';
import {
  BatchNorm2d,
  Conv2d,
  Dropout,
  Identity,
  Linear,
  Module,
  ModuleList,
  ReLU,
  Sequential,
} from './index.js';

beforeAll(() => registerBackend(cpu()));

class Block extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly scale: Tensor;
  constructor(inC: number) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, 4, 3, { padding: 1 }));
    this.bn = this.registerModule('bn', new BatchNorm2d(4));
    this.scale = this.registerParameter('scale', ones([1]));
    this.registerBuffer('counter', zeros([2]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    return mul(relu(this.bn.call(this.conv.call(x))), this.scale);
  }
}

class Net extends Module {
  readonly features = this.registerModule('features', new Sequential(new Block(2), new Block(4)));
  readonly head = this.registerModule('head', new Linear(4, 3));
  forward(x: Tensor): Tensor {
    return this.head.call(this.features.call(x).mean({ axes: [2, 3] }));
  }
}

function expectError(fn: () => unknown, cls: { isInstance(e: unknown): boolean }, re: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(cls.isInstance(caught), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(re);
}

describe('Module registration and naming', () => {
  it('names parameters torch-style, params before buffers per module, pre-order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'features.0.scale',
      'features.0.conv.weight',
      'features.0.conv.bias',
      'features.0.bn.weight',
      'features.0.bn.bias',
      'features.1.scale',
      'features.1.conv.weight',
      'features.1.conv.bias',
      'features.1.bn.weight',
      'features.1.bn.bias',
      'head.weight',
      'head.bias',
    ]);
    const keys = [...net.stateDict().keys()];
    expect(keys.slice(0, 8)).toEqual([
      'features.0.scale',
      'features.0.conv.weight',
      'features.0.conv.bias',
      'features.0.bn.weight',
      'features.0.bn.bias',
      'features.0.bn.running_mean',
      'features.0.bn.running_var',
      'features.0.bn.num_batches_tracked',
    ]);
    // non-persistent buffers are buffers but not state
    expect(net.namedBuffers().map(([n]) => n)).toContain('features.1.counter');
    expect(keys).not.toContain('features.1.counter');
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    // names are set for the tracer
    expect((net.features.at(1) as Block).conv.weight.name).toBe('features.1.conv.weight');
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'features',
      'features.0',
      'features.0.conv',
      'features.0.bn',
      'features.1',
      'features.1.conv',
      'features.1.bn',
      'head',
    ]);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['features', 'head']);
    expect(net.children()).toEqual([net.features, net.head]);
    expect(net.head.namedParameters('head').map(([n]) => n)).toEqual(['head.weight', 'head.bias']);
    expect(net.namedParameters('', false)).toEqual([]);
  });

  it('skips null parameters and lists shared ones once', () => {
    const conv = new Conv2d(1, 1, 1, { bias: false });
    expect([...conv.stateDict().keys()]).toEqual(['weight']);
    const lin = new Linear(2, 2);
    const shared = new Sequential(lin, new ReLU(), lin);
    expect(shared.parameters()).toHaveLength(2);
    expect(shared.numParameters()).toBe(6);
    expect(new Linear(16, 10).numParameters()).toBe(170);
  });

  it('rejects bad names and kind clashes', () => {
    const m = new Identity();
    expectError(() => m.registerParameter('a.b', ones([1])), InvalidArgumentError, /without '\.'/);
    expectError(() => m.registerParameter('', ones([1])), InvalidArgumentError, /non-empty/);
    m.registerBuffer('x', ones([1]));
    expectError(() => m.registerModule('x', new ReLU()), InvalidArgumentError, /already registered/);
    expectError(() => m.registerParameter('p', [1] as never), InvalidArgumentError, /Tensor or null/);
  });

  it('apply visits children before the parent; train/eval recurse', () => {
    const net = new Net();
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen.at(-1)).toBe('Net');
    expect(seen.indexOf('Block')).toBeGreaterThan(seen.indexOf('Conv2d'));
    expect(
      net
        .eval()
        .namedModules()
        .every(([, m]) => !m.training),
    ).toBe(true);
    expect(
      net
        .train()
        .namedModules()
        .every(([, m]) => m.training),
    ).toBe(true);
    net.head.eval();
    expect([net.training, net.head.training]).toEqual([true, false]);
  });
});

describe('hooks', () => {
  it('pre-hooks replace inputs, hooks replace outputs, handles remove them', () => {
    const m = new ReLU();
    const calls: string[] = [];
    const h1 = m.registerForwardPreHook((_m, inputs) => {
      calls.push('pre');
      return [mul(inputs[0]!, -1)];
    });
    const h2 = m.registerForwardHook((mod, inputs, out) => {
      calls.push(`post:${mod === m}:${inputs.length}`);
      return mul(out, 10);
    });
    expect(m.call(tensor([-1, 2])).toArray()).toEqual([10, 0]);
    expect(calls).toEqual(['pre', 'post:true:1']);
    h1.remove();
    h1.remove();
    expect(m.call(tensor([-1, 2])).toArray()).toEqual([0, 20]);
    h2.remove();
    expect(m.call(tensor([-1, 2])).toArray()).toEqual([0, 2]);
    // a hook returning nothing keeps the output
    m.registerForwardHook(() => undefined);
    expect(m.call(tensor([3])).toArray()).toEqual([3]);
  });

  it('runs hooks of submodules inside a Sequential', () => {
    const net = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
    const shapes: number[][] = [];
    for (const m of net) m.registerForwardHook((_m, _i, out) => void shapes.push([...out.shape]));
    net.call(randn([5, 3]));
    expect(shapes).toEqual([
      [5, 4],
      [5, 4],
      [5, 2],
    ]);
  });
});

describe('loadStateDict', () => {
  it('round-trips values into the same tensor objects', () => {
    const a = new Net();
    const b = new Net();
    const target = b.head.weight;
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.head.weight).toBe(target);
    expect(b.head.weight.toArray()).toEqual(a.head.weight.toArray());
    expect(b.head.weight.requiresGrad).toBe(true);
    const x = randn([2, 2, 5, 5]);
    expect(b.eval().call(x).toArray()).toEqual(a.eval().call(x).toArray());
  });

  it('accepts records, reports missing/unexpected keys when not strict, throws when strict', () => {
    const lin = new Linear(2, 3);
    const w = randn([3, 2]);
    const res = lin.loadStateDict({ weight: w, extra: ones([1]) }, { strict: false });
    expect(res).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(lin.weight.toArray()).toEqual(w.toArray());
    expectError(
      () => lin.loadStateDict({ weight: w, extra: ones([1]) }),
      StateDictError,
      /missing keys: 'bias'; unexpected keys: 'extra'/,
    );
  });

  it('throws on shape mismatch (even when not strict) without writing anything', () => {
    const lin = new Linear(2, 3);
    const before = lin.bias!.toArray();
    expectError(
      () => lin.loadStateDict({ bias: ones([3]), weight: ones([2, 3]) }, { strict: false }),
      StateDictError,
      /'weight' has shape \[2,3\], expected \[3,2\]/,
    );
    expect(lin.bias!.toArray()).toEqual(before);
  });

  it('casts within float or int kinds, refuses float <-> int and casts when disallowed', () => {
    const bn = new BatchNorm2d(2);
    const sd = bn.stateDict();
    sd.set('weight', tensor([2, 3], [2], 'float16'));
    bn.loadStateDict(sd);
    expect(bn.weight!.dtype).toBe('float32');
    expect(bn.weight!.toArray()).toEqual([2, 3]);
    expectError(
      () => bn.loadStateDict(sd, { allowCast: false }),
      StateDictError,
      /'weight' has dtype float16/,
    );
    sd.set('weight', tensor([2, 3], [2], 'int32'));
    expectError(() => bn.loadStateDict(sd), StateDictError, /'weight' has dtype int32, expected float32/);
  });
});

describe('layers and modes', () => {
  it('BatchNorm2d counts batches and uses running stats only in eval', () => {
    const bn = new BatchNorm2d(3);
    const x = randn([4, 3, 2, 2], { mean: 5 });
    bn.call(x);
    bn.call(x);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    const m = bn.runningMean!.toFloat32();
    expect(m[0]).toBeGreaterThan(0.5); // 0.19·mean after two updates
    bn.eval();
    bn.call(x);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    expect(bn.runningMean!.toFloat32()).toEqual(m);
    // cumulative average with momentum null
    const cum = new BatchNorm2d(1, { momentum: null });
    cum.call(tensor([1, 3], [2, 1, 1, 1]));
    cum.call(tensor([5, 7], [2, 1, 1, 1]));
    expect(cum.runningMean!.item()).toBeCloseTo(4, 5);
    // no running stats: batch statistics in eval mode too
    const free = new BatchNorm2d(1, { trackRunningStats: false, affine: false });
    expect([...free.stateDict().keys()]).toEqual([]);
    expect(
      free
        .eval()
        .call(tensor([1, 3], [2, 1, 1, 1]))
        .toFloat32()[0],
    ).toBeCloseTo(-1, 3);
  });

  it('Dropout drops and rescales in training, passes through in eval', () => {
    const d = new Dropout(0.5);
    const x = ones([4000]);
    const y = d.call(x).toFloat32();
    const zerosCount = y.filter((v) => v === 0).length;
    expect(zerosCount).toBeGreaterThan(1800);
    expect(zerosCount).toBeLessThan(2200);
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    expect(d.eval().call(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(InvalidArgumentError);
  });

  it('ModuleList registers children and is not callable', () => {
    const l = new ModuleList([new Linear(2, 2), new ReLU()]);
    l.append(new Linear(2, 1));
    expect(l.length).toBe(3);
    expect(l.at(-1)).toBeInstanceOf(Linear);
    expect([...l].length).toBe(3);
    expect([...l.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(() => l.call(ones([1]))).toThrow(InvalidArgumentError);
    expect(() => l.at(5)).toThrow(InvalidArgumentError);
  });
});
