/**
 * A deliberately plain, slow, float64 forward pass written straight from Hugging Face's modeling
 * code (modeling_llama / modeling_qwen2 / modeling_mixtral / modeling_gpt2), reading checkpoint
 * tensors by their HF names (GPT-2's Conv1D [in, out] layout and fused c_attn used as stored).
 * It shares no code with the library's forward (no kernels, no weight renaming), so tests can use
 * it as an independent expectation. Not for anything but tests: one token, one head at a time.
 * An observer sees each attention row (softmax of q . k / sqrt(HS) over positions 0..t) and each
 * token's Mixtral gating, for tests of the internals trace.
 */
import type { ModelConfig } from '../config';

type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

/** What plainForward reports as it computes (the internals trace's independent expectation). */
export interface PlainObserver {
  /** Layer l, query head h, position t: probs over key positions 0..t. */
  attention?(layer: number, head: number, position: number, probs: number[]): void;
  /** Layer l, position t: softmax gate probabilities (E), chosen experts best first, renormalised weights. */
  moe?(layer: number, position: number, probs: number[], experts: number[], weights: number[]): void;
}

let observer: PlainObserver | undefined;
let current = { layer: 0, position: 0 };
type Vec = number[];

function get(t: Tensors, name: string): Float32Array {
  const w = t[name];
  if (!w) throw new Error(`plainForward: tensor "${name}" not found`);
  return w.data;
}

/** y = W x + b with W [out, in] (nn.Linear) */
function linear(x: Vec, W: Float32Array, out: number, b?: Float32Array): Vec {
  const inF = x.length;
  const y: Vec = [];
  for (let j = 0; j < out; j++) {
    let s = b ? b[j] : 0;
    for (let i = 0; i < inF; i++) s += W[j * inF + i] * x[i];
    y.push(s);
  }
  return y;
}

/** y = x W + b with W [in, out] (GPT-2 Conv1D) */
function conv1d(x: Vec, W: Float32Array, out: number, b: Float32Array): Vec {
  const y: Vec = [];
  for (let j = 0; j < out; j++) {
    let s = b[j];
    for (let i = 0; i < x.length; i++) s += x[i] * W[i * out + j];
    y.push(s);
  }
  return y;
}

function rmsNorm(x: Vec, w: Float32Array, eps: number): Vec {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]);
}

function layerNorm(x: Vec, w: Float32Array, b: Float32Array, eps: number): Vec {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]);
}

/** erf by composite Simpson integration of 2/sqrt(pi) e^(-t^2) over [0, x] (independent of the library's series) */
function erf(x: number): number {
  const n = 4000; // even
  const h = x / n;
  let sum = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * sum * h) / 3;
}

