/*
 * The training forward pass of a decoder-only transformer built from the autograd ops,
 * for three architectures with the Hugging Face semantics the serving path reproduces:
 *   llama:   x = emb(ids); per layer x += o(attn(rope(q), rope(k), v)) on rmsNorm(x),
 *            x += down(silu(gate(h)) ⊙ up(h)) on h = rmsNorm(x); logits = lm_head(rmsNorm(x))
 *   mixtral: llama with the FFN replaced by a top-k routed mixture of SwiGLU experts
 *   gpt2:    x = wte(ids) + wpe(pos); pre-LayerNorm blocks with fused c_attn, GELU(tanh) MLP,
 *            biases everywhere, tied lm_head.
 * Shapes: ids (B·T), x (B·T, C), logits (B·T, V).
 *
 * Not incremental: no KV cache (training sees whole windows; greedy evaluation recomputes).
 */
import type { MatmulEngine } from '../autograd/engine';
import { type Arr, Var } from '../autograd/var';
import { causalAttention } from '../ops/attention';
import { add, addBias, gelu, mul, silu } from '../ops/elementwise';
import { embedding, gatherRows, linear, splitCols } from '../ops/linear';
import { moeAuxLoss, moeCombine, moeGate, rowsPerExpert } from '../ops/moe';
import { layerNorm, rmsNorm, rope } from '../ops/norm';
import type { TrainModelConfig } from './config';
import { getParam, type ParamMap } from './params';

export interface ForwardResult {
  /** (B·T, V) */
  logits: Var;
  /** One load-balancing loss per MoE layer (empty for dense models). */
  auxLosses: Var[];
}

interface Ctx {
  engine: MatmulEngine;
  cfg: TrainModelConfig;
  P: ParamMap;
  B: number;
  T: number;
  positions: Int32Array;
  auxLosses: Var[];
}

const w = (ctx: Ctx, name: string): Var => getParam(ctx.P, name);

async function llamaAttention(ctx: Ctx, h: Var, p: string): Promise<Var> {
  const { cfg, engine, B, T } = ctx;
  const { numHeads: NH, numKvHeads: NKV, headDim: HS } = cfg;
  const q = rope(await linear(engine, h, w(ctx, `${p}.self_attn.q_proj.weight`)), ctx.positions, NH, HS, cfg.ropeTheta); // (B·T, NH·HS)
  const k = rope(await linear(engine, h, w(ctx, `${p}.self_attn.k_proj.weight`)), ctx.positions, NKV, HS, cfg.ropeTheta); // (B·T, NKV·HS)
  const v = await linear(engine, h, w(ctx, `${p}.self_attn.v_proj.weight`)); // (B·T, NKV·HS)
  const a = await causalAttention(engine, q, k, v, { B, T, NH, NKV, HS }); // (B·T, NH·HS)
  return linear(engine, a, w(ctx, `${p}.self_attn.o_proj.weight`)); // (B·T, C)
}

async function swiglu(engine: MatmulEngine, h: Var, gate: Var, up: Var, down: Var): Promise<Var> {
  // down(silu(gate · h) ⊙ (up · h)): (N, C) -> (N, I) -> (N, C)
  const g = silu(await linear(engine, h, gate));
  return linear(engine, mul(g, await linear(engine, h, up)), down);
}

async function moeBlock(ctx: Ctx, h: Var, p: string): Promise<Var> {
  const { cfg, engine } = ctx;
  const E = cfg.numExperts;
  const k = cfg.numExpertsPerTok;
  const N = ctx.B * ctx.T;
  const C = cfg.hiddenSize;
  const routerLogits = await linear(engine, h, w(ctx, `${p}.block_sparse_moe.gate.weight`)); // (N, E)
  const { gates, selected } = moeGate(routerLogits, E, k);
  ctx.auxLosses.push(moeAuxLoss(routerLogits, E, k, selected));
  const rows = rowsPerExpert(selected, N, E, k);
  const ys: Var[] = [];
  for (let e = 0; e < E; e++) {
    const x = `${p}.block_sparse_moe.experts.${e}`;
    if (rows[e].length === 0) {
      ys.push(Var.constant(new (h.data.constructor as new (n: number) => Arr)(0), [0, C]));
      continue;
    }
    const he = gatherRows(h, rows[e]); // (R_e, C)
    ys.push(await swiglu(engine, he, w(ctx, `${x}.w1.weight`), w(ctx, `${x}.w3.weight`), w(ctx, `${x}.w2.weight`)));
  }
  return moeCombine(ys, rows, gates, N, C); // (N, C)
}

