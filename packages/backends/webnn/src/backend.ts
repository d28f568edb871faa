import { BackendInitError, type BackendRegistration } from '@tinyvision/tensor';
import { type ProbeOptions, probeWebNN } from './probe.js';

/** Options of {@link webnn}. */
export interface WebNNOptions {
  /** Registration priority (default -1: opt-in, never chosen automatically). */
  readonly priority?: number;
  /** How to probe for WebNN (the `ml` object, device types, timeout). */
  readonly probe?: ProbeOptions;
}

/**
 * The WebNN backend registration. Creating it probes `navigator.ml` (NPU first, then GPU, CPU); when WebNN is
 * missing or no context can be created — as in Node and in headless Chromium — creation fails with a
 * {@link BackendInitError} carrying the probe's reason, so automatic selection and `tinyvision doctor` show
 * why and use another backend. Running graphs through an `MLGraph` is not implemented yet: with a working
 * context the error says so instead of pretending.
 * @param opts - priority and probe options
 * @returns the registration
 * @example
 * ```ts
 * registerBackend(webnn());
 * await useBackend('webnn').catch((e) => console.log(e.message)); // "webnn: WebNN not available: …"
 * ```
 */
export function webnn(opts: WebNNOptions = {}): BackendRegistration {
  return {
    name: 'webnn',
    priority: opts.priority ?? -1,
    create: async () => {
      const p = await probeWebNN(opts.probe);
      if (!p.available) throw new BackendInitError(`webnn: ${p.reason}`);
      throw new BackendInitError(
        `webnn: a WebNN context is available (${p.deviceType}), but tinyvision's MLGraph executor is not ` +
          'implemented yet; use the wasm or webgpu backend (see `tinyvision check --target webnn` for what would map)',
      );
    },
  };
}
