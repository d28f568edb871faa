/** WebNN device types, in our order of preference (the NPU first). */
export type WebNNDeviceType = 'npu' | 'gpu' | 'cpu';

/** The minimal shape of `navigator.ml` this module relies on. */
export interface MLLike {
  /** Creates a context (WebNN `MLContext`). */
  createContext(options?: { deviceType?: WebNNDeviceType }): Promise<unknown>;
}

/** Result of {@link probeWebNN}. */
export type WebNNProbe =
  | {
      /** A context was created. */
      readonly available: true;
      /** The device type the context was created for. */
      readonly deviceType: WebNNDeviceType;
      /** The `MLContext`. */
      readonly context: unknown;
      /** Device types tried before this one, with why they failed. */
      readonly tried: readonly string[];
    }
  | {
      /** No usable context. */
      readonly available: false;
      /** Why, in one line (shown by `tinyvision doctor` and in fallback reports). */
      readonly reason: string;
      /** Every attempt with its error. */
      readonly tried: readonly string[];
    };

/** Options of {@link probeWebNN}. */
export interface ProbeOptions {
  /** The `navigator.ml` object to use (default `globalThis.navigator?.ml`). */
  readonly ml?: MLLike | null;
  /** Device types to try, in order (default npu, gpu, cpu). */
  readonly deviceTypes?: readonly WebNNDeviceType[];
  /** Give up on one `createContext` call after this many ms (default 5000): some builds never settle. */
  readonly timeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function message(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Looks for a usable WebNN context: `navigator.ml` must exist and `createContext` must succeed for one of the
 * device types (NPU preferred, then GPU, then CPU). Never throws: when WebNN is missing or every attempt fails
 * (as in headless Chromium without a WebNN service), the result says why, so callers fall back to another
 * backend with that reason.
 * @param opts - the `ml` object, device types, timeout
 * @returns the probe result
 * @example
 * ```ts
 * const p = await probeWebNN();
 * if (!p.available) console.log(`WebNN unavailable: ${p.reason}`);
 * ```
 */
export async function probeWebNN(opts: ProbeOptions = {}): Promise<WebNNProbe> {
  const nav = (globalThis as { navigator?: { ml?: MLLike } }).navigator;
  const ml = opts.ml === undefined ? nav?.ml : opts.ml;
  if (!ml || typeof ml.createContext !== 'function') {
    const where = nav ? 'navigator.ml is missing' : 'no navigator object (not a browser)';
    return { available: false, reason: `WebNN not available: ${where}`, tried: [] };
  }
  const tried: string[] = [];
  for (const deviceType of opts.deviceTypes ?? ['npu', 'gpu', 'cpu']) {
    try {
      const context = await withTimeout(
        Promise.resolve().then(() => ml.createContext({ deviceType })),
        opts.timeoutMs ?? 5000,
        `createContext({deviceType: '${deviceType}'})`,
      );
      if (context === null || context === undefined) throw new Error('createContext returned no context');
      return { available: true, deviceType, context, tried };
    } catch (e) {
      tried.push(`${deviceType}: ${message(e)}`);
    }
  }
  return {
    available: false,
    reason: `WebNN present but no context could be created (${tried.join('; ')})`,
    tried,
  };
}
