/**
 * config.json -> ModelConfig (and back). Defaults for absent keys follow transformers'
 * LlamaConfig / Qwen2Config / MixtralConfig / GPT2Config; errors name the file and the key.
 */
import type { RopeScaling } from '@llm/tensor';
import { ARCH_CLASS, Arch, ConfigReader, HiddenAct, ModelConfig, detectArch } from './model-config';

const ACTS: Record<string, HiddenAct> = { silu: 'silu', swish: 'silu', gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh' };
const ACT_NAMES: Record<HiddenAct, string> = { silu: 'silu', gelu: 'gelu', gelu_tanh: 'gelu_new' };

function act(r: ConfigReader, key: string, fallback: string): HiddenAct {
  const v = r.json[key] ?? fallback;
  const a = typeof v === 'string' ? ACTS[v] : undefined;
  if (!a) r.fail(key, `one of ${Object.keys(ACTS).join(', ')}`);
  return a;
}

function ropeScaling(r: ConfigReader): RopeScaling | null {
  const raw = r.json.rope_scaling as Record<string, unknown> | null | undefined;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object') r.fail('rope_scaling', 'an object or null');
  const type = raw.rope_type ?? raw.type;
  if (type === 'default') return null;
  const factor = raw.factor;
  if (typeof factor !== 'number' || !(factor > 0)) r.fail('rope_scaling', 'a positive "factor"');
  if (type === 'linear') return { type: 'linear', factor };
  if (type === 'llama3') {
    const num = (k: string, d: number): number => (typeof raw[k] === 'number' ? (raw[k] as number) : d);
    return {
      type: 'llama3',
      factor,
      lowFreqFactor: num('low_freq_factor', 1),
      highFreqFactor: num('high_freq_factor', 4),
      originalMaxPositions: num('original_max_position_embeddings', 8192),
    };
  }
  return r.fail('rope_scaling', 'rope_type "llama3", "linear" or "default"');
}

function parseLlamaFamily(r: ConfigReader, arch: Arch): Omit<ModelConfig, 'arch' | 'architecture' | 'raw'> {
  const hiddenSize = r.int('hidden_size');
  const numHeads = r.int('num_attention_heads');
  const numKvHeads = r.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) r.fail('num_key_value_heads', `a divisor of num_attention_heads=${numHeads}`);
  const headDim = r.int('head_dim', hiddenSize / numHeads === Math.floor(hiddenSize / numHeads) ? hiddenSize / numHeads : undefined);
  if (headDim % 2 !== 0) r.fail('head_dim', 'an even number (rotary embeddings rotate pairs)');
  const mixtral = arch === 'mixtral';
  const numExperts = mixtral ? r.int('num_local_experts', 8) : 0;
  const numExpertsPerTok = mixtral ? r.int('num_experts_per_tok', 2) : 0;
  if (numExpertsPerTok > numExperts) r.fail('num_experts_per_tok', `at most num_local_experts=${numExperts}`);
  const attentionBias = r.bool('attention_bias', false);
  const useSliding = arch === 'qwen2' ? r.bool('use_sliding_window', false) : true;
  const mistral = r.json.model_type === 'mistral' || (Array.isArray(r.json.architectures) && r.json.architectures[0] === 'MistralForCausalLM');
  // MistralConfig defaults sliding_window to 4096; Mixtral/Qwen2 to None
  const window = r.json.sliding_window === undefined && mistral ? 4096 : r.json.sliding_window;
  const eps = r.num('rms_norm_eps', mixtral ? 1e-5 : 1e-6);
  return {
    vocabSize: r.int('vocab_size'),
    hiddenSize,
    numLayers: r.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: r.int('intermediate_size'),
    maxPositions: r.int('max_position_embeddings', { llama: 2048, qwen2: 32768, mixtral: 131072, gpt2: 1024 }[arch]),
    normType: 'rms',
    normEps: eps,
    rmsNormEps: eps,
    positionEmbedding: 'rope',
    ropeTheta: r.num('rope_theta', mixtral ? 1e6 : 10000),
    ropeScaling: ropeScaling(r),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    qkvBias: arch === 'qwen2' || attentionBias,
    attnOutBias: arch === 'llama' && attentionBias,
    mlpBias: arch === 'llama' && r.bool('mlp_bias', false),
    mlpGated: true,
    numExperts,
    numExpertsPerTok,
    hiddenAct: act(r, 'hidden_act', 'silu'),
    bosTokenId: r.optId('bos_token_id'),
    eosTokenIds: r.ids('eos_token_id'),
    padTokenId: r.optId('pad_token_id'),
    slidingWindow: useSliding && typeof window === 'number' ? window : null,
    initializerRange: r.num('initializer_range', 0.02),
  };
}

