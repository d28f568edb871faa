import {
  concat,
  fromStorage,
  InvalidArgumentError,
  noGrad,
  reshape,
  resize,
  type Tensor,
  transpose,
} from '@tinyvision/tensor';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, ModuleList, Sequential, SiLU } from '../nn/index.js';
import { makeDivisible } from './common.js';
import { MobileNetV2 } from './mobilenet-v2.js';
import { MobileNetV3 } from './mobilenet-v3.js';

/** YOLOv5's default anchors `[w, h]` in pixels, per detection level (strides 8, 16, 32), 3 per level. */
export const YOLOV5_ANCHORS: readonly (readonly (readonly [number, number])[])[] = Object.freeze([
  [
    [10, 13],
    [16, 30],
    [33, 23],
  ],
  [
    [30, 61],
    [62, 45],
    [59, 119],
  ],
  [
    [116, 90],
    [156, 198],
    [373, 326],
  ],
]);

/** Strides of the three detection levels P3, P4, P5. */
export const YOLO_STRIDES: readonly number[] = Object.freeze([8, 16, 32]);

/** Backbones {@link YoloNano} can be built on. */
export type YoloBackbone = 'cspdarknet' | 'mobilenet_v2' | 'mobilenet_v3_small';

/**
 * YOLOv5 `Conv`: `Conv2d` (no bias, 'same'-style padding `k // 2` unless given) → `BatchNorm2d` (eps 1e-3,
 * momentum 0.03) → SiLU. Children `conv`, `bn`, `act` as in Ultralytics' state dicts.
 * @example
 * ```ts
 * const c = new YoloConv(3, 16, 6, 2, 2); // YOLOv5 v6 stem
 * ```
 */
export class YoloConv extends Module {
  /** The convolution. */
  readonly conv: Conv2d;
  /** The batch norm. */
  readonly bn: BatchNorm2d;
  /** SiLU. */
  readonly act: SiLU;

  /**
   * @param c1 - input channels
   * @param c2 - output channels
   * @param k - kernel size (default 1)
   * @param s - stride (default 1)
   * @param p - padding (default `k // 2`)
   */
  constructor(c1: number, c2: number, k = 1, s = 1, p?: number) {
    super();
    this.conv = this.registerModule(
      'conv',
      new Conv2d(c1, c2, k, { stride: s, padding: p ?? Math.floor(k / 2), bias: false }),
    );
    this.bn = this.registerModule('bn', new BatchNorm2d(c2, { eps: 1e-3, momentum: 0.03 }));
    this.act = this.registerModule('act', new SiLU());
  }

  /**
   * @param x - `[N, c1, H, W]`
   * @returns `[N, c2, H / s, W / s]`
   */
  forward(x: Tensor): Tensor {
    return this.act.call(this.bn.call(this.conv.call(x)));
  }
}

/**
 * YOLOv5 `Bottleneck`: 1×1 conv → 3×3 conv, plus the input when `shortcut` and the channels match.
 * @example
 * ```ts
 * const b = new YoloBottleneck(16, 16, true);
 * ```
 */
export class YoloBottleneck extends Module {
  /** 1×1 conv. */
  readonly cv1: YoloConv;
  /** 3×3 conv. */
  readonly cv2: YoloConv;
  /** Whether the input is added. */
  readonly add: boolean;

  /**
   * @param c1 - input channels
   * @param c2 - output channels
   * @param shortcut - residual connection (default true)
   * @param e - hidden channels = `floor(c2 · e)` (default 0.5)
   */
  constructor(c1: number, c2: number, shortcut = true, e = 0.5) {
    super();
    const c = Math.floor(c2 * e);
    this.cv1 = this.registerModule('cv1', new YoloConv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new YoloConv(c, c2, 3, 1));
    this.add = shortcut && c1 === c2;
  }

