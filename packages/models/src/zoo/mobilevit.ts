import { concat, globalAvgPool, InvalidArgumentError, ShapeError, type Tensor } from '@tinyvision/tensor';
import { BatchNorm2d, Conv2d, Dropout, LayerNorm, Linear, Module, Sequential, SiLU } from '../nn/index.js';
import { checkHead, makeDivisible } from './common.js';
import { TransformerEncoder } from './transformer.js';

/**
 * A sequence of named children called in order (`nn.Sequential` built with `add_module(name, …)`), so state-dict
 * keys carry the names, e.g. `block.conv.weight`.
 * @example
 * ```ts
 * const s = new NamedSequential([['conv', new Conv2d(3, 8, 3)], ['act', new SiLU()]]);
 * ```
 */
export class NamedSequential extends Module {
  private readonly items: Module[] = [];

  /** @param entries - `[name, module]` pairs, in call order */
  constructor(entries: readonly (readonly [string, Module])[]) {
    super();
    for (const [name, m] of entries) this.items.push(this.registerModule(name, m));
  }

  /**
   * @param x - input of the first child
   * @returns output of the last child
   */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items) y = m.call(y);
    return y;
  }
}

/** Options of {@link ConvLayer}. */
export interface ConvLayerOptions {
  /** Stride (default 1). */
  readonly stride?: number;
  /** Channel groups (default 1). */
  readonly groups?: number;
  /** BatchNorm after the conv (default true). */
  readonly norm?: boolean;
  /** SiLU after the norm (default true). */
  readonly act?: boolean;
}

/**
 * ml-cvnets `ConvLayer`: bias-free conv with "same" padding → optional BatchNorm2d → optional SiLU, held in a
 * child `block` with children `conv`, `norm`, `act` (keys `block.conv.weight`, `block.norm.running_mean`, …).
 * @example
 * ```ts
 * const stem = new ConvLayer(3, 16, 3, { stride: 2 });
 * ```
 */
export class ConvLayer extends Module {
  /** `conv` [→ `norm`] [→ `act`]. */
  readonly block: NamedSequential;

  /**
   * @param inChannels - input channels
   * @param outChannels - output channels
   * @param kernel - odd square kernel size
   * @param opts - stride, groups, norm, act
   */
  constructor(inChannels: number, outChannels: number, kernel: number, opts: ConvLayerOptions = {}) {
    super();
    const entries: [string, Module][] = [
      [
        'conv',
        new Conv2d(inChannels, outChannels, kernel, {
          stride: opts.stride ?? 1,
          padding: (kernel - 1) / 2,
          groups: opts.groups ?? 1,
          bias: false,
        }),
      ],
    ];
    if (opts.norm ?? true) entries.push(['norm', new BatchNorm2d(outChannels)]);
    if (opts.act ?? true) entries.push(['act', new SiLU()]);
    this.block = this.registerModule('block', new NamedSequential(entries));
  }

  /**
   * @param x - NCHW input
   * @returns NCHW output
   */
  forward(x: Tensor): Tensor {
    return this.block.call(x);
  }
}

/**
 * MobileNetV2 block with SiLU as MobileViT uses it (ml-cvnets `InvertedResidual`): `exp_1x1` (omitted when the
 * expansion is 1) → depthwise `conv_3x3` → linear `red_1x1`, in child `block`, with a skip connection when the
 * stride is 1 and the channels match.
 * @example
 * ```ts
 * const mv2 = new MV2Block(16, 24, 2, 2);
 * ```
 */
export class MV2Block extends Module {
  /** `[exp_1x1,] conv_3x3, red_1x1`. */
  readonly block: NamedSequential;
  /** Whether the input is added to the output. */
  readonly useResConnect: boolean;

