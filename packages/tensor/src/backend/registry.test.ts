import { cpu } from '@tinyvision/backend-cpu';
import { afterEach, describe, expect, it } from 'vitest';
import type { DType, TypedArray } from '../dtype.js';
import { getFallbackReport, resetFallbackReport } from '../engine.js';
import { BackendNotFoundError, InvalidArgumentError } from '../errors/index.js';
import { add, exp, tensor } from '../index.js';
import type { Backend, DataHandle, KernelConfig } from './backend-spec-v1.js';
import {
  capabilities,
  getBackend,
  listBackends,
  registerBackend,
  resetRegistry,
  useBackend,
} from './registry.js';

interface FakeHandle extends DataHandle {
  values: TypedArray;
}

/** A host-memory backend with only the kernels given: everything else must fall back to the CPU reference. */
function fakeBackend(name: string, kernels: (b: Backend) => KernelConfig[]): Backend {
  const b: Backend = {
    specificationVersion: 'v1',
    name,
    kernels: [],
    dispose() {},
    write: (values: TypedArray, _d: DType): FakeHandle => ({ backend: name, values: values.slice() }),
    read: async (h) => (h as FakeHandle).values,
    readSync: (h) => (h as FakeHandle).values,
    free() {},
    sync: async () => {},
    supportsDType: () => true,
  };
  (b as unknown as { kernels: KernelConfig[] }).kernels = kernels(b);
  return b;
}

afterEach(() => {
  resetRegistry();
  resetFallbackReport();
});

describe('backend registry', () => {
  it('picks the highest priority, never a negative one, and combines init errors', async () => {
    registerBackend(cpu());
    registerBackend({ name: 'optin', priority: -1, create: () => fakeBackend('optin', () => []) });
    registerBackend({
      name: 'broken',
      priority: 50,
      create: async () => {
        throw new Error('no adapter');
      },
    });
    const b = await useBackend();
    expect(b.name).toBe('cpu');
    const status = await listBackends();
    expect(status.find((s) => s.name === 'broken')).toMatchObject({ available: false, error: 'no adapter' });
    await expect(useBackend('broken')).rejects.toThrow(/\[broken\] no adapter/);
    await expect(useBackend('nope')).rejects.toBeInstanceOf(BackendNotFoundError);
    expect((await useBackend('optin')).name).toBe('optin');
  });

  it('answers capability queries (ops × dtypes)', async () => {
    registerBackend(cpu());
    await useBackend('cpu');
    const caps = capabilities('cpu');
    expect(caps.get('Conv2D')).toEqual(expect.arrayContaining(['float32', 'float16', 'bfloat16']));
    expect(caps.get('QConv2D')).toEqual(['int8']);
    expect(() => capabilities('nope')).toThrow(BackendNotFoundError);
  });

  it('refuses a conflicting registration at the same priority', () => {
    registerBackend({ name: 'x', priority: 3, create: () => fakeBackend('x', () => []) });
    expect(() =>
      registerBackend({ name: 'x', priority: 3, create: () => fakeBackend('x', () => []) }),
    ).toThrow(InvalidArgumentError);
  });

  it('says how to fix a missing backend', () => {
    expect(() => getBackend()).toThrow(/registerBackend\(cpu\(\)\)/);
  });

  it('falls back per node to the CPU reference and reports why', async () => {
    registerBackend(cpu());
    registerBackend({
      name: 'partial',
      priority: 10,
      create: () =>
        fakeBackend('partial', (self) => [
          {
            kernelName: 'Add',
            backendName: 'partial',
            dtypes: ['float32'],
            kernelFunc: ({ inputs: [a, b] }) => {
              const x = (a!.handle as FakeHandle).values;
              const y = (b!.handle as FakeHandle).values;
              return [
                {
                  handle: self.write(x.map((v, i) => v + y[i]!) as TypedArray, 'float32'),
                  shape: a!.shape,
                  dtype: 'float32',
                },
              ];
            },
          },
        ]),
    });
    await useBackend('partial');
    const x = tensor([0, 1]);
    const y = exp(add(x, x));
    expect(y.backend).toBe('partial');
    expect(Array.from(y.toFloat32())).toEqual([1, Math.fround(Math.exp(2))]);
    expect(getFallbackReport()).toEqual([
      { kernel: 'Exp', backend: 'partial', dtype: 'float32', reason: 'kernel missing', count: 1 },
    ]);
    // int32 Add is not in the partial backend's dtype list: it falls back too, with another reason.
    add(tensor([1], [1], 'int32'), tensor([2], [1], 'int32'));
    expect(getFallbackReport().find((r) => r.kernel === 'Add')?.reason).toBe('dtype not supported');
  });
});
