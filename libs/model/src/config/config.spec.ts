/**
 * config.json normalisation: real-world shaped configs of each architecture, HF defaults,
 * errors naming the key, and config -> config.json -> config round trips.
 */
import { parseConfig, configToHf, parseGenerationConfig } from './index';

const llama31 = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336,
  num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 131072, rms_norm_eps: 1e-5,
  rope_theta: 500000, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], tie_word_embeddings: false,
  rope_scaling: { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192, rope_type: 'llama3' },
};

describe('parseConfig', () => {
  it('normalises a Llama 3.1 config (GQA, llama3 rope scaling, eos list)', () => {
    const c = parseConfig(llama31);
    expect(c).toMatchObject({
      arch: 'llama', numHeads: 32, numKvHeads: 8, headDim: 128, normType: 'rms', normEps: 1e-5, ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
      eosTokenIds: [128001, 128008, 128009], qkvBias: false, tieWordEmbeddings: false, hiddenAct: 'silu', numExperts: 0,
    });
  });

  it('Qwen2 has QKV bias and no output bias; Mixtral has experts', () => {
    const q = parseConfig({ architectures: ['Qwen2ForCausalLM'], vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, tie_word_embeddings: true, sliding_window: 4, use_sliding_window: false });
    expect([q.qkvBias, q.attnOutBias, q.tieWordEmbeddings, q.slidingWindow]).toEqual([true, false, true, null]);
    const m = parseConfig({ architectures: ['MixtralForCausalLM'], vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 });
    expect([m.numExperts, m.numExpertsPerTok, m.ropeTheta, m.numKvHeads]).toEqual([8, 2, 1e6, 2]);
  });

  it('GPT-2 defaults: n_inner null -> 4 C, gelu_new, LayerNorm, tied, learned positions', () => {
    const g = parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 });
    expect(g).toMatchObject({ arch: 'gpt2', intermediateSize: 3072, headDim: 64, hiddenAct: 'gelu_tanh', normType: 'layer', tieWordEmbeddings: true, positionEmbedding: 'learned', qkvBias: true, mlpGated: false, eosTokenIds: [50256] });
  });

  it('names the file and key on bad input', () => {
    expect(() => parseConfig({ architectures: ['BertModel'] }, 'd/config.json')).toThrow(/d\/config.json: "architectures" is \["BertModel"\] \(expected one of LlamaForCausalLM/);
    expect(() => parseConfig({ ...llama31, hidden_size: undefined }, 'c.json')).toThrow(/c.json: missing "hidden_size"/);
    expect(() => parseConfig({ ...llama31, num_key_value_heads: 5 })).toThrow(/"num_key_value_heads" is 5 \(expected a divisor of num_attention_heads=32\)/);
    expect(() => parseConfig({ ...llama31, rope_scaling: { rope_type: 'yarn', factor: 2 } })).toThrow(/"rope_scaling"/);
    expect(() => parseConfig({ ...llama31, vocab_size: -1 })).toThrow(/"vocab_size" is -1 \(expected an integer >= 1\)/);
    expect(() => parseConfig([])).toThrow(/expected a JSON object/);
  });

  it('round-trips through config.json', () => {
    for (const json of [llama31, { architectures: ['GPT2LMHeadModel'], vocab_size: 11, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16, tie_word_embeddings: false }]) {
      const c = parseConfig(json);
      const again = parseConfig(JSON.parse(JSON.stringify(configToHf(c, 'float16'))));
      expect({ ...again, raw: null }).toEqual({ ...c, raw: null });
    }
  });
});

describe('parseGenerationConfig', () => {
  it('do_sample false means greedy; sampling keys follow GenerationConfig defaults', () => {
    expect(parseGenerationConfig({ temperature: 0.7, eos_token_id: 2 })).toMatchObject({ doSample: false, temperature: 0, topK: 0, eosTokenIds: [2] });
    expect(parseGenerationConfig({ do_sample: true, temperature: 0.6, top_p: 0.9 })).toMatchObject({ doSample: true, temperature: 0.6, topK: 50, topP: 0.9 });
    expect(() => parseGenerationConfig({ do_sample: true, top_p: 2 }, 'g.json')).toThrow(/g.json: "top_p" is 2 \(expected a number in \[0, 1\]\)/);
  });
});