function parseGpt2(r: ConfigReader): Omit<ModelConfig, 'arch' | 'architecture' | 'raw'> {
  const hiddenSize = r.int('n_embd');
  const numHeads = r.int('n_head');
  if (hiddenSize % numHeads !== 0) r.fail('n_head', `a divisor of n_embd=${hiddenSize}`);
  if (r.bool('scale_attn_by_inverse_layer_idx', false)) r.fail('scale_attn_by_inverse_layer_idx', 'false (not supported)');
  if (!r.bool('scale_attn_weights', true)) r.fail('scale_attn_weights', 'true (unscaled attention is not supported)');
  const eps = r.num('layer_norm_epsilon', 1e-5);
  return {
    vocabSize: r.int('vocab_size'),
    hiddenSize,
    numLayers: r.int('n_layer'),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: r.int('n_inner', 4 * hiddenSize),
    maxPositions: r.int('n_positions', 1024),
    normType: 'layer',
    normEps: eps,
    layerNormEps: eps,
    positionEmbedding: 'learned',
    ropeTheta: 10000,
    ropeScaling: null,
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    qkvBias: true,
    attnOutBias: true,
    mlpBias: true,
    mlpGated: false,
    numExperts: 0,
    numExpertsPerTok: 0,
    hiddenAct: act(r, 'activation_function', 'gelu_new'),
    bosTokenId: r.optId('bos_token_id'),
    eosTokenIds: r.ids('eos_token_id'),
    padTokenId: r.optId('pad_token_id'),
    slidingWindow: null,
    initializerRange: r.num('initializer_range', 0.02),
  };
}

/** Normalises a parsed config.json. `source` names the file in errors. */
export function parseConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const r = new ConfigReader(source, json as Record<string, unknown>);
  const { arch, architecture } = detectArch(r);
  const body = arch === 'gpt2' ? parseGpt2(r) : parseLlamaFamily(r, arch);
  return { arch, architecture, ...body, raw: { ...(json as Record<string, unknown>) } };
}

function idsValue(ids: number[]): number | number[] | null {
  return ids.length === 0 ? null : ids.length === 1 ? ids[0] : ids;
}

/** ModelConfig -> a config.json object transformers can load (unknown raw keys are kept). */
export function configToHf(c: ModelConfig, torchDtype?: string): Record<string, unknown> {
  const common = {
    architectures: [c.architecture || ARCH_CLASS[c.arch]],
    vocab_size: c.vocabSize,
    bos_token_id: c.bosTokenId,
    eos_token_id: idsValue(c.eosTokenIds),
    tie_word_embeddings: c.tieWordEmbeddings,
    initializer_range: c.initializerRange,
    ...(c.padTokenId !== null ? { pad_token_id: c.padTokenId } : {}),
    ...(torchDtype ? { torch_dtype: torchDtype } : {}),
  };
  if (c.arch === 'gpt2') {
    return {
      ...c.raw, ...common, model_type: 'gpt2', n_embd: c.hiddenSize, n_layer: c.numLayers, n_head: c.numHeads,
      n_inner: c.intermediateSize, n_positions: c.maxPositions, n_ctx: c.maxPositions,
      layer_norm_epsilon: c.normEps, activation_function: ACT_NAMES[c.hiddenAct],
    };
  }
  const out: Record<string, unknown> = {
    ...c.raw, ...common, model_type: c.arch, hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads, num_key_value_heads: c.numKvHeads, head_dim: c.headDim,
    intermediate_size: c.intermediateSize, max_position_embeddings: c.maxPositions, rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta, rope_scaling: ropeScalingToHf(c.ropeScaling), hidden_act: ACT_NAMES[c.hiddenAct],
  };
  if (c.arch === 'llama') Object.assign(out, { attention_bias: c.qkvBias, mlp_bias: c.mlpBias });
  if (c.arch === 'mixtral') Object.assign(out, { num_local_experts: c.numExperts, num_experts_per_tok: c.numExpertsPerTok, sliding_window: c.slidingWindow });
  return out;
}

function ropeScalingToHf(s: RopeScaling | null): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  return {
    rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositions,
  };
}
