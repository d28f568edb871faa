import { TinyVisionError } from '@tinyvision/tensor';

/**
 * A bundle's Ed25519 signature does not verify against the trusted public key (wrong key, modified manifest
 * or a forged signature).
 * @example
 * ```ts
 * throw new BundleSignatureError('bundle model.tvb: signature does not verify with key 3f2a…');
 * ```
 */
export class BundleSignatureError extends TinyVisionError {
  /** @param message - which bundle and which key */
  constructor(message: string) {
    super(message, 'BUNDLE_SIGNATURE');
  }
}

/**
 * A file's bytes do not match the size or sha256 the signed manifest binds (corrupt download, modified file,
 * mixed-and-matched files, wrong delta base).
 * @example
 * ```ts
 * throw new BundleIntegrityError("bundle: file 'model.tvm' sha256 is 00ab…, manifest says 9f1c…");
 * ```
 */
export class BundleIntegrityError extends TinyVisionError {
  /** @param message - the file, the expected and the actual value */
  constructor(message: string) {
    super(message, 'BUNDLE_INTEGRITY');
  }
}

/**
 * A manifest's `expiresAt` is in the past (freeze attack: a client being fed a stale, once-valid bundle).
 * @example
 * ```ts
 * throw new BundleExpiredError('bundle 1.2.0 expired at 2026-01-01T00:00:00.000Z');
 * ```
 */
export class BundleExpiredError extends TinyVisionError {
  /** @param message - the version and the expiry time */
  constructor(message: string) {
    super(message, 'BUNDLE_EXPIRED');
  }
}

/**
 * A bundle's version is not newer than the installed one (rollback attack), or a delta's base is not the
 * installed version.
 * @example
 * ```ts
 * throw new BundleVersionError('install: bundle version 1.0.0 is not newer than installed 1.1.0');
 * ```
 */
export class BundleVersionError extends TinyVisionError {
  /** @param message - both versions */
  constructor(message: string) {
    super(message, 'BUNDLE_VERSION');
  }
}

/**
 * A file name in a bundle is unsafe: absolute, contains `..`, a backslash, a NUL or other control characters.
 * @example
 * ```ts
 * throw new UnsafePathError("bundle manifest: files[0].path '../etc/passwd' contains '..'");
 * ```
 */
export class UnsafePathError extends TinyVisionError {
  /** @param message - the offending name and the rule it breaks */
  constructor(message: string) {
    super(message, 'UNSAFE_PATH');
  }
}

/**
 * A size limit was exceeded: a manifest, file or download is larger than allowed (endless-data attack).
 * @example
 * ```ts
 * throw new SizeLimitError('download: received more than the 1048576 bytes announced');
 * ```
 */
export class SizeLimitError extends TinyVisionError {
  /** @param message - what, the limit and the size seen */
  constructor(message: string) {
    super(message, 'SIZE_LIMIT');
  }
}

/**
 * A model failed its health check (did not load, wrong output for the known input, or too slow).
 * @example
 * ```ts
 * throw new HealthCheckError('health check of 1.2.0: output[3] is 0.91, expected 0.12 ± 0.001');
 * ```
 */
export class HealthCheckError extends TinyVisionError {
  /**
   * @param message - the version and what failed
   * @param options - `cause` carries the original error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'HEALTH_CHECK', options);
  }
}

/**
 * An update server could not be reached or answered with an unexpected HTTP status.
 * @example
 * ```ts
 * throw new UpdateServerError('GET http://host/index.json: HTTP 500');
 * ```
 */
export class UpdateServerError extends TinyVisionError {
  /**
   * @param message - the URL and the status or network error
   * @param options - `cause` carries the original error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'UPDATE_SERVER', options);
  }
}
