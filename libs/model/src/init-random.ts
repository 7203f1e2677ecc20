/**
 * Random-weight models of any supported architecture, for tests, benchmarks and `llm init-model`.
 * The config starts from a tiny per-architecture default (a forward takes milliseconds), takes
 * HF config.json keys as overrides, and goes through the same parseConfig as a loaded model.
 * Weights: N(0, initializer_range^2) like HF's _init_weights, except that norm weights are
 * 1 + N(0, 0.1^2) and biases N(0, initializer_range^2) instead of HF's ones/zeros, so that a
 * test notices a dropped bias or norm weight. Same (arch, overrides, seed), same weights.
 */
import { createRng } from '@llm/tensor';
import { Arch, ModelConfig, parseConfig } from './config';
import { ModelWeights, expectedWeights } from './weights';

const LLAMA_BASE = {
  vocab_size: 512, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  intermediate_size: 128, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000,
  hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2, initializer_range: 0.02,
};

/** The tiny default config.json object of each architecture. */
export function defaultHfConfig(arch: Arch): Record<string, unknown> {
  switch (arch) {
    case 'llama':
      return { architectures: ['LlamaForCausalLM'], model_type: 'llama', ...LLAMA_BASE, tie_word_embeddings: false };
    case 'qwen2':
      return { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', ...LLAMA_BASE, tie_word_embeddings: true, use_sliding_window: false };
    case 'mixtral':
      return {
        architectures: ['MixtralForCausalLM'], model_type: 'mixtral', ...LLAMA_BASE, rope_theta: 1e6,
        num_local_experts: 4, num_experts_per_tok: 2, tie_word_embeddings: false, sliding_window: null,
      };
    case 'gpt2':
      return {
        architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 512, n_embd: 64, n_layer: 2, n_head: 4,
        n_inner: 128, n_positions: 512, n_ctx: 512, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new',
        bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: true, initializer_range: 0.02,
      };
    default:
      throw new Error(`unknown architecture "${arch as string}" (expected llama, qwen2, mixtral or gpt2)`);
  }
}

export const ARCHS: readonly Arch[] = ['llama', 'qwen2', 'mixtral', 'gpt2'];

/** A config from the arch's tiny default plus HF-named overrides (e.g. { hidden_size: 576 }). */
export function makeConfig(arch: Arch, overrides: Record<string, unknown> = {}): ModelConfig {
  if (!ARCHS.includes(arch)) throw new Error(`unknown architecture "${arch}" (expected one of ${ARCHS.join(', ')})`);
  const json = { ...defaultHfConfig(arch), ...overrides };
  return parseConfig(json, `${arch} config (defaults + overrides)`);
}

/** Random weights (internal naming) for a config; deterministic in `seed`. */
export function randomWeights(config: ModelConfig, seed: number): ModelWeights {
  const rng = createRng(seed);
  const std = config.initializerRange;
  const w: ModelWeights = {};
  for (const [name, shape] of expectedWeights(config)) {
    if (name === 'lm_head.weight' && config.tieWordEmbeddings) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = /(layernorm|norm)\.weight$/.test(name);
    w[name] = { shape, data: isNorm ? rng.normalArray(n, 0.1, 1) : rng.normalArray(n, std) };
  }
  if (config.tieWordEmbeddings) w['lm_head.weight'] = w['model.embed_tokens.weight'];
  return w;
}

/** A random-weight model: config (tiny default + overrides) and weights. */
export function initRandomModel(arch: Arch, overrides: Record<string, unknown> = {}, seed = 0): { config: ModelConfig; weights: ModelWeights } {
  const config = makeConfig(arch, overrides);
  return { config, weights: randomWeights(config, seed) };
}
