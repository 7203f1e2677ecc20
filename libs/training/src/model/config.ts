/*
 * The shape of a trainable decoder: the fields of the model library's normalised
 * ModelConfig that training needs (same names, so a loaded config is accepted as is),
 * per-architecture defaults, and `--set key=value` overrides by Hugging Face config.json
 * key names (llama/mixtral keys, and GPT-2's n_embd/n_layer/... spellings).
 *
 * Not a config.json parser for arbitrary checkpoints: that is the model library's job.
 */

export type TrainArch = 'llama' | 'gpt2' | 'mixtral';

export interface TrainModelConfig {
  arch: TrainArch;
  vocabSize: number;
  hiddenSize: number; // C
  numLayers: number; // L
  numHeads: number; // NH
  numKvHeads: number; // NKV
  headDim: number; // HS
  intermediateSize: number;
  maxPositions: number;
  rmsNormEps: number;
  layerNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  numExperts: number; // E (mixtral)
  numExpertsPerTok: number; // k (mixtral)
  /** Weight of the load-balancing loss (HF router_aux_loss_coef). */
  routerAuxLossCoef: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** Small defaults: milliseconds per forward on 2 cores. */
export function defaultConfig(arch: TrainArch, vocabSize: number): TrainModelConfig {
  const base: TrainModelConfig = {
    arch,
    vocabSize,
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: arch === 'gpt2' ? 4 : 2,
    headDim: 16,
    intermediateSize: arch === 'gpt2' ? 256 : 128,
    maxPositions: 256,
    rmsNormEps: 1e-5,
    layerNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: arch === 'gpt2',
    numExperts: arch === 'mixtral' ? 4 : 0,
    numExpertsPerTok: arch === 'mixtral' ? 2 : 0,
    routerAuxLossCoef: arch === 'mixtral' ? 0.02 : 0,
    bosTokenId: null,
    eosTokenId: null,
  };
  return base;
}

type Setter = (c: TrainModelConfig, v: string, key: string) => void;

function int(field: keyof TrainModelConfig): Setter {
  return (c, v, key) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--set ${key}=${v}: expected a non-negative integer`);
    (c as unknown as Record<string, unknown>)[field] = n;
  };
}
function num(field: keyof TrainModelConfig): Setter {
  return (c, v, key) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--set ${key}=${v}: expected a number`);
    (c as unknown as Record<string, unknown>)[field] = n;
  };
}
function bool(field: keyof TrainModelConfig): Setter {
  return (c, v, key) => {
    if (v !== 'true' && v !== 'false') throw new Error(`--set ${key}=${v}: expected true or false`);
    (c as unknown as Record<string, unknown>)[field] = v === 'true';
  };
}

const SETTERS: Record<string, Setter> = {
  hidden_size: int('hiddenSize'),
  n_embd: int('hiddenSize'),
  num_hidden_layers: int('numLayers'),
  n_layer: int('numLayers'),
  num_attention_heads: int('numHeads'),
  n_head: int('numHeads'),
  num_key_value_heads: int('numKvHeads'),
  head_dim: int('headDim'),
  intermediate_size: int('intermediateSize'),
  n_inner: int('intermediateSize'),
  max_position_embeddings: int('maxPositions'),
  n_positions: int('maxPositions'),
  vocab_size: int('vocabSize'),
  rms_norm_eps: num('rmsNormEps'),
  layer_norm_epsilon: num('layerNormEps'),
  rope_theta: num('ropeTheta'),
  tie_word_embeddings: bool('tieWordEmbeddings'),
  num_local_experts: int('numExperts'),
  num_experts_per_tok: int('numExpertsPerTok'),
  router_aux_loss_coef: num('routerAuxLossCoef'),
};

/** The HF keys `--set` accepts. */
export const SETTABLE_KEYS = Object.keys(SETTERS);

/**
 * Applies `key=value` overrides. When hidden_size or the head count changes and head_dim
 * was not given, head_dim follows as hidden_size / num_attention_heads (HF's rule).
 */
export function applyOverrides(cfg: TrainModelConfig, sets: string[]): TrainModelConfig {
  const c = { ...cfg };
  let headDimSet = false;
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--set ${kv}: expected key=value (e.g. --set hidden_size=128)`);
    const key = kv.slice(0, eq).trim();
    const setter = SETTERS[key];
    if (!setter) throw new Error(`--set ${key}: unknown config key (known: ${SETTABLE_KEYS.join(', ')})`);
    setter(c, kv.slice(eq + 1).trim(), key);
    if (key === 'head_dim') headDimSet = true;
  }
  if (!headDimSet && c.numHeads > 0) c.headDim = Math.floor(c.hiddenSize / c.numHeads);
  if (c.arch === 'gpt2') c.numKvHeads = c.numHeads;
  return c;
}

/** Throws a message naming the first inconsistent field. */
export function validateConfig(c: TrainModelConfig): void {
  const need = (ok: boolean, msg: string): void => {
    if (!ok) throw new Error(`model config: ${msg}`);
  };
  for (const f of ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'maxPositions'] as const) {
    need(Number.isInteger(c[f]) && c[f] > 0, `${f} must be a positive integer, got ${c[f]}`);
  }
  need(c.numHeads % c.numKvHeads === 0, `num_attention_heads (${c.numHeads}) must be a multiple of num_key_value_heads (${c.numKvHeads})`);
  need(c.headDim % 2 === 0 || c.arch === 'gpt2', `head_dim (${c.headDim}) must be even for RoPE`);
  if (c.arch === 'gpt2') {
    need(c.numHeads * c.headDim === c.hiddenSize, `gpt2 needs n_head · head_dim = n_embd (${c.numHeads}·${c.headDim} != ${c.hiddenSize})`);
    need(c.numKvHeads === c.numHeads, 'gpt2 has no grouped-query attention (num_key_value_heads must equal n_head)');
  }
  if (c.arch === 'mixtral') {
    need(c.numExperts >= 1, `num_local_experts must be >= 1, got ${c.numExperts}`);
    need(c.numExpertsPerTok >= 1 && c.numExpertsPerTok <= c.numExperts, `num_experts_per_tok must be in [1, ${c.numExperts}], got ${c.numExpertsPerTok}`);
  }
}