  /**
   * @param x - `[N, c1, H, W]`
   * @returns `[N, c2, H, W]`
   */
  forward(x: Tensor): Tensor {
    const y = this.cv2.call(this.cv1.call(x));
    return this.add ? x.add(y) : y;
  }
}

/**
 * YOLOv5 `C3`: CSP bottleneck with three convolutions, `cv3(cat(m(cv1(x)), cv2(x)))`.
 * @example
 * ```ts
 * const c3 = new YoloC3(32, 32, 1);
 * ```
 */
export class YoloC3 extends Module {
  /** 1×1 conv into the bottleneck path. */
  readonly cv1: YoloConv;
  /** 1×1 conv of the bypass. */
  readonly cv2: YoloConv;
  /** 1×1 conv after the concatenation. */
  readonly cv3: YoloConv;
  /** The bottlenecks. */
  readonly m: Sequential;

  /**
   * @param c1 - input channels
   * @param c2 - output channels
   * @param n - number of bottlenecks (default 1)
   * @param shortcut - residual bottlenecks (default true; false in the neck)
   */
  constructor(c1: number, c2: number, n = 1, shortcut = true) {
    super();
    const c = Math.floor(c2 * 0.5);
    this.cv1 = this.registerModule('cv1', new YoloConv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new YoloConv(c1, c, 1, 1));
    this.cv3 = this.registerModule('cv3', new YoloConv(2 * c, c2, 1, 1));
    const blocks: Module[] = [];
    for (let i = 0; i < n; i++) blocks.push(new YoloBottleneck(c, c, shortcut, 1.0));
    this.m = this.registerModule('m', new Sequential(...blocks));
  }

  /**
   * @param x - `[N, c1, H, W]`
   * @returns `[N, c2, H, W]`
   */
  forward(x: Tensor): Tensor {
    return this.cv3.call(concat([this.m.call(this.cv1.call(x)), this.cv2.call(x)], 1));
  }
}

/**
 * YOLOv5 `SPPF`: 1×1 conv, three chained 5×5 stride-1 max pools, concatenation of the four, 1×1 conv.
 * @example
 * ```ts
 * const sppf = new YoloSPPF(256, 256);
 * ```
 */
export class YoloSPPF extends Module {
  /** 1×1 conv halving the channels. */
  readonly cv1: YoloConv;
  /** 1×1 conv after the concatenation. */
  readonly cv2: YoloConv;
  /** The max pool. */
  readonly m: MaxPool2d;

  /**
   * @param c1 - input channels
   * @param c2 - output channels
   * @param k - pool size (default 5)
   */
  constructor(c1: number, c2: number, k = 5) {
    super();
    const c = Math.floor(c1 / 2);
    this.cv1 = this.registerModule('cv1', new YoloConv(c1, c, 1, 1));
    this.cv2 = this.registerModule('cv2', new YoloConv(c * 4, c2, 1, 1));
    this.m = this.registerModule('m', new MaxPool2d(k, { stride: 1, padding: Math.floor(k / 2) }));
  }

  /**
   * @param x - `[N, c1, H, W]`
   * @returns `[N, c2, H, W]`
   */
  forward(x: Tensor): Tensor {
    const a = this.cv1.call(x);
    const y1 = this.m.call(a);
    const y2 = this.m.call(y1);
    return this.cv2.call(concat([a, y1, y2, this.m.call(y2)], 1));
  }
}

/**
 * Nearest-neighbour ×2 upsampling (`nn.Upsample(scale_factor=2, mode='nearest')`).
 * @example
 * ```ts
 * new YoloUpsample().call(x); // [N, C, 2H, 2W]
 * ```
 */
export class YoloUpsample extends Module {
  /**
   * @param x - `[N, C, H, W]`
   * @returns `[N, C, 2H, 2W]`
   */
  forward(x: Tensor): Tensor {
    return resize(x, { scaleFactor: 2, mode: 'nearest' });
  }
}