  /**
   * @param inp - input channels
   * @param oup - output channels
   * @param stride - depthwise stride, 1 or 2
   * @param expandRatio - hidden channels = `makeDivisible(round(inp · expandRatio), 8)`
   * @throws {InvalidArgumentError} when `stride` is not 1 or 2
   */
  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) {
      throw new InvalidArgumentError(`MV2Block: 'stride' must be 1 or 2, got ${stride}`);
    }
    const hidden = makeDivisible(Math.round(inp * expandRatio), 8);
    const entries: [string, Module][] = [];
    if (expandRatio !== 1) entries.push(['exp_1x1', new ConvLayer(inp, hidden, 1)]);
    entries.push(
      ['conv_3x3', new ConvLayer(hidden, hidden, 3, { stride, groups: hidden })],
      ['red_1x1', new ConvLayer(hidden, oup, 1, { act: false })],
    );
    this.block = this.registerModule('block', new NamedSequential(entries));
    this.useResConnect = stride === 1 && inp === oup;
  }

  /**
   * @param x - NCHW input
   * @returns the block output
   */
  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? x.add(y) : y;
  }
}

/**
 * MobileViT block (ml-cvnets v1 `MobileViTBlock`): local representation (3×3 ConvLayer, 1×1 conv to the
 * transformer dim `d`), non-overlapping 2×2 patches unfolded into `[B·4, N, d]` token sequences (one per pixel
 * position inside a patch), `depth` pre-norm {@link TransformerEncoder}s and a LayerNorm, folding back, 1×1
 * projection to the input channels, and a 3×3 fusion conv over `concat(input, projection)`.
 * Children: `local_rep` (`conv_3x3`, `conv_1x1`), `global_rep` (`0`…`depth-1` encoders, `depth` LayerNorm),
 * `conv_proj`, `fusion`.
 * @example
 * ```ts
 * const block = new MobileViTBlock(48, 64, 128, 2, 4);
 * block.call(randn([1, 48, 8, 8])).shape; // [1, 48, 8, 8]
 * ```
 */
export class MobileViTBlock extends Module {
  /** 3×3 ConvLayer → 1×1 conv (no norm, no activation) to `d`. */
  readonly localRep: NamedSequential;
  /** Transformer encoders followed by a LayerNorm. */
  readonly globalRep: Sequential;
  /** 1×1 ConvLayer `d → C`. */
  readonly convProj: ConvLayer;
  /** 3×3 ConvLayer `2C → C`. */
  readonly fusion: ConvLayer;
  /** Patch height and width (2). */
  readonly patch = 2;

  /**
   * @param channels - input (and output) channels `C`
   * @param dim - transformer dimension `d`
   * @param ffnDim - FFN hidden width
   * @param depth - number of transformer layers
   * @param numHeads - attention heads (must divide `dim`)
   * @throws {InvalidArgumentError} when `numHeads` does not divide `dim`
   */
  constructor(channels: number, dim: number, ffnDim: number, depth: number, numHeads: number) {
    super();
    this.localRep = this.registerModule(
      'local_rep',
      new NamedSequential([
        ['conv_3x3', new ConvLayer(channels, channels, 3)],
        ['conv_1x1', new ConvLayer(channels, dim, 1, { norm: false, act: false })],
      ]),
    );
    const layers: Module[] = [];
    for (let i = 0; i < depth; i++) layers.push(new TransformerEncoder(dim, ffnDim, numHeads));
    layers.push(new LayerNorm(dim));
    this.globalRep = this.registerModule('global_rep', new Sequential(...layers));
    this.convProj = this.registerModule('conv_proj', new ConvLayer(dim, channels, 1));
    this.fusion = this.registerModule('fusion', new ConvLayer(2 * channels, channels, 3));
  }

  /**
   * @param x - NCHW input with even H and W
   * @returns NCHW output, shaped like `x`
   * @throws {ShapeError} when H or W is not a multiple of the patch size
   */
  forward(x: Tensor): Tensor {
    const fm = this.localRep.call(x);
    const [b, d, h, w] = fm.shape as [number, number, number, number];
    const p = this.patch;
    if (h % p !== 0 || w % p !== 0) {
      throw new ShapeError(
        `MobileViTBlock: feature map [${fm.shape.join(',')}] must have H and W divisible by the patch size ${p}`,
      );
    }
    const nh = h / p;
    const nw = w / p;
    const n = nh * nw;
    // [B, d, H, W] → [B·d·nh, p, nw, p] → [B·d·nh, nw, p, p] → [B, d, N, P] → [B, P, N, d] → [B·P, N, d]
    const patches = fm
      .reshape([b * d * nh, p, nw, p])
      .transpose([0, 2, 1, 3])
      .reshape([b, d, n, p * p])
      .transpose([0, 3, 2, 1])
      .reshape([b * p * p, n, d]);
    const tokens = this.globalRep.call(patches);
    // The inverse permutation back to [B, d, H, W].
    const folded = tokens
      .reshape([b, p * p, n, d])
      .transpose([0, 3, 2, 1])
      .reshape([b * d * nh, nw, p, p])
      .transpose([0, 2, 1, 3])
      .reshape([b, d, h, w]);
    const y = this.convProj.call(folded);
    return this.fusion.call(concat([x, y], 1));
  }
}

