const MARKER = 'tinyvision.error';

/**
 * Base class of every error thrown by tinyvision.
 *
 * Each subclass has a stable `code` and a `Symbol.for('tinyvision.error.<Name>')` marker so that
 * `XxxError.isInstance(e)` works even when two copies of the package are loaded.
 *
 * @example
 * ```ts
 * try { add(a, b); } catch (e) { if (ShapeError.isInstance(e)) console.log(e.message); }
 * ```
 */
export class TinyVisionError extends Error {
  /** Machine-readable error code, e.g. `'SHAPE'`. */
  readonly code: string;
  /**
   * @param message - what went wrong, naming the op, the argument and what was expected
   * @param code - machine-readable code
   * @param options - standard `ErrorOptions` (e.g. `cause`)
   */
  constructor(message: string, code = 'TINYVISION', options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    (this as Record<symbol, unknown>)[Symbol.for(MARKER)] = true;
    (this as Record<symbol, unknown>)[Symbol.for(`${MARKER}.${new.target.name}`)] = true;
  }

  /**
   * True when `e` is a tinyvision error (of any class), across package copies.
   * @param e - any thrown value
   * @returns whether `e` is a {@link TinyVisionError}
   */
  static isInstance(e: unknown): e is TinyVisionError {
    return markerCheck(e, this === TinyVisionError ? MARKER : `${MARKER}.${this.name}`);
  }
}

function markerCheck(e: unknown, key: string): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[Symbol.for(key)] === true;
}