/**
 * Channel concatenation of its inputs (YOLOv5 `Concat`).
 * @example
 * ```ts
 * new YoloConcat().call(a, b); // [N, Ca + Cb, H, W]
 * ```
 */
export class YoloConcat extends Module {
  /**
   * @param xs - NCHW tensors of equal `N`, `H`, `W`
   * @returns their concatenation along channels
   */
  forward(...xs: Tensor[]): Tensor {
    return concat(xs, 1);
  }
}

/**
 * YOLOv5 `Detect` head: one 1×1 conv (with bias) per level to `na · (5 + nc)` channels. Its output is the raw
 * (pre-sigmoid) predictions of all levels, `[N, Σ na·H·W, 5 + nc]`, ordered level → anchor → row → column as
 * YOLOv5's `view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2)`; decode them with `decodeYolo`.
 * @example
 * ```ts
 * const head = new YoloDetect(80, [64, 128, 256]);
 * ```
 */
export class YoloDetect extends Module {
  /** The per-level 1×1 convolutions. */
  readonly m: ModuleList;
  /** Number of classes. */
  readonly numClasses: number;
  /** Anchors per level. */
  readonly numAnchors: number;

  /**
   * @param numClasses - number of classes
   * @param channels - input channels of each level
   * @param numAnchors - anchors per level (default 3)
   */
  constructor(numClasses: number, channels: readonly number[], numAnchors = 3) {
    super();
    this.numClasses = numClasses;
    this.numAnchors = numAnchors;
    const no = 5 + numClasses;
    this.m = this.registerModule('m', new ModuleList(channels.map((c) => new Conv2d(c, numAnchors * no, 1))));
  }

  /**
   * YOLOv5's bias initialisation (`Model._initialize_biases`): objectness `+= log(8 / (640 / s)²)`, classes
   * `+= log(0.6 / (nc − 0.99))`, so the first steps start from about 8 objects per 640² image.
   * @param strides - stride of each level
   */
  initBiases(strides: readonly number[]): void {
    const no = 5 + this.numClasses;
    noGrad(() => {
      strides.forEach((s, i) => {
        const conv = this.m.at(i) as Conv2d;
        const b = conv.bias!;
        const v = Float32Array.from(b.dataSync() as Float32Array);
        for (let a = 0; a < this.numAnchors; a++) {
          v[a * no + 4]! += Math.log(8 / (640 / s) ** 2);
          for (let c = 0; c < this.numClasses; c++) {
            v[a * no + 5 + c]! += Math.log(0.6 / (this.numClasses - 0.99));
          }
        }
        b.assign_(fromStorage(v, b.shape, 'float32'));
      });
    });
  }

  /**
   * @param xs - the level feature maps, P3 first
   * @returns raw predictions `[N, Σ na·H·W, 5 + nc]`
   */
  forward(...xs: Tensor[]): Tensor {
    const no = 5 + this.numClasses;
    const outs = xs.map((x, i) => {
      const y = this.m.at(i).call(x);
      const [n, , h, w] = y.shape as [number, number, number, number];
      const t = transpose(reshape(y, [n, this.numAnchors, no, h, w]), [0, 1, 3, 4, 2]);
      return reshape(t, [n, this.numAnchors * h * w, no]);
    });
    return outs.length === 1 ? outs[0]! : concat(outs, 1);
  }
}

/** Options of {@link YoloNano}. */
export interface YoloNanoOptions {
  /** Number of classes (default 80). */
  readonly numClasses?: number;
  /** Input resolution, a multiple of 32 that is at least 32 (default 640). */
  readonly resolution?: number;
  /** Width multiple of the YOLOv5 channels (default 0.25, YOLOv5n). */
  readonly width?: number;
  /** Depth multiple of the C3 repeats (default 0.33, YOLOv5n). */
  readonly depth?: number;
  /** Backbone (default 'cspdarknet', YOLOv5's own). */
  readonly backbone?: YoloBackbone;
  /** Width multiplier of a MobileNet backbone (default 1.0). */
  readonly backboneWidth?: number;
  /** Input channels (default 3; cspdarknet only). */
  readonly inChannels?: number;
}

