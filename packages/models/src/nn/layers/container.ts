import { InvalidArgumentError, type Tensor } from '@tinyvision/tensor';
import { Module } from '../module.js';

/**
 * Runs its children in order (`torch.nn.Sequential`); children are named `'0'`, `'1'`, … so state-dict keys
 * match torch (`0.weight`, `1.running_mean`).
 * @example
 * ```ts
 * const net = new Sequential(new Conv2d(3, 8, 3), new ReLU(), new Flatten());
 * net.call(randn([1, 3, 8, 8])).shape; // [1, 288]
 * ```
 */
export class Sequential extends Module {
  private readonly items: Module[];

  /** @param modules - the layers, in order */
  constructor(...modules: Module[]) {
    super();
    this.items = [];
    for (const m of modules) this.append(m);
  }

  /**
   * Adds a layer at the end.
   * @param m - the module
   * @returns this container
   */
  append(m: Module): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  /** Number of layers. */
  get length(): number {
    return this.items.length;
  }

  /**
   * The layer at `i` (negative counts from the end).
   * @param i - index
   * @returns the module
   * @throws {InvalidArgumentError} when out of range
   */
  at(i: number): Module {
    const m = this.items.at(i);
    if (!m)
      throw new InvalidArgumentError(`Sequential.at: index ${i} out of range for length ${this.length}`);
    return m;
  }

  /** @returns an iterator over the layers */
  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }

  /**
   * @param x - input of the first layer
   * @returns output of the last layer
   */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items) y = m.call(y);
    return y;
  }
}

/**
 * A list of modules registered as children `'0'`, `'1'`, … (`torch.nn.ModuleList`); it is not callable itself.
 * @example
 * ```ts
 * const blocks = new ModuleList([new Linear(4, 4), new Linear(4, 4)]);
 * for (const b of blocks) x = b.call(x);
 * ```
 */
export class ModuleList extends Module {
  private readonly items: Module[] = [];

  /** @param modules - the modules, in order */
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /**
   * Adds a module at the end.
   * @param m - the module
   * @returns this list
   */
  append(m: Module): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /**
   * The module at `i` (negative counts from the end).
   * @param i - index
   * @returns the module
   * @throws {InvalidArgumentError} when out of range
   */
  at(i: number): Module {
    const m = this.items.at(i);
    if (!m)
      throw new InvalidArgumentError(`ModuleList.at: index ${i} out of range for length ${this.length}`);
    return m;
  }

  /** @returns an iterator over the modules */
  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }

  /**
   * Not callable: iterate the list instead.
   * @returns never
   * @throws {InvalidArgumentError} always
   */
  forward(): Tensor {
    throw new InvalidArgumentError('ModuleList: not callable; iterate it and call each module');
  }
}
