/*
 * The llama family's hyperparameters between GGUF metadata and a Hugging Face config.json:
 *
 *   general.architecture   llama (LlamaForCausalLM; MistralForCausalLM and MixtralForCausalLM are
 *                          written as llama too, Mixtral with expert counts) | qwen2
 *   [arch].context_length, embedding_length, block_count, feed_forward_length,
 *   [arch].attention.head_count, head_count_kv, layer_norm_rms_epsilon, key_length
 *   (feed_forward_length and the head counts also as per-layer arrays, equal in every layer),
 *   [arch].rope.freq_base, rope.dimension_count, rope.scaling.type / factor (linear),
 *   [arch].expert_count, expert_used_count, vocab_size
 *
 * eos_token_id becomes every id llama.cpp ends generation on: eos, eot, eom, and the tokens it
 * recognises by their text (<|eot_id|>, <|im_end|>, <|endoftext|>, ...).
 * Reading builds the config.json object and hands it to parseConfig, so a GGUF model is
 * validated exactly like a directory. Counts are written as uint32 and floats as float32, as
 * llama.cpp's converter writes them. Llama 3's frequency scaling travels as the rope_freqs.weight
 * tensor (./rope-freqs.ts). Refused with a clear error: other architectures, partial rotary
 * embeddings, rope_freqs of another shape, rope scaling other than linear and llama3. A sliding
 * window (Mistral v0.1) is written as a context_length of the window's length.
 * Follows ggml docs/gguf.md ("LLM" and "LLaMA" sections).
 */
import type { ModelConfig } from '../config';
import { ARCH_CLASS } from '../config/model-config';
import { GgufMeta, gv } from './metadata';
import { llama3ScalingFromFactors } from './rope-freqs';
import { GgufError, type GgufValue, type GgufTensorInfo } from './types';

export const GGUF_ARCHS = ['llama', 'qwen2'];

/** HF config.json of the model a GGUF file holds (tensors: to detect biases and a tied head). */
export function hfConfigFromGguf(m: GgufMeta, tensors: ReadonlyMap<string, GgufTensorInfo>, ropeFreqs: Float32Array | null = null): Record<string, unknown> {
  const arch = m.str('general.architecture');
  if (!GGUF_ARCHS.includes(arch)) throw new GgufError(`${m.source}: general.architecture "${arch}" is not supported (expected ${GGUF_ARCHS.join(' or ')}; Mistral and Mixtral files use llama)`);
  const k = (key: string) => `${arch}.${key}`;
  const why = `required for the ${arch} architecture`;
  const C = m.uint(k('embedding_length'), why);
  const L = m.uint(k('block_count'), why);
  const NH = m.perLayerUint(k('attention.head_count'), L, why);
  const I = m.perLayerUint(k('feed_forward_length'), L, why);
  const context = m.uint(k('context_length'), why);
  const eps = m.float(k('attention.layer_norm_rms_epsilon'), why);
  const headDim = m.optUint(k('attention.key_length')) ?? C / NH;
  const valueDim = m.optUint(k('attention.value_length'));
  if (valueDim !== null && valueDim !== headDim) throw new GgufError(`${m.source}: attention.value_length ${valueDim} differs from key_length ${headDim} (not supported)`);
  const rotary = m.optUint(k('rope.dimension_count')) ?? headDim;
  if (rotary !== headDim) throw new GgufError(`${m.source}: ${k('rope.dimension_count')} is ${rotary} but heads have ${headDim} dimensions (partial rotary embeddings are not supported)`);
  if (tensors.has('rope_freqs.weight') && !ropeFreqs) throw new GgufError(`${m.source}: rope_freqs.weight was not read`);
  const theta = m.optFloat(k('rope.freq_base')) ?? 10000;
  const E = m.optUint(k('expert_count')) ?? 0;
  const tokens = m.has('tokenizer.ggml.tokens') ? m.strings('tokenizer.ggml.tokens').length : null;
  const vocab = m.optUint(k('vocab_size')) ?? tokens ?? tensors.get('token_embd.weight')?.dims[1];
  if (vocab === undefined) throw new GgufError(`${m.source}: no ${k('vocab_size')}, tokenizer.ggml.tokens or token_embd.weight to size the vocabulary`);
  const json: Record<string, unknown> = {
    architectures: [arch === 'qwen2' ? ARCH_CLASS.qwen2 : E > 0 ? ARCH_CLASS.mixtral : ARCH_CLASS.llama],
    model_type: arch === 'qwen2' ? 'qwen2' : E > 0 ? 'mixtral' : 'llama',
    vocab_size: vocab,
    hidden_size: C,
    num_hidden_layers: L,
    num_attention_heads: NH,
    num_key_value_heads: m.optPerLayerUint(k('attention.head_count_kv'), L) ?? NH,
    head_dim: headDim,
    intermediate_size: I,
    max_position_embeddings: context,
    rms_norm_eps: eps,
    rope_theta: theta,
    rope_scaling: ropeFreqs ? llama3ScalingFromFactors(ropeFreqs, headDim, theta, m.source) : ropeScaling(m, k),
    hidden_act: 'silu',
    tie_word_embeddings: !tensors.has('output.weight'),
    bos_token_id: m.optUint('tokenizer.ggml.bos_token_id') ?? spmDefault(m, 1, tokens),
    eos_token_id: endOfGeneration(m, m.optUint('tokenizer.ggml.eos_token_id') ?? spmDefault(m, 2, tokens)),
  };
  if (arch === 'llama') Object.assign(json, { attention_bias: tensors.has('blk.0.attn_q.bias'), mlp_bias: tensors.has('blk.0.ffn_up.bias') });
  if (E > 0) Object.assign(json, { num_local_experts: E, num_experts_per_tok: m.uint(k('expert_used_count'), 'required with expert_count'), sliding_window: null });
  return json;
}