/** YOLOv5 `make_divisible`: rounds channels up to a multiple of 8. */
function ch(c: number, width: number): number {
  return Math.ceil((c * width) / 8) * 8;
}

function reps(n: number, depth: number): number {
  return Math.max(Math.round(n * depth), 1);
}

/** MobileNet feature blocks ending each level (inclusive) and the channels at width 1. */
const MOBILENET_TAPS = {
  mobilenet_v2: { ends: [6, 13, 17], channels: [32, 96, 320] },
  mobilenet_v3_small: { ends: [3, 8, 11], channels: [24, 48, 96] },
} as const;

/**
 * YOLO-nano: the YOLOv5n detector (Ultralytics YOLOv5 v6.0 `yolov5n.yaml`: depth multiple 0.33, width multiple
 * 0.25) — CSP-Darknet backbone of `Conv` (Conv2d + BN + SiLU) and `C3` blocks with a 6×6 stride-2 stem and
 * SPPF, a PAN neck (nearest ×2 upsampling + concatenation), and a `Detect` head at strides 8/16/32 with the
 * YOLOv5 default anchors. Module names follow YOLOv5's state dict (`model.0.conv.weight`, …,
 * `model.24.m.0.bias`). With `backbone: 'mobilenet_v2' | 'mobilenet_v3_small'` the backbone is the zoo
 * MobileNet's feature stages (child `backbone`, tapped at strides 8/16/32) and the SPPF, neck and head form
 * `model.0` … `model.15`.
 *
 * `forward` returns the raw predictions `[N, Σ 3·H·W, 5 + nc]` of all levels (see {@link YoloDetect}); use
 * `decodeYolo` + `batchedNms` for boxes and `yoloLoss` for training.
 * @example
 * ```ts
 * const model = new YoloNano({ numClasses: 3, resolution: 128 });
 * const raw = model.eval().call(randn([1, 3, 128, 128])); // [1, 3·(16² + 8² + 4²), 8]
 * ```
 */
export class YoloNano extends Module {
  /** The YOLOv5 layer list (backbone, neck and head for 'cspdarknet'; SPPF, neck and head otherwise). */
  readonly model: ModuleList;
  /** MobileNet feature blocks, for a MobileNet backbone. */
  readonly backbone: Sequential | null;
  /** Which backbone. */
  readonly backboneName: YoloBackbone;
  /** Width multiple. */
  readonly width: number;
  /** Depth multiple. */
  readonly depth: number;
  /** Input resolution. */
  readonly resolution: number;
  /** Number of classes. */
  readonly numClasses: number;
  /** Anchors `[w, h]` in pixels per level. */
  readonly anchors: readonly (readonly (readonly [number, number])[])[] = YOLOV5_ANCHORS;
  /** Strides per level. */
  readonly strides: readonly number[] = YOLO_STRIDES;
  private readonly taps: readonly number[];

