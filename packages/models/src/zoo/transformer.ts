import { chunk, InvalidArgumentError, matmul, ShapeError, type Tensor } from '@tinyvision/tensor';
import { Dropout, LayerNorm, Linear, Module, Sequential, SiLU } from '../nn/index.js';

/** Options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Biases in the qkv and output projections (default true). */
  readonly bias?: boolean;
  /** Dropout on the attention weights (default 0). */
  readonly attnDropout?: number;
}

/**
 * Multi-head self-attention over `[B, N, d]` token sequences, as ml-cvnets `MultiHeadAttention`: one `qkv_proj`
 * Linear `d → 3d`, queries scaled by `headDim^-0.5`, `softmax(q·kᵀ)·v` per head with batched matrix products,
 * heads concatenated and projected by `out_proj`. Children: `qkv_proj`, `attn_dropout`, `out_proj`.
 * @example
 * ```ts
 * const mha = new MultiHeadAttention(64, 4);
 * mha.call(randn([2, 16, 64])).shape; // [2, 16, 64]
 * ```
 */
export class MultiHeadAttention extends Module {
  /** Joint query/key/value projection `d → 3d`. */
  readonly qkvProj: Linear;
  /** Dropout on the attention weights. */
  readonly attnDropout: Dropout;
  /** Output projection `d → d`. */
  readonly outProj: Linear;
  /** Embedding dimension `d`. */
  readonly embedDim: number;
  /** Number of heads. */
  readonly numHeads: number;
  /** Channels per head (`d / numHeads`). */
  readonly headDim: number;

  /**
   * @param embedDim - token dimension `d`
   * @param numHeads - heads; must divide `embedDim`
   * @param opts - projection biases and attention dropout
   * @throws {InvalidArgumentError} when `numHeads` is not a positive integer dividing `embedDim`
   */
  constructor(embedDim: number, numHeads: number, opts: MultiHeadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new InvalidArgumentError(
        `MultiHeadAttention: 'numHeads' must be a positive integer dividing embedDim ${embedDim}, got ${numHeads}`,
      );
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    const bias = opts.bias ?? true;
    this.qkvProj = this.registerModule('qkv_proj', new Linear(embedDim, 3 * embedDim, { bias }));
    this.attnDropout = this.registerModule('attn_dropout', new Dropout(opts.attnDropout ?? 0));
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias }));
  }

  /**
   * @param x - tokens `[B, N, d]`
   * @returns attended tokens `[B, N, d]`
   * @throws {ShapeError} when `x` is not `[B, N, embedDim]`
   */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.embedDim) {
      throw new ShapeError(
        `MultiHeadAttention: 'x' shape [${x.shape.join(',')}] must be [B, N, ${this.embedDim}]`,
      );
    }
    const [b, n] = x.shape as [number, number, number];
    const h = this.numHeads;
    const c = this.headDim;
    // [B, N, 3d] → [B, N, 3, h, c] → [3, B, h, N, c]
    const qkv = this.qkvProj.call(x).reshape([b, n, 3, h, c]).transpose([2, 0, 3, 1, 4]);
    const [q, k, v] = chunk(qkv, 3, 0).map((t) => t.reshape([b, h, n, c])) as [Tensor, Tensor, Tensor];
    const scores = matmul(q.mul(c ** -0.5), k, { transposeB: true }); // [B, h, N, N]
    const attn = this.attnDropout.call(scores.softmax(-1));
    const out = matmul(attn, v)
      .transpose([0, 2, 1, 3])
      .reshape([b, n, h * c]);
    return this.outProj.call(out);
  }
}

/** Options of {@link TransformerEncoder}. */
export interface TransformerEncoderOptions {
  /** Dropout on the attention weights (default 0). */
  readonly attnDropout?: number;
  /** Dropout after the attention and after the FFN (default 0). */
  readonly dropout?: number;
  /** Dropout between the two FFN Linears (default 0). */
  readonly ffnDropout?: number;
  /** LayerNorm epsilon (default 1e-5). */
  readonly eps?: number;
}

/**
 * Pre-norm transformer encoder layer, as ml-cvnets `TransformerEncoder`:
 * `x = x + mha(ln(x)); x = x + ffn(ln(x))` with a SiLU FFN `d → ffnDim → d`. Children: `pre_norm_mha`
 * (`0` LayerNorm, `1` {@link MultiHeadAttention}, `2` Dropout) and `pre_norm_ffn` (`0` LayerNorm, `1` Linear,
 * `2` SiLU, `3` Dropout, `4` Linear, `5` Dropout).
 * @example
 * ```ts
 * const layer = new TransformerEncoder(64, 128, 4);
 * layer.call(randn([2, 16, 64])).shape; // [2, 16, 64]
 * ```
 */
export class TransformerEncoder extends Module {
  /** LayerNorm → attention → dropout. */
  readonly preNormMha: Sequential;
  /** LayerNorm → Linear → SiLU → dropout → Linear → dropout. */
  readonly preNormFfn: Sequential;

  /**
   * @param embedDim - token dimension `d`
   * @param ffnDim - hidden width of the FFN
   * @param numHeads - attention heads (must divide `embedDim`)
   * @param opts - dropouts and LayerNorm epsilon
   * @throws {InvalidArgumentError} when `numHeads` does not divide `embedDim`
   */
  constructor(embedDim: number, ffnDim: number, numHeads: number, opts: TransformerEncoderOptions = {}) {
    super();
    const eps = opts.eps ?? 1e-5;
    const dropout = opts.dropout ?? 0;
    this.preNormMha = this.registerModule(
      'pre_norm_mha',
      new Sequential(
        new LayerNorm(embedDim, { eps }),
        new MultiHeadAttention(embedDim, numHeads, { attnDropout: opts.attnDropout ?? 0 }),
        new Dropout(dropout),
      ),
    );
    this.preNormFfn = this.registerModule(
      'pre_norm_ffn',
      new Sequential(
        new LayerNorm(embedDim, { eps }),
        new Linear(embedDim, ffnDim),
        new SiLU(),
        new Dropout(opts.ffnDropout ?? 0),
        new Linear(ffnDim, embedDim),
        new Dropout(dropout),
      ),
    );
  }

  /**
   * @param x - tokens `[B, N, d]`
   * @returns tokens `[B, N, d]`
   */
  forward(x: Tensor): Tensor {
    const y = x.add(this.preNormMha.call(x));
    return y.add(this.preNormFfn.call(y));
  }
}