/** A MobileViT size. */
export type MobileViTArch = 'xxs' | 'xs' | 's';

/** The per-size configuration of {@link MobileViT} (ml-cvnets `mobilevit` config, paper Table 4 / appendix). */
export interface MobileViTConfig {
  /** MV2 expansion ratio (2 for XXS, 4 for XS and S). */
  readonly expansion: number;
  /** Output channels of layer_1 … layer_5. */
  readonly channels: readonly [number, number, number, number, number];
  /** Transformer dimensions of the MobileViT blocks in layer_3, layer_4, layer_5 (FFN dims are twice these). */
  readonly dims: readonly [number, number, number];
  /** Transformer layers per MobileViT block: 2, 4, 3. */
  readonly depths: readonly [number, number, number];
  /** Channels of `conv_1x1_exp` (`min(4 · channels[4], 960)`). */
  readonly lastChannels: number;
}

const CONFIGS: Record<MobileViTArch, MobileViTConfig> = {
  xxs: {
    expansion: 2,
    channels: [16, 24, 48, 64, 80],
    dims: [64, 80, 96],
    depths: [2, 4, 3],
    lastChannels: 320,
  },
  xs: {
    expansion: 4,
    channels: [32, 48, 64, 80, 96],
    dims: [96, 120, 144],
    depths: [2, 4, 3],
    lastChannels: 384,
  },
  s: {
    expansion: 4,
    channels: [32, 64, 96, 128, 160],
    dims: [144, 192, 240],
    depths: [2, 4, 3],
    lastChannels: 640,
  },
};

/**
 * The configuration of a MobileViT size.
 * @param arch - `'xxs'`, `'xs'` or `'s'`
 * @returns expansion, channels, transformer dims and depths, last channels
 * @throws {InvalidArgumentError} on an unknown size
 * @example
 * ```ts
 * mobileViTConfig('xs').dims; // [96, 120, 144]
 * ```
 */
export function mobileViTConfig(arch: MobileViTArch): MobileViTConfig {
  const cfg = CONFIGS[arch];
  if (!Object.hasOwn(CONFIGS, arch) || !cfg) {
    throw new InvalidArgumentError(`mobilevit: unknown arch '${String(arch)}', expected xxs, xs or s`);
  }
  return cfg;
}

/** Options of {@link MobileViT}. */
export interface MobileViTOptions {
  /** Input resolution: a multiple of 64, at least 64 (default 256). Recorded for `inputShape`. */
  readonly resolution?: number;
  /** Input image channels (default 3, RGB; 1 for grayscale such as Fashion-MNIST). */
  readonly inChannels?: number;
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Dropout before the classifier Linear (default 0.1, as ml-cvnets `cls_dropout`). */
  readonly dropout?: number;
  /** Attention heads of every transformer layer (default 4, ml-cvnets `number_heads`). */
  readonly numHeads?: number;
}

/**
 * MobileViT v1 (Mehta & Rastegari, ICLR 2022) with ml-cvnets module names: `conv_1` (3×3 s2 stem, 16 ch),
 * `layer_1`, `layer_2` (MV2 blocks), `layer_3` … `layer_5` (a stride-2 MV2 block `0` and a
 * {@link MobileViTBlock} `1`), `conv_1x1_exp`, global average pool, `classifier` (`dropout`, `fc`).
 * Activations are SiLU; attention uses 4 heads.
 * @example
 * ```ts
 * const model = new MobileViT('xxs', { resolution: 64, numClasses: 10 }).eval();
 * model.call(randn([1, 3, 64, 64])).shape; // [1, 10]
 * ```
 */
