/**
 * The reference decoder-only transformer forward (Vaswani et al. 2017; GPT-2; Llama), for
 * llama / qwen2 / mixtral / gpt2, matching Hugging Face's modeling code:
 *   x = embed(ids) (+ wpe(pos) for gpt2)                                   (T, C)
 *   per layer:  h = norm(x);  q, k, v = h Wq^T (+b), h Wk^T (+b), h Wv^T (+b)
 *               rope(q, k) at absolute positions (llama family)
 *               a = softmax(q k^T / sqrt(HS) + causal) v  over cache + new  (GQA by index)
 *               x = x + a Wo^T (+b)
 *               h = norm(x);  x = x + mlp(h)   [ W_down (act(W_gate h) * W_up h) | W_down act(W_up h + b) + b | MoE ]
 *   logits = norm(x) W_lm^T                                                 (T, V)
 * With a KvCache, each call appends its tokens' K/V and attends over everything cached, so
 * incremental decoding equals full recomputation. Deliberately not fast: the matmul is injectable
 * (ONNX Runtime in benchmarks), and the platform's paged, batched path is libs/model/src/runner.
 */
import { KvCache, RopeTables, add, applyRope, attentionFlash, attentionNaive, embedding, gelu, layerNorm, rmsNorm, ropeTables, silu, mul } from '@llm/tensor';
import type { ModelConfig } from '../config';
import type { ModelWeights } from '../weights';
import { MatmulTransBFn, applyLinear, jsMatmulTransB } from './linear';
import { DecoderLayer, DecoderWeights, NormWeights, resolveDecoder } from './layer-weights';
import { MoeLayerExecutor, ReferenceMoeExecutor } from './moe';

export interface TransformerOptions {
  /** MoE layers (mixtral); default: the in-process ReferenceMoeExecutor */
  moeExecutor?: MoeLayerExecutor;
  /** attention kernel (default 'flash'; both are exact) */
  attention?: 'flash' | 'naive';
  /** the matrix product of every linear layer (default: plain TypeScript) */
  matmulTransB?: MatmulTransBFn;
}

export interface ForwardOptions {
  /** compute logits only for the last token (returns (1, V)); default all T rows */
  lastOnly?: boolean;
}

/** Final-norm hidden states (T, C) of `tokens` from a fresh context: what embeddings pool. */
export async function finalHiddenStates(model: Transformer, tokens: number[]): Promise<Float32Array> {
  return model.hidden(tokens);
}

export class Transformer {
  readonly decoder: DecoderWeights;
  private rope?: RopeTables; // grown on demand up to maxPositions
  private readonly moe?: MoeLayerExecutor;
  private readonly mm: MatmulTransBFn;
  private readonly attend: typeof attentionFlash;

  constructor(readonly config: ModelConfig, weights: ModelWeights, opts: TransformerOptions = {}) {
    this.decoder = resolveDecoder(config, weights);
    this.mm = opts.matmulTransB ?? jsMatmulTransB;
    this.attend = opts.attention === 'naive' ? attentionNaive : attentionFlash;

    if (config.numExperts > 0) this.moe = opts.moeExecutor ?? new ReferenceMoeExecutor(config, weights, this.mm);
  }

  /** An empty cache sized for this model. */
  newCache(): KvCache {
    return new KvCache(this.config.numLayers, this.config.numKvHeads, this.config.headDim);
  }

  /** final_norm(x) (T, C) after every layer, for `tokens` from position 0 (no cache). */
  async hidden(tokens: number[]): Promise<Float32Array> {
    const T = tokens.length;
    if (T === 0) throw new Error('hidden: tokens is empty (expected at least one token id)');
    this.checkPositions(T);
    const positions = Array.from({ length: T }, (_, t) => t);
    let x = this.embed(tokens, positions); // (T, C)
    for (let l = 0; l < this.config.numLayers; l++) x = await this.layer(l, x, positions);
    return this.norm(x, this.decoder.finalNorm, T); // (T, C)
  }

  /** Logits (T, V) for `tokens`, continuing after the tokens already in `cache` (if given). */
  async forward(tokens: number[], cache?: KvCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new Error('forward: tokens is empty (expected at least one token id)');
    const past = cache ? cache.length : 0;
    this.checkPositions(past + T);
    const positions = Array.from({ length: T }, (_, t) => past + t);
    let x = this.embed(tokens, positions); // (T, C)
    for (let l = 0; l < c.numLayers; l++) x = await this.layer(l, x, positions, cache);
    if (cache) cache.advance(T);
    const rows = opts.lastOnly ? 1 : T;
    const xs = opts.lastOnly ? x.subarray((T - 1) * c.hiddenSize) : x;
    const h = this.norm(xs, this.decoder.finalNorm, rows);
    return applyLinear(this.mm, h, this.decoder.lmHead, rows); // (T, C) x (C, V) -> (T, V)
  }

