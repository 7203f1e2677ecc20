/*
 * The training forward pass of a decoder-only transformer built from the autograd ops,
 * driven by the model library's ModelConfig flags so that one code path covers llama,
 * qwen2, mixtral and gpt2 with the Hugging Face semantics the serving path reproduces:
 *   x = emb(ids) (+ pos_emb(pos) for gpt2)
 *   per layer:  h = norm(x);  x += o(attn(rope?(q(h)), rope?(k(h)), v(h)))
 *               h = norm(x);  x += mlp(h):  down(act(gate(h)) ⊙ up(h))   gated (llama family)
 *                                            down(act(up(h)))             gpt2
 *                                            Σ_top-k g_e · expert_e(h)    mixtral
 *   logits = lm_head(norm(x))
 * norm = RMSNorm or LayerNorm; biases where the config has them. Shapes: ids (B·T),
 * x (B·T, C), logits (B·T, V).
 *
 * Not incremental: no KV cache (training sees whole windows; greedy evaluation recomputes).
 */
import type { ModelConfig } from '@llm/model';
import type { MatmulEngine } from '../autograd/engine';
import { alloc, Var } from '../autograd/var';
import { causalAttention } from '../ops/attention';
import { add, gelu, mul, silu } from '../ops/elementwise';
import { embedding, gatherRows, linear } from '../ops/linear';
import { moeAuxLoss, moeCombine, moeGate, rowsPerExpert } from '../ops/moe';
import { layerNorm, rmsNorm, rope } from '../ops/norm';
import { getParam, type ParamMap } from './params';

export interface ForwardResult {
  /** (B·T, V) */
  logits: Var;
  /** One load-balancing loss per MoE layer (empty for dense models). */
  auxLosses: Var[];
}

interface Ctx {
  engine: MatmulEngine;
  cfg: ModelConfig;
  P: ParamMap;
  B: number;
  T: number;
  positions: Int32Array;
  auxLosses: Var[];
}

const w = (ctx: Ctx, name: string): Var => getParam(ctx.P, name);

/** x · Wᵀ (+ b when `bias`). */
function proj(ctx: Ctx, x: Var, name: string, bias: boolean): Promise<Var> {
  return linear(ctx.engine, x, w(ctx, `${name}.weight`), bias ? w(ctx, `${name}.bias`) : undefined);
}

function norm(ctx: Ctx, x: Var, name: string): Var {
  const { cfg } = ctx;
  if (cfg.normType === 'layer') return layerNorm(x, w(ctx, `${name}.weight`), w(ctx, `${name}.bias`), cfg.normEps);
  return rmsNorm(x, w(ctx, `${name}.weight`), cfg.normEps);
}

function act(ctx: Ctx, x: Var): Var {
  return ctx.cfg.hiddenAct === 'silu' ? silu(x) : gelu(x);
}

async function attention(ctx: Ctx, h: Var, p: string): Promise<Var> {
  const { cfg, B, T } = ctx;
  const { numHeads: NH, numKvHeads: NKV, headDim: HS, qkvBias } = cfg;
  let q = await proj(ctx, h, `${p}.self_attn.q_proj`, qkvBias); // (B·T, NH·HS)
  let k = await proj(ctx, h, `${p}.self_attn.k_proj`, qkvBias); // (B·T, NKV·HS)
  const v = await proj(ctx, h, `${p}.self_attn.v_proj`, qkvBias); // (B·T, NKV·HS)
  if (cfg.positionEmbedding === 'rope') {
    q = rope(q, ctx.positions, NH, HS, cfg.ropeTheta);
    k = rope(k, ctx.positions, NKV, HS, cfg.ropeTheta);
  }
  const a = await causalAttention(ctx.engine, q, k, v, { B, T, NH, NKV, HS }); // (B·T, NH·HS)
  return proj(ctx, a, `${p}.self_attn.o_proj`, cfg.attnOutBias); // (B·T, C)
}

async function denseMlp(ctx: Ctx, h: Var, p: string): Promise<Var> {
  const bias = ctx.cfg.mlpBias;
  const up = await proj(ctx, h, `${p}.mlp.up_proj`, bias); // (N, I)
  const inner = ctx.cfg.mlpGated ? mul(act(ctx, await proj(ctx, h, `${p}.mlp.gate_proj`, bias)), up) : act(ctx, up);
  return proj(ctx, inner, `${p}.mlp.down_proj`, bias); // (N, C)
}

async function expert(ctx: Ctx, h: Var, x: string): Promise<Var> {
  // w2 · (act(w1 · h) ⊙ (w3 · h)): (R, C) -> (R, I) -> (R, C)
  const g = act(ctx, await linear(ctx.engine, h, w(ctx, `${x}.w1.weight`)));
  return linear(ctx.engine, mul(g, await linear(ctx.engine, h, w(ctx, `${x}.w3.weight`))), w(ctx, `${x}.w2.weight`));
}

async function moeMlp(ctx: Ctx, h: Var, p: string): Promise<Var> {
  const { cfg } = ctx;
  const E = cfg.numExperts;
  const k = cfg.numExpertsPerTok;
  const N = ctx.B * ctx.T;
  const C = cfg.hiddenSize;
  const routerLogits = await linear(ctx.engine, h, w(ctx, `${p}.block_sparse_moe.gate.weight`)); // (N, E)
  const { gates, selected } = moeGate(routerLogits, E, k);
  ctx.auxLosses.push(moeAuxLoss(routerLogits, E, k, selected));
  const rows = rowsPerExpert(selected, N, E, k);
  const ys: Var[] = [];
  for (let e = 0; e < E; e++) {
    if (rows[e].length === 0) ys.push(Var.constant(alloc(h.dtype, 0), [0, C]));
    else ys.push(await expert(ctx, gatherRows(h, rows[e]), `${p}.block_sparse_moe.experts.${e}`)); // (R_e, C)
  }
  return moeCombine(ys, rows, gates, N, C); // (N, C)
}

async function layer(ctx: Ctx, x: Var, l: number): Promise<Var> {
  const p = `model.layers.${l}`;
  x = add(x, await attention(ctx, norm(ctx, x, `${p}.input_layernorm`), p));
  const h = norm(ctx, x, `${p}.post_attention_layernorm`);
  return add(x, ctx.cfg.numExperts > 0 ? await moeMlp(ctx, h, p) : await denseMlp(ctx, h, p));
}

/** Logits for every position of B windows of T tokens (ids row-major (B, T)). */
export async function forward(
  engine: MatmulEngine,
  cfg: ModelConfig,
  params: ParamMap,
  ids: Int32Array,
  B: number,
  T: number,
): Promise<ForwardResult> {
  if (ids.length !== B * T) throw new Error(`forward: ${ids.length} ids for B=${B} x T=${T}`);
  if (T > cfg.maxPositions) throw new Error(`forward: window of ${T} tokens exceeds max_position_embeddings=${cfg.maxPositions}`);
  const positions = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) positions[i] = i % T;
  const ctx: Ctx = { engine, cfg, P: params, B, T, positions, auxLosses: [] };
  let x = embedding(w(ctx, 'model.embed_tokens.weight'), ids); // (B·T, C)
  if (cfg.positionEmbedding === 'learned') x = add(x, gatherRows(w(ctx, 'model.embed_positions.weight'), positions));
  for (let l = 0; l < cfg.numLayers; l++) x = await layer(ctx, x, l);
  x = norm(ctx, x, 'model.norm');
  const head = w(ctx, cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const logits = await linear(engine, x, head); // (B·T, C) x (C, V) -> (B·T, V)
  return { logits, auxLosses: ctx.auxLosses };
}