  /**
   * @param opts - classes, resolution, width / depth multiples, backbone
   * @throws {InvalidArgumentError} on a bad class count, resolution, multiple or backbone
   */
  constructor(opts: YoloNanoOptions = {}) {
    super();
    const op = 'yolo_nano';
    const numClasses = opts.numClasses ?? 80;
    const resolution = opts.resolution ?? 640;
    const width = opts.width ?? 0.25;
    const depth = opts.depth ?? 0.33;
    const backbone = opts.backbone ?? 'cspdarknet';
    const inChannels = opts.inChannels ?? 3;
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new InvalidArgumentError(
        `${op}: 'numClasses' must be a positive integer, got ${String(numClasses)}`,
      );
    }
    if (!Number.isInteger(resolution) || resolution < 32 || resolution % 32 !== 0) {
      throw new InvalidArgumentError(
        `${op}: 'resolution' must be a multiple of 32 that is >= 32, got ${String(resolution)}`,
      );
    }
    for (const [k, v] of [
      ['width', width],
      ['depth', depth],
    ] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 4) {
        throw new InvalidArgumentError(`${op}: '${k}' must be a finite number in (0, 4], got ${String(v)}`);
      }
    }
    if (!Number.isInteger(inChannels) || inChannels < 1) {
      throw new InvalidArgumentError(
        `${op}: 'inChannels' must be a positive integer, got ${String(inChannels)}`,
      );
    }
    this.width = width;
    this.depth = depth;
    this.resolution = resolution;
    this.numClasses = numClasses;
    this.backboneName = backbone;
    const c = (n: number) => ch(n, width);
    const d = (n: number) => reps(n, depth);
    const layers: Module[] = [];
    let feats: [number, number, number];
    if (backbone === 'cspdarknet') {
      layers.push(
        new YoloConv(inChannels, c(64), 6, 2, 2),
        new YoloConv(c(64), c(128), 3, 2),
        new YoloC3(c(128), c(128), d(3)),
        new YoloConv(c(128), c(256), 3, 2),
        new YoloC3(c(256), c(256), d(6)),
        new YoloConv(c(256), c(512), 3, 2),
        new YoloC3(c(512), c(512), d(9)),
        new YoloConv(c(512), c(1024), 3, 2),
        new YoloC3(c(1024), c(1024), d(3)),
      );
      feats = [c(256), c(512), c(1024)];
      this.backbone = null;
      this.taps = [];
    } else if (backbone === 'mobilenet_v2' || backbone === 'mobilenet_v3_small') {
      if (inChannels !== 3) {
        throw new InvalidArgumentError(`${op}: 'inChannels' must be 3 with backbone '${backbone}'`);
      }
      const bw = opts.backboneWidth ?? 1.0;
      const tap = MOBILENET_TAPS[backbone];
      const net =
        backbone === 'mobilenet_v2'
          ? new MobileNetV2({ width: bw, resolution, numClasses: 1 })
          : new MobileNetV3('small', { width: bw, resolution, numClasses: 1 });
      const blocks: Module[] = [];
      for (let i = 0; i <= tap.ends[2]; i++) blocks.push(net.features.at(i));
      // The classifier and the unused last feature blocks are dropped.
      const kept = new Set(blocks.flatMap((b) => [...b.parameters(), ...b.buffers()]));
      for (const t of [...net.parameters(), ...net.buffers()]) if (!kept.has(t)) t.dispose();
      this.backbone = this.registerModule('backbone', new Sequential(...blocks));
      this.taps = tap.ends;
      feats = tap.channels.map((x) => makeDivisible(x * bw, 8)) as [number, number, number];
    } else {
      throw new InvalidArgumentError(
        `${op}: 'backbone' must be 'cspdarknet', 'mobilenet_v2' or 'mobilenet_v3_small', got ${String(backbone)}`,
      );
    }
    const [c3, c4, c5] = feats;
    layers.push(
      new YoloSPPF(c5, c(1024), 5),
      new YoloConv(c(1024), c(512), 1, 1),
      new YoloUpsample(),
      new YoloConcat(),
      new YoloC3(c(512) + c4, c(512), d(3), false),
      new YoloConv(c(512), c(256), 1, 1),
      new YoloUpsample(),
      new YoloConcat(),
      new YoloC3(c(256) + c3, c(256), d(3), false),
      new YoloConv(c(256), c(256), 3, 2),
      new YoloConcat(),
      new YoloC3(c(256) + c(256), c(512), d(3), false),
      new YoloConv(c(512), c(512), 3, 2),
      new YoloConcat(),
      new YoloC3(c(512) + c(512), c(1024), d(3), false),
    );
    const detect = new YoloDetect(numClasses, [c(256), c(512), c(1024)], 3);
    detect.initBiases(YOLO_STRIDES);
    layers.push(detect);
    this.model = this.registerModule('model', new ModuleList(layers));
  }

  /** The Detect head. */
  get detect(): YoloDetect {
    return this.model.at(this.model.length - 1) as YoloDetect;
  }

  /**
   * @param x - images `[N, 3, resolution, resolution]` (any multiple of 32 works)
   * @returns raw predictions `[N, Σ 3·H·W, 5 + nc]`
   */
  forward(x: Tensor): Tensor {
    const L = (i: number) => this.model.at(i);
    let p3: Tensor;
    let p4: Tensor;
    let p5: Tensor;
    let o: number;
    if (this.backbone === null) {
      let y = x;
      const taps: Tensor[] = [];
      for (let i = 0; i < 9; i++) {
        y = L(i).call(y);
        if (i === 4 || i === 6 || i === 8) taps.push(y);
      }
      [p3, p4, p5] = taps as [Tensor, Tensor, Tensor];
      o = 9;
    } else {
      let y = x;
      const taps: Tensor[] = [];
      for (let i = 0; i <= this.taps[2]!; i++) {
        y = this.backbone.at(i).call(y);
        if (this.taps.includes(i)) taps.push(y);
      }
      [p3, p4, p5] = taps as [Tensor, Tensor, Tensor];
      o = 0;
    }
    const y9 = L(o).call(p5);
    const y10 = L(o + 1).call(y9);
    const y13 = L(o + 4).call(L(o + 3).call(L(o + 2).call(y10), p4));
    const y14 = L(o + 5).call(y13);
    const y17 = L(o + 8).call(L(o + 7).call(L(o + 6).call(y14), p3));
    const y20 = L(o + 11).call(L(o + 10).call(L(o + 9).call(y17), y14));
    const y23 = L(o + 14).call(L(o + 13).call(L(o + 12).call(y20), y10));
    return L(o + 15).call(y17, y20, y23);
  }
}