function act(name: string, v: number): number {
  if (name === 'silu') return v / (1 + Math.exp(-v));
  if (name === 'gelu_tanh') return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

/** rotate_half RoPE of one head vector at position p (no scaling) */
function rope(x: Vec, p: number, theta: number): Vec {
  const d = x.length, half = d / 2;
  const y = [...x];
  for (let i = 0; i < half; i++) {
    const a = p / theta ** ((2 * i) / d);
    y[i] = x[i] * Math.cos(a) - x[i + half] * Math.sin(a);
    y[i + half] = x[i + half] * Math.cos(a) + x[i] * Math.sin(a);
  }
  return y;
}

function softmax(x: Vec): Vec {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

interface Layer {
  q: Vec; k: Vec; v: Vec; // per token, (NH*HS) / (NKV*HS)
}

/** Causal attention of token t over tokens 0..t; GQA head h reads kv head floor(h / (NH / NKV)). */
function attend(c: ModelConfig, cache: Layer[], t: number): Vec {
  const { numHeads: NH, numKvHeads: NKV, headDim: HS } = c;
  const out: Vec = [];
  for (let h = 0; h < NH; h++) {
    const g = Math.floor(h / (NH / NKV));
    const scores: Vec = [];
    for (let j = 0; j <= t; j++) {
      let s = 0;
      for (let d = 0; d < HS; d++) s += cache[t].q[h * HS + d] * cache[j].k[g * HS + d];
      scores.push(s / Math.sqrt(HS));
    }
    const p = softmax(scores);
    observer?.attention?.(current.layer, h, t, p);
    for (let d = 0; d < HS; d++) out.push(p.reduce((s, pj, j) => s + pj * cache[j].v[g * HS + d], 0));
  }
  return out;
}

function llamaMlp(c: ModelConfig, t: Tensors, p: string, x: Vec): Vec {
  const I = c.intermediateSize, C = c.hiddenSize;
  const b = (n: string) => (c.mlpBias ? get(t, `${p}.mlp.${n}.bias`) : undefined);
  const g = linear(x, get(t, `${p}.mlp.gate_proj.weight`), I, b('gate_proj'));
  const u = linear(x, get(t, `${p}.mlp.up_proj.weight`), I, b('up_proj'));
  return linear(g.map((gv, i) => act(c.hiddenAct, gv) * u[i]), get(t, `${p}.mlp.down_proj.weight`), C, b('down_proj'));
}

function mixtralMoe(c: ModelConfig, t: Tensors, p: string, x: Vec): Vec {
  const { numExperts: E, numExpertsPerTok: k, intermediateSize: I, hiddenSize: C } = c;
  const probs = softmax(linear(x, get(t, `${p}.block_sparse_moe.gate.weight`), E));
  const order = probs.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k);
  const z = order.reduce((s, [v]) => s + v, 0);
  observer?.moe?.(current.layer, current.position, probs, order.map(([, e]) => e), order.map(([v]) => v / z));
  const out: Vec = new Array(C).fill(0);
  for (const [pe, e] of order) {
    const ep = `${p}.block_sparse_moe.experts.${e}`;
    const h1 = linear(x, get(t, `${ep}.w1.weight`), I);
    const h3 = linear(x, get(t, `${ep}.w3.weight`), I);
    const y = linear(h1.map((v, i) => act('silu', v) * h3[i]), get(t, `${ep}.w2.weight`), C);
    for (let i = 0; i < C; i++) out[i] += (pe / z) * y[i];
  }
  return out;
}

function llamaForward(c: ModelConfig, t: Tensors, tokens: number[]): Vec[] {
  const C = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const caches: Layer[][] = Array.from({ length: c.numLayers }, () => []);
  const emb = get(t, 'model.embed_tokens.weight');
  const head = c.tieWordEmbeddings ? emb : get(t, 'lm_head.weight');
  return tokens.map((id, pos) => {
    let x: Vec = Array.from(emb.subarray(id * C, (id + 1) * C));
    for (let l = 0; l < c.numLayers; l++) {
      current = { layer: l, position: pos };
      const p = `model.layers.${l}`;
      const h = rmsNorm(x, get(t, `${p}.input_layernorm.weight`), c.normEps);
      const b = (n: string) => (c.qkvBias ? get(t, `${p}.self_attn.${n}.bias`) : undefined);
      const q = linear(h, get(t, `${p}.self_attn.q_proj.weight`), qd, b('q_proj'));
      const k = linear(h, get(t, `${p}.self_attn.k_proj.weight`), kvd, b('k_proj'));
      const v = linear(h, get(t, `${p}.self_attn.v_proj.weight`), kvd, b('v_proj'));
      const rot = (vec: Vec, heads: number) => Array.from({ length: heads }, (_, hh) => rope(vec.slice(hh * c.headDim, (hh + 1) * c.headDim), pos, c.ropeTheta)).flat();
      caches[l].push({ q: rot(q, c.numHeads), k: rot(k, c.numKvHeads), v });
      const a = linear(attend(c, caches[l], pos), get(t, `${p}.self_attn.o_proj.weight`), C, c.attnOutBias ? get(t, `${p}.self_attn.o_proj.bias`) : undefined);
      x = x.map((xv, i) => xv + a[i]);
      const h2 = rmsNorm(x, get(t, `${p}.post_attention_layernorm.weight`), c.normEps);
      const m = c.numExperts > 0 ? mixtralMoe(c, t, p, h2) : llamaMlp(c, t, p, h2);
      x = x.map((xv, i) => xv + m[i]);
    }
    return linear(rmsNorm(x, get(t, 'model.norm.weight'), c.normEps), head, c.vocabSize);
  });
}

function gpt2Forward(c: ModelConfig, t: Tensors, tokens: number[]): Vec[] {
  const pre = Object.keys(t).some((k) => k.startsWith('transformer.')) ? 'transformer.' : '';
  const g = (n: string) => get(t, pre + n);
  const C = c.hiddenSize, I = c.intermediateSize;
  const caches: Layer[][] = Array.from({ length: c.numLayers }, () => []);
  const wte = g('wte.weight'), wpe = g('wpe.weight');
  const head = c.tieWordEmbeddings ? wte : get(t, 'lm_head.weight');
  return tokens.map((id, pos) => {
    let x: Vec = Array.from({ length: C }, (_, i) => wte[id * C + i] + wpe[pos * C + i]);
    for (let l = 0; l < c.numLayers; l++) {
      current = { layer: l, position: pos };
      const p = `h.${l}`;
      const h = layerNorm(x, g(`${p}.ln_1.weight`), g(`${p}.ln_1.bias`), c.normEps);
      const qkv = conv1d(h, g(`${p}.attn.c_attn.weight`), 3 * C, g(`${p}.attn.c_attn.bias`)); // split(C) -> q, k, v
      caches[l].push({ q: qkv.slice(0, C), k: qkv.slice(C, 2 * C), v: qkv.slice(2 * C) });
      const a = conv1d(attend(c, caches[l], pos), g(`${p}.attn.c_proj.weight`), C, g(`${p}.attn.c_proj.bias`));
      x = x.map((xv, i) => xv + a[i]);
      const h2 = layerNorm(x, g(`${p}.ln_2.weight`), g(`${p}.ln_2.bias`), c.normEps);
      const u = conv1d(h2, g(`${p}.mlp.c_fc.weight`), I, g(`${p}.mlp.c_fc.bias`)).map((v) => act(c.hiddenAct, v));
      const m = conv1d(u, g(`${p}.mlp.c_proj.weight`), C, g(`${p}.mlp.c_proj.bias`));
      x = x.map((xv, i) => xv + m[i]);
    }
    return linear(layerNorm(x, g('ln_f.weight'), g('ln_f.bias'), c.normEps), head, c.vocabSize);
  });
}

/** Logits (T rows of V) for `tokens` from checkpoint tensors with HF names. */
export function plainForward(config: ModelConfig, hfTensors: Tensors, tokens: number[], observe?: PlainObserver): number[][] {
  if (config.ropeScaling) throw new Error('plainForward: rope scaling is not modelled here');
  observer = observe;
  try {
    return config.arch === 'gpt2' ? gpt2Forward(config, hfTensors, tokens) : llamaForward(config, hfTensors, tokens);
  } finally {
    observer = undefined;
  }
}