/** Token texts llama.cpp ends generation on whatever the eos id says (llama-vocab.cpp's EOG list, llama-family entries). */
const EOG_TEXTS = new Set(['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>', '_<EOT>', '<|end_of_text|>']);

/** The end-of-generation ids: eos, eot and eom ids, then tokens recognised by their text (null: none). */
function endOfGeneration(m: GgufMeta, eos: number | null): number[] | number | null {
  const ids = [eos, m.optUint('tokenizer.ggml.eot_token_id'), m.optUint('tokenizer.ggml.eom_token_id')].filter((x): x is number => x !== null);
  if (m.has('tokenizer.ggml.tokens')) m.strings('tokenizer.ggml.tokens').forEach((t, id) => EOG_TEXTS.has(t) && ids.push(id));
  const unique = [...new Set(ids)];
  return unique.length === 0 ? null : unique.length === 1 ? unique[0] : unique;
}

/** llama.cpp's default BOS (1) / EOS (2) of a "llama" (SentencePiece) vocabulary that names none. */
function spmDefault(m: GgufMeta, id: number, tokens: number | null): number | null {
  return m.optStr('tokenizer.ggml.model') === 'llama' && tokens !== null && id < tokens ? id : null;
}

function ropeScaling(m: GgufMeta, k: (key: string) => string): Record<string, unknown> | null {
  const type = m.optStr(k('rope.scaling.type')) ?? (m.has(k('rope.scale_linear')) ? 'linear' : 'none');
  if (type === 'none') return null;
  if (type !== 'linear') throw new GgufError(`${m.source}: ${k('rope.scaling.type')} "${type}" is not supported (expected none or linear)`);
  return { rope_type: 'linear', factor: m.optFloat(k('rope.scaling.factor')) ?? m.float(k('rope.scale_linear')) };
}

/** The GGUF architecture name a config is written as. */
export function ggufArchOf(c: ModelConfig): string {
  if (c.arch === 'qwen2') return 'qwen2';
  if (c.arch === 'llama' || c.arch === 'mixtral') return 'llama';
  throw new Error(`architecture ${c.architecture} cannot be written as GGUF (expected a llama-family model: llama, mistral, qwen2 or mixtral)`);
}

/** The architecture's metadata pairs for a config (general.* and tokenizer keys are added elsewhere). */
export function ggufConfigMetadata(c: ModelConfig): Array<[string, GgufValue]> {
  const arch = ggufArchOf(c);
  if (c.ropeScaling && c.ropeScaling.type !== 'linear' && c.ropeScaling.type !== 'llama3') throw new Error(`rope_scaling ${(c.ropeScaling as { type: string }).type} cannot be written as GGUF (only linear and llama3)`);
  // GGUF's llama architecture has no sliding window (llama.cpp attends to the whole context): within a
  // context of the window's length full attention is the same function, so that is the context written
  const context = c.slidingWindow !== null && c.slidingWindow < c.maxPositions ? c.slidingWindow : c.maxPositions;
  if (c.arch === 'llama' && c.qkvBias !== c.attnOutBias) throw new Error('attention biases on q/k/v but not on the output (or the reverse) cannot be written as GGUF');
  // llama.cpp's qwen2 creates attn_q and attn_output as {C, C} (no key_length): heads must tile the width
  if (arch === 'qwen2' && c.headDim * c.numHeads !== c.hiddenSize) throw new Error(`qwen2 with head_dim ${c.headDim} x ${c.numHeads} heads != hidden_size ${c.hiddenSize} cannot be written as GGUF (llama.cpp's qwen2 needs head_dim * heads = hidden_size)`);
  const k = (key: string) => `${arch}.${key}`;
  const kv: Array<[string, GgufValue]> = [
    [k('vocab_size'), gv.u32(c.vocabSize)],
    [k('context_length'), gv.u32(context)],
    [k('embedding_length'), gv.u32(c.hiddenSize)],
    [k('block_count'), gv.u32(c.numLayers)],
    [k('feed_forward_length'), gv.u32(c.intermediateSize)],
    [k('attention.head_count'), gv.u32(c.numHeads)],
    [k('attention.head_count_kv'), gv.u32(c.numKvHeads)],
    [k('attention.layer_norm_rms_epsilon'), gv.f32(c.normEps)],
    [k('rope.freq_base'), gv.f32(c.ropeTheta)],
    [k('rope.dimension_count'), gv.u32(c.headDim)],
  ];
  if (c.headDim * c.numHeads !== c.hiddenSize) kv.push([k('attention.key_length'), gv.u32(c.headDim)], [k('attention.value_length'), gv.u32(c.headDim)]);
  if (c.ropeScaling?.type === 'linear') kv.push([k('rope.scaling.type'), gv.str('linear')], [k('rope.scaling.factor'), gv.f32(c.ropeScaling.factor)]);
  // llama3 scaling is the rope_freqs.weight tensor (./rope-freqs.ts), as llama.cpp's converter writes it
  if (c.numExperts > 0) kv.push([k('expert_count'), gv.u32(c.numExperts)], [k('expert_used_count'), gv.u32(c.numExpertsPerTok)]);
  return kv;
}