/** The zoo options {@link yoloNanoFromZoo} reads (`CreateModelOptions` plus `backbone`). */
export interface YoloNanoZooOptions {
  /** Width multiple (default 0.25). */
  readonly width?: number;
  /** Input resolution (default 640). */
  readonly resolution?: number;
  /** Classes (default 80). */
  readonly numClasses?: number;
  /** Not used by YOLO: must be absent. */
  readonly dropout?: number;
  /** Not used by YOLO: must be absent or false. */
  readonly reducedTail?: boolean;
  /** Not used by YOLO: must be absent or false. */
  readonly dilated?: boolean;
  /** Input channels (default 3). */
  readonly inChannels?: number;
  /** Backbone (default 'cspdarknet'). */
  readonly backbone?: YoloBackbone;
}

/**
 * Builds {@link YoloNano} from zoo options (what `createModel('yolo_nano', opts)` calls).
 * @param o - width multiple, resolution, classes, input channels, backbone
 * @returns the model
 * @throws {InvalidArgumentError} on options YOLO does not use (dropout, reducedTail, dilated) or bad values
 * @example
 * ```ts
 * const m = yoloNanoFromZoo({ numClasses: 3, resolution: 96 });
 * ```
 */
export function yoloNanoFromZoo(o: YoloNanoZooOptions): YoloNano {
  if (o.dropout !== undefined || o.reducedTail || o.dilated) {
    throw new InvalidArgumentError(
      "createModel: 'dropout', 'reducedTail' and 'dilated' do not apply to 'yolo_nano'",
    );
  }
  return new YoloNano({
    ...(o.width === undefined ? {} : { width: o.width }),
    ...(o.resolution === undefined ? {} : { resolution: o.resolution }),
    ...(o.numClasses === undefined ? {} : { numClasses: o.numClasses }),
    ...(o.inChannels === undefined ? {} : { inChannels: o.inChannels }),
    ...(o.backbone === undefined ? {} : { backbone: o.backbone }),
  });
}
