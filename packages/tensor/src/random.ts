/**
 * A small, fast, seedable PRNG (xoshiro128**), used for initialisation, dropout and data shuffling so that
 * runs are reproducible across platforms.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.next(); // uniform in [0, 1)
 * ```
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /** @param seed - any 32-bit integer */
  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    let x = seed >>> 0;
    const mix = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
  }

  /** @returns a uniform 32-bit unsigned integer */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** @returns a uniform float in [0, 1) */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** @returns a standard normal sample (Box–Muller) */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * @param n - exclusive upper bound
   * @returns a uniform integer in [0, n)
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Fisher–Yates shuffle in place.
   * @param a - array to shuffle
   * @returns `a`
   */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/**
 * Seeds the global generator used by `rand`, `randn` and initialisers without an explicit `rng`.
 * @param seed - any 32-bit integer
 * @example
 * ```ts
 * manualSeed(0);
 * ```
 */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/**
 * The global generator.
 * @returns the shared {@link Rng}
 * @example
 * ```ts
 * defaultRng().next();
 * ```
 */
export function defaultRng(): Rng {
  return globalRng;
}