async function llamaLayer(ctx: Ctx, x: Var, l: number): Promise<Var> {
  const p = `model.layers.${l}`;
  const eps = ctx.cfg.rmsNormEps;
  x = add(x, await llamaAttention(ctx, rmsNorm(x, w(ctx, `${p}.input_layernorm.weight`), eps), p));
  const h = rmsNorm(x, w(ctx, `${p}.post_attention_layernorm.weight`), eps);
  const ffn =
    ctx.cfg.arch === 'mixtral'
      ? await moeBlock(ctx, h, p)
      : await swiglu(ctx.engine, h, w(ctx, `${p}.mlp.gate_proj.weight`), w(ctx, `${p}.mlp.up_proj.weight`), w(ctx, `${p}.mlp.down_proj.weight`));
  return add(x, ffn);
}

async function affine(ctx: Ctx, x: Var, name: string): Promise<Var> {
  return addBias(await linear(ctx.engine, x, w(ctx, `${name}.weight`)), w(ctx, `${name}.bias`));
}

async function gpt2Layer(ctx: Ctx, x: Var, l: number): Promise<Var> {
  const p = `transformer.h.${l}`;
  const { cfg, B, T } = ctx;
  const C = cfg.hiddenSize;
  const eps = cfg.layerNormEps;
  const h = layerNorm(x, w(ctx, `${p}.ln_1.weight`), w(ctx, `${p}.ln_1.bias`), eps);
  const [q, k, v] = splitCols(await affine(ctx, h, `${p}.attn.c_attn`), [C, C, C]); // (B·T, 3C) -> 3 x (B·T, C)
  const a = await causalAttention(ctx.engine, q, k, v, { B, T, NH: cfg.numHeads, NKV: cfg.numHeads, HS: cfg.headDim });
  x = add(x, await affine(ctx, a, `${p}.attn.c_proj`));
  const h2 = layerNorm(x, w(ctx, `${p}.ln_2.weight`), w(ctx, `${p}.ln_2.bias`), eps);
  return add(x, await affine(ctx, gelu(await affine(ctx, h2, `${p}.mlp.c_fc`)), `${p}.mlp.c_proj`));
}

function lmHead(ctx: Ctx): Var {
  const { cfg } = ctx;
  if (!cfg.tieWordEmbeddings) return w(ctx, 'lm_head.weight');
  return w(ctx, cfg.arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight');
}

/** Logits for every position of B windows of T tokens (ids row-major (B, T)). */
export async function forward(
  engine: MatmulEngine,
  cfg: TrainModelConfig,
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
  let x: Var;
  if (cfg.arch === 'gpt2') {
    x = add(embedding(w(ctx, 'transformer.wte.weight'), ids), gatherRows(w(ctx, 'transformer.wpe.weight'), positions));
    for (let l = 0; l < cfg.numLayers; l++) x = await gpt2Layer(ctx, x, l);
    x = layerNorm(x, w(ctx, 'transformer.ln_f.weight'), w(ctx, 'transformer.ln_f.bias'), cfg.layerNormEps);
  } else {
    x = embedding(w(ctx, 'model.embed_tokens.weight'), ids); // (B·T, C)
    for (let l = 0; l < cfg.numLayers; l++) x = await llamaLayer(ctx, x, l);
    x = rmsNorm(x, w(ctx, 'model.norm.weight'), cfg.rmsNormEps);
  }
  const logits = await linear(engine, x, lmHead(ctx)); // (B·T, C) x (C, V) -> (B·T, V)
  return { logits, auxLosses: ctx.auxLosses };
}