export class MobileViT extends Module {
  /** Stem ConvLayer 3 → 16, stride 2. */
  readonly conv1: ConvLayer;
  /** The five stages. */
  readonly layers: readonly Sequential[];
  /** 1×1 ConvLayer to {@link MobileViTConfig.lastChannels}. */
  readonly conv1x1Exp: ConvLayer;
  /** `dropout` → `fc`. */
  readonly classifier: NamedSequential;
  /** The size (`'custom'` when built from a {@link MobileViTConfig}). */
  readonly arch: MobileViTArch | 'custom';
  /** The configuration it was built from. */
  readonly config: MobileViTConfig;
  /** Width multiplier: always 1 (the sizes are fixed configurations, not width multiples). */
  readonly width = 1;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;

  /**
   * @param arch - `'xxs'`, `'xs'` or `'s'`, or a custom {@link MobileViTConfig} (e.g. a reduced one for tests)
   * @param opts - resolution, classes, dropout, heads
   * @throws {InvalidArgumentError} on an unknown size, a resolution that is not a multiple of 64, a bad class
   *   count or dropout, or heads that do not divide the transformer dims
   */
  constructor(arch: MobileViTArch | MobileViTConfig, opts: MobileViTOptions = {}) {
    super();
    const custom = typeof arch === 'object' && arch !== null;
    const model = custom ? 'mobilevit' : `mobilevit_${String(arch)}`;
    const cfg = custom ? arch : mobileViTConfig(arch);
    const resolution = opts.resolution ?? 256;
    const numClasses = opts.numClasses ?? 1000;
    const dropout = opts.dropout ?? 0.1;
    const heads = opts.numHeads ?? 4;
    if (!Number.isInteger(resolution) || resolution < 64 || resolution % 64 !== 0) {
      throw new InvalidArgumentError(
        `${model}: 'resolution' must be a multiple of 64 that is >= 64 (2×2 patches at stride 32), got ${String(resolution)}`,
      );
    }
    checkHead(model, numClasses, dropout);
    this.arch = custom ? 'custom' : arch;
    this.config = cfg;
    this.resolution = resolution;
    this.numClasses = numClasses;
    this.conv1 = this.registerModule('conv_1', new ConvLayer(opts.inChannels ?? 3, 16, 3, { stride: 2 }));
    const [c1, c2, c3, c4, c5] = cfg.channels;
    const t = cfg.expansion;
    const stages: Sequential[] = [
      new Sequential(new MV2Block(16, c1, 1, t)),
      new Sequential(new MV2Block(c1, c2, 2, t), new MV2Block(c2, c2, 1, t), new MV2Block(c2, c2, 1, t)),
    ];
    let input = c2;
    [c3, c4, c5].forEach((c, i) => {
      const dim = cfg.dims[i]!;
      stages.push(
        new Sequential(
          new MV2Block(input, c, 2, t),
          new MobileViTBlock(c, dim, 2 * dim, cfg.depths[i]!, heads),
        ),
      );
      input = c;
    });
    this.layers = stages.map((s, i) => this.registerModule(`layer_${i + 1}`, s));
    this.conv1x1Exp = this.registerModule('conv_1x1_exp', new ConvLayer(c5, cfg.lastChannels, 1));
    this.classifier = this.registerModule(
      'classifier',
      new NamedSequential([
        ['dropout', new Dropout(dropout)],
        ['fc', new Linear(cfg.lastChannels, numClasses)],
      ]),
    );
  }

  /**
   * @param x - images `[N, 3, H, W]` with H and W multiples of 64
   * @returns logits `[N, numClasses]`
   * @throws {ShapeError} when H or W is not a multiple of 64
   */
  forward(x: Tensor): Tensor {
    let y = this.conv1.call(x);
    for (const stage of this.layers) y = stage.call(y);
    const f = globalAvgPool(this.conv1x1Exp.call(y)).flatten(1);
    return this.classifier.call(f);
  }
}
