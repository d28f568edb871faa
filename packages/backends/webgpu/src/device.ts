/// <reference types="@webgpu/types" />
import { BackendInitError } from '@tinyvision/tensor';

/** Options of {@link acquireDevice}. */
export interface DeviceOptions {
  /** A `GPU` object to use instead of `navigator.gpu` (or Dawn's `webgpu` package in Node). */
  readonly gpu?: GPU;
  /** Adapter power preference. */
  readonly powerPreference?: GPUPowerPreference;
}

/** A device and the facts the backend needs about it. */
export interface AcquiredDevice {
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter description (vendor, architecture, device). */
  readonly adapterName: string;
  /** Whether the adapter offers `shader-f16`. */
  readonly shaderF16: boolean;
  /** The GPU object, kept alive for the device's lifetime (Dawn for Node needs this). */
  readonly gpu: GPU;
}

/** Loads Dawn's `webgpu` package in Node; the name sits in a variable so browser bundlers leave it alone. */
async function nodeGpu(): Promise<GPU | undefined> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) return undefined;
  const name = 'webgpu';
  try {
    const mod = (await import(/* @vite-ignore */ name)) as {
      create(flags: string[]): GPU;
      globals: Record<string, unknown>;
    };
    // GPUBufferUsage & co. are globals in browsers; Dawn exports them separately.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    // Without XDG_RUNTIME_DIR the Vulkan loader's window-system code prints an error line to *stdout* on headless
    // machines, which corrupts machine-readable output (`tinyvision doctor --json`): point it at a private dir.
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    if (env && !env.XDG_RUNTIME_DIR) {
      // Module names in variables, as for 'webgpu' above: browser bundlers must not try to resolve them.
      const [fsName, osName, pathName] = ['node:fs', 'node:os', 'node:path'];
      const [{ mkdtempSync }, { tmpdir }, { join }] = (await Promise.all([
        import(/* @vite-ignore */ fsName),
        import(/* @vite-ignore */ osName),
        import(/* @vite-ignore */ pathName),
      ])) as [typeof import('node:fs'), typeof import('node:os'), typeof import('node:path')];
      env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'tinyvision-xdg-'));
    }
    return mod.create([]);
  } catch {
    return undefined;
  }
}

/**
 * Finds a WebGPU adapter and creates a device: `opts.gpu`, else `navigator.gpu`, else Dawn's `webgpu` package in
 * Node. Requests `shader-f16` when the adapter has it.
 * @param opts - GPU object and power preference
 * @returns the device and its facts
 * @throws {BackendInitError} when there is no WebGPU implementation, adapter or device
 * @example
 * ```ts
 * const { device } = await acquireDevice();
 * ```
 */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<AcquiredDevice> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const gpu = opts.gpu ?? nav?.gpu ?? (await nodeGpu());
  if (!gpu) {
    throw new BackendInitError(
      "webgpu: no WebGPU implementation (navigator.gpu is missing; in Node install the 'webgpu' package)",
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  } catch (e) {
    throw new BackendInitError(`webgpu: requestAdapter failed: ${String(e)}`, { cause: e });
  }
  if (!adapter) throw new BackendInitError('webgpu: no adapter (is a Vulkan/Metal/D3D12 driver available?)');
  const shaderF16 = adapter.features.has('shader-f16');
  const l = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: shaderF16 ? ['shader-f16'] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      },
    });
  } catch (e) {
    throw new BackendInitError(`webgpu: requestDevice failed: ${String(e)}`, { cause: e });
  }
  const info = adapter.info;
  const adapterName =
    [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') ||
    'unknown';
  return { device, adapterName, shaderF16, gpu };
}