  private checkPositions(total: number): void {
    const c = this.config;
    if (total > c.maxPositions) throw new Error(`sequence of ${total} tokens exceeds max_position_embeddings=${c.maxPositions}`);
    if (c.slidingWindow !== null && total > c.slidingWindow) {
      throw new Error(`sequence of ${total} tokens exceeds sliding_window=${c.slidingWindow} (sliding-window attention is not supported)`);
    }
  }

  private embed(tokens: number[], positions: number[]): Float32Array {
    const { vocabSize: V, hiddenSize: C } = this.config;
    const x = new Float32Array(tokens.length * C);
    embedding(x, this.decoder.embed, tokens, V, C); // (T, C)
    const wpe = this.decoder.positions;
    if (wpe) {
      const pe = new Float32Array(tokens.length * C);
      embedding(pe, wpe, positions, this.config.maxPositions, C);
      add(x, x, pe, x.length); // x = wte[ids] + wpe[pos]
    }
    return x;
  }

  private norm(x: Float32Array, w: NormWeights, T: number): Float32Array {
    const C = this.config.hiddenSize;
    const out = new Float32Array(T * C);
    if (w.bias) layerNorm(out, x, w.weight, w.bias, T, C, this.config.normEps);
    else rmsNorm(out, x, w.weight, T, C, this.config.normEps);
    return out;
  }

  private async layer(l: number, x: Float32Array, positions: number[], cache?: KvCache): Promise<Float32Array> {
    const T = positions.length;
    const L = this.decoder.layers[l];
    const a = await this.attentionBlock(l, L, this.norm(x, L.attnNorm, T), positions, cache);
    add(x, x, a, x.length); // x = x + attn(norm(x))
    const h = this.norm(x, L.mlpNorm, T);
    const m = this.moe ? await this.moe.run(l, h, T) : await this.mlp(L, h, T);
    add(x, x, m, x.length); // x = x + mlp(norm(x))
    return x;
  }

  private async attentionBlock(l: number, L: DecoderLayer, h: Float32Array, positions: number[], cache?: KvCache): Promise<Float32Array> {
    const { numHeads: NH, numKvHeads: NKV, headDim: HS } = this.config;
    const T = positions.length;
    const q = await applyLinear(this.mm, h, L.q, T); // (T, NH*HS)
    const k = await applyLinear(this.mm, h, L.k, T); // (T, NKV*HS)
    const v = await applyLinear(this.mm, h, L.v, T); // (T, NKV*HS)
    if (this.config.positionEmbedding === 'rope') {
      const tables = this.ropeFor(positions[T - 1] + 1);
      applyRope(q, T, NH, HS, positions, tables);
      applyRope(k, T, NKV, HS, positions, tables);
    }
    let keys = k, values = v, S = T;
    if (cache) {
      cache.write(l, positions[0], k, v, T);
      keys = cache.k(l);
      values = cache.v(l);
      S = positions[0] + T;
    }
    const out = new Float32Array(T * NH * HS);
    this.attend(out, q, keys, values, { numQueries: T, numKeys: S, numHeads: NH, numKvHeads: NKV, headDim: HS }); // (T, NH, HS)
    return applyLinear(this.mm, out, L.o, T); // (T, NH*HS) x (NH*HS, C) -> (T, C)
  }

  /** cos/sin tables covering `needed` positions (doubling, capped at max_position_embeddings). */
  private ropeFor(needed: number): RopeTables {
    const c = this.config;
    if (!this.rope || this.rope.maxPositions < needed) {
      const size = Math.min(c.maxPositions, Math.max(needed, 2 * (this.rope?.maxPositions ?? 1024)));
      this.rope = ropeTables(c.headDim, size, c.ropeTheta, c.ropeScaling ?? undefined);
    }
    return this.rope;
  }

  private activation(out: Float32Array, x: Float32Array, n: number): void {
    const act = this.config.hiddenAct;
    if (act === 'silu') silu(out, x, n);
    else gelu(out, x, n, act === 'gelu_tanh' ? 'tanh' : 'none');
  }

  private async mlp(L: DecoderLayer, h: Float32Array, T: number): Promise<Float32Array> {
    const up = await applyLinear(this.mm, h, L.up!, T); // (T, I)
    const n = up.length;
    if (L.gate) {
      const g = await applyLinear(this.mm, h, L.gate, T); // (T, I)
      this.activation(g, g, n);
      mul(up, g, up, n); // act(W_gate h) * (W_up h)
    } else {
      this.activation(up, up, n); // act(W_up h + b)
    }
    return applyLinear(this.mm, up, L.down!, T); // (T, I) x (I, C) -> (T, C)
  }
}
