import { TinyVisionError } from '@tinyvision/tensor';

/**
 * A state dict does not fit a module: missing or unexpected keys in a strict load, or a tensor whose shape or
 * dtype differs from the parameter or buffer it should fill. The message names the key, the expected and the
 * actual shape/dtype.
 * @example
 * ```ts
 * try { model.loadStateDict(sd); } catch (e) { if (StateDictError.isInstance(e)) console.log(e.message); }
 * ```
 */
export class StateDictError extends TinyVisionError {
  /** @param message - names the keys and what was expected */
  constructor(message: string) {
    super(message, 'STATE_DICT');
  }
}
