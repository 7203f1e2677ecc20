/*
 * The llama family's GGUF hyperparameters against the keys llama.cpp's converter writes and its
 * loader reads (llama-model.cpp / llama-hparams): head counts and feed-forward length may be
 * per-layer arrays (equal per layer here, or refused by name), float32 epsilons and RoPE bases
 * come back as written, a missing output.weight is a tied head, expert counts name Mixtral,
 * and the writer emits every key llama.cpp needs to load a llama model, with LLAMA_FTYPE values.
 */
import { parseConfig } from '../config';
import { ggufConfigMetadata, hfConfigFromGguf } from './llama-config';
import { GgufMeta, gv } from './metadata';
import { GGML_TYPES, GgufType, type GgufTensorInfo, type GgufValue } from './types';

const BASE: Array<[string, GgufValue]> = [
  ['general.architecture', gv.str('llama')],
  ['llama.context_length', gv.u32(2048)],
  ['llama.embedding_length', gv.u32(64)],
  ['llama.block_count', gv.u32(2)],
  ['llama.feed_forward_length', gv.u32(128)],
  ['llama.attention.head_count', gv.u32(4)],
  ['llama.attention.head_count_kv', gv.u32(2)],
  ['llama.attention.layer_norm_rms_epsilon', gv.f32(1e-5)],
  ['llama.rope.freq_base', gv.f32(500000)],
  ['llama.rope.dimension_count', gv.u32(16)],
  ['llama.vocab_size', gv.u32(100)],
];
const tensor = (name: string, dims: number[]): [string, GgufTensorInfo] => [name, { name, dims, type: GGML_TYPES.get(0)!, offset: 0, nbytes: 0 }];
const TENSORS = new Map([tensor('token_embd.weight', [64, 100]), tensor('output.weight', [64, 100])]);

function config(over: Array<[string, GgufValue]> = [], tensors = TENSORS) {
  const kv = new Map(BASE);
  for (const [k, v] of over) kv.set(k, v);
  return parseConfig(hfConfigFromGguf(new GgufMeta(kv, 'cfg.gguf'), tensors), 'cfg.gguf');
}
const u32s = (items: number[]): GgufValue => ({ type: GgufType.ARRAY, value: { itemType: GgufType.UINT32, items } });

describe('reading the hyperparameters', () => {
  it('scalars as llama.cpp writes them', () => {
    const c = config();
    expect([c.hiddenSize, c.numLayers, c.intermediateSize, c.numHeads, c.numKvHeads, c.headDim, c.maxPositions, c.vocabSize]).toEqual([64, 2, 128, 4, 2, 16, 2048, 100]);
    expect([c.normEps, c.ropeTheta, c.tieWordEmbeddings]).toEqual([1e-5, 500000, false]);
  });

  it('per-layer arrays of head counts and feed-forward lengths, equal in every layer', () => {
    const c = config([['llama.attention.head_count', u32s([4, 4])], ['llama.attention.head_count_kv', u32s([2, 2])], ['llama.feed_forward_length', u32s([128, 128])]]);
    expect([c.numHeads, c.numKvHeads, c.intermediateSize]).toEqual([4, 2, 128]);
  });

  it('per-layer values that differ, or arrays of the wrong length, are one error naming the key', () => {
    expect(() => config([['llama.attention.head_count_kv', u32s([2, 1])]])).toThrow('cfg.gguf: llama.attention.head_count_kv differs between layers ([2, 1]); models with per-layer head counts or widths are not supported');
    expect(() => config([['llama.feed_forward_length', u32s([128])]])).toThrow('cfg.gguf: llama.feed_forward_length has 1 per-layer values for 2 layers');
  });

  it('no output.weight is a tied head; expert counts make Mixtral', () => {
    expect(config([], new Map([tensor('token_embd.weight', [64, 100])])).tieWordEmbeddings).toBe(true);
    const moe = config([['llama.expert_count', gv.u32(8)], ['llama.expert_used_count', gv.u32(2)]]);
    expect([moe.arch, moe.numExperts, moe.numExpertsPerTok]).toEqual(['mixtral', 8, 2]);
  });
});

describe('writing the hyperparameters', () => {
  it('every key llama.cpp requires to load a llama model, with the types its converter uses', () => {
    const kv = new Map(ggufConfigMetadata(config()));
    for (const key of ['context_length', 'embedding_length', 'block_count', 'feed_forward_length', 'attention.head_count', 'attention.head_count_kv', 'rope.dimension_count', 'vocab_size']) {
      expect([key, kv.get(`llama.${key}`)?.type]).toEqual([key, GgufType.UINT32]);
    }
    expect(kv.get('llama.attention.layer_norm_rms_epsilon')).toEqual(gv.f32(1e-5));
    expect(kv.get('llama.rope.freq_base')).toEqual(gv.f32(500000));
  });
});

describe('end-of-generation tokens as llama.cpp collects them', () => {
  const TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', 'a', '<|eot_id|>', '<|eom_id|>', 'b'];
  const tok = (extra: Array<[string, GgufValue]>) => config([['tokenizer.ggml.model', gv.str('gpt2')], ['tokenizer.ggml.tokens', gv.strings(TOKENS)], ['llama.vocab_size', gv.u32(100)], ...extra]);

  it('eos, then eot / eom ids, then the tokens llama.cpp recognises by their text', () => {
    // eos 2 (<|im_end|>); <|endoftext|> 0, <|eot_id|> 4, <|eom_id|> 5 by text
    expect(tok([['tokenizer.ggml.eos_token_id', gv.u32(2)]]).eosTokenIds).toEqual([2, 0, 4, 5]);
    expect(tok([['tokenizer.ggml.eos_token_id', gv.u32(0)], ['tokenizer.ggml.eot_token_id', gv.u32(6)]]).eosTokenIds).toEqual([0, 6, 2, 4, 5]);
  });
});
