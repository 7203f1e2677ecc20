/*
 * Our writer's files as an independent GGUF parser (@huggingface/gguf) reads them: for llama (GQA),
 * qwen2 (q/k/v biases, tied head), mistral (written as llama) and mixtral (stacked experts), in
 * F32, Q8_0 and Q4_0, with a byte-level BPE ("gpt2") or a SentencePiece ("llama") vocabulary and a
 * chat template, every metadata key is compared -- its value AND its GGUF value type (and array
 * item type) -- with a table written out here from llama.cpp's loader (uint32 counts, float32
 * epsilon / freq_base, int32 token_type, float32 scores, string merges, bool add_* flags), and
 * every tensor info (name, ggml-order shape, ggml type, offset; rope_freqs.weight {HS/2} under Llama 3
 * RoPE scaling, rope.scaling.* keys under linear scaling) with the shapes llama.cpp's
 * create_tensor asks for. Offsets must be the running sum of aligned sizes in file order (gguf.cpp
 * rejects a file otherwise), and the bytes at a norm's offset must be that norm.
 * Our writer's F16 output (floatType f16) is checked in save-gguf-f16.spec.ts and, by llama.cpp itself,
 * in apps/cli/test/llama-cpp-peer.spec.ts.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf, GGUFValueType } from '@huggingface/gguf';
import type { ModelConfig } from '../config';
import { buildTokenizerJson } from '../init-model-dir';
import { initRandomModel } from '../init-random';
import { quantizeModelWeights } from '../quant/quantize-model';
import type { ModelWeights } from '../weights';
import { saveGguf } from './save-gguf';
import { SPM_FIXTURE, SPM_PIECES } from '../testing/spm-tokenizer-fixture';

type Expected = Map<string, [GGUFValueType, unknown, GGUFValueType?]>;
const U32 = GGUFValueType.UINT32, F32 = GGUFValueType.FLOAT32, STR = GGUFValueType.STRING, ARR = GGUFValueType.ARRAY, BOOL = GGUFValueType.BOOL, I32 = GGUFValueType.INT32;
const TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}";
const GGML_TYPE = { F32: 0, Q4_0: 2, Q8_0: 8 } as const;
const BLOCK: Record<number, [number, number]> = { 0: [1, 4], 2: [32, 18], 8: [32, 34] }; // weights per block, bytes per block

async function peer(path: string) {
  return gguf(path, { allowLocalFile: true, typedMetadata: true });
}

/** The architecture keys llama.cpp's loader reads, with the types its get_key demands. */
function archKeys(arch: string, c: ModelConfig): Expected {
  const k = (s: string) => `${arch}.${s}`;
  const e: Expected = new Map<string, [GGUFValueType, unknown, GGUFValueType?]>([
    [k('vocab_size'), [U32, c.vocabSize]],
    [k('context_length'), [U32, c.slidingWindow ?? c.maxPositions]],
    [k('embedding_length'), [U32, c.hiddenSize]],
    [k('block_count'), [U32, c.numLayers]],
    [k('feed_forward_length'), [U32, c.intermediateSize]],
    [k('attention.head_count'), [U32, c.numHeads]],
    [k('attention.head_count_kv'), [U32, c.numKvHeads]],
    [k('attention.layer_norm_rms_epsilon'), [F32, Math.fround(c.normEps)]],
    [k('rope.freq_base'), [F32, Math.fround(c.ropeTheta)]],
    [k('rope.dimension_count'), [U32, c.headDim]],
  ]);
  if (c.numExperts > 0) e.set(k('expert_count'), [U32, c.numExperts]).set(k('expert_used_count'), [U32, c.numExpertsPerTok]);
  if (c.ropeScaling?.type === 'linear') e.set(k('rope.scaling.type'), [STR, 'linear']).set(k('rope.scaling.factor'), [F32, Math.fround(c.ropeScaling.factor)]);
  return e;
}

function gpt2Keys(tok: Record<string, any>, vocab: number, bos: number, eos: number): Expected {
  const tokens = new Array<string>(vocab);
  for (const [t, id] of Object.entries(tok.model.vocab as Record<string, number>)) tokens[id] = t;
  const types = new Array<number>(vocab).fill(1);
  for (const a of tok.added_tokens) [tokens[a.id], types[a.id]] = [a.content, a.special ? 3 : 4];
  const merges = (tok.model.merges as Array<string | string[]>).map((m) => (typeof m === 'string' ? m : m.join(' ')));
  return new Map<string, [GGUFValueType, unknown, GGUFValueType?]>([
    ['tokenizer.ggml.model', [STR, 'gpt2']],
    ['tokenizer.ggml.pre', [STR, 'gpt-2']], // trainBpe's ByteLevel pre-tokenizer splits with GPT-2's regex
    ['tokenizer.ggml.tokens', [ARR, tokens, STR]],
    ['tokenizer.ggml.token_type', [ARR, types, I32]],
    ['tokenizer.ggml.merges', [ARR, merges, STR]],
    ['tokenizer.ggml.bos_token_id', [U32, bos]],
    ['tokenizer.ggml.eos_token_id', [U32, eos]],
    ['tokenizer.ggml.add_bos_token', [BOOL, false]],
    ['tokenizer.chat_template', [STR, TEMPLATE]],
  ]);
}

/** The SentencePiece fixture worked by hand: scores -(merge rank + 1) for merged pieces, types unknown / control / byte / normal / unused. */
function spmKeys(vocab: number): Expected {
  const tokens = Array.from({ length: vocab }, (_, i) => SPM_PIECES[i] ?? `[PAD${i}]`);
  const scores = new Array<number>(vocab).fill(0);
  ['\u2581h', 'll', '\u2581he', 'llo', '\u2581hello'].forEach((p, rank) => (scores[SPM_PIECES.indexOf(p)] = -(rank + 1)));
  const types = tokens.map((t, i) => (i === 0 ? 2 : i <= 2 ? 3 : t === '<0x0A>' ? 6 : i < SPM_PIECES.length ? 1 : 5));
  return new Map<string, [GGUFValueType, unknown, GGUFValueType?]>([
    ['tokenizer.ggml.model', [STR, 'llama']],
    ['tokenizer.ggml.tokens', [ARR, tokens, STR]],
    ['tokenizer.ggml.scores', [ARR, scores, F32]],
    ['tokenizer.ggml.token_type', [ARR, types, I32]],
    ['tokenizer.ggml.bos_token_id', [U32, 1]],
    ['tokenizer.ggml.eos_token_id', [U32, 2]],
    ['tokenizer.ggml.unknown_token_id', [U32, 0]],
    ['tokenizer.ggml.add_bos_token', [BOOL, true]],
    ['tokenizer.ggml.add_eos_token', [BOOL, false]],
    ['tokenizer.ggml.add_space_prefix', [BOOL, true]],
    ['tokenizer.chat_template', [STR, TEMPLATE]],
  ]);
}

/** Tensors llama.cpp creates for the config, ggml order (ne0 first), with the type each weight was meant to have. */
function expectedTensors(arch: string, c: ModelConfig, w: ModelWeights): Map<string, [number[], number]> {
  const C = c.hiddenSize, V = c.vocabSize, I = c.intermediateSize, HQ = c.headDim * c.numHeads, HKV = c.headDim * c.numKvHeads, E = c.numExperts;
  const typeOf = (name: string) => (w[name]?.quant ? (w[name].quant!.format === 'q8_0' ? GGML_TYPE.Q8_0 : GGML_TYPE.Q4_0) : GGML_TYPE.F32);
  const t = new Map<string, [number[], number]>([
    ['token_embd.weight', [[C, V], typeOf('model.embed_tokens.weight')]],
    ['output_norm.weight', [[C], GGML_TYPE.F32]],
  ]);
  if (!c.tieWordEmbeddings) t.set('output.weight', [[C, V], typeOf('lm_head.weight')]);
  if (c.ropeScaling?.type === 'llama3') t.set('rope_freqs.weight', [[c.headDim / 2], GGML_TYPE.F32]); // {n_rot/2}, shared by every layer
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const lin = (g: string, hf: string, dims: number[]) => t.set(`blk.${l}.${g}.weight`, [dims, typeOf(`${p}.${hf}.weight`)]);
    t.set(`blk.${l}.attn_norm.weight`, [[C], GGML_TYPE.F32]).set(`blk.${l}.ffn_norm.weight`, [[C], GGML_TYPE.F32]);
    lin('attn_q', 'self_attn.q_proj', [C, HQ]);
    lin('attn_k', 'self_attn.k_proj', [C, HKV]);
    lin('attn_v', 'self_attn.v_proj', [C, HKV]);
    lin('attn_output', 'self_attn.o_proj', [HQ, C]);
    if (arch === 'qwen2') t.set(`blk.${l}.attn_q.bias`, [[HQ], 0]).set(`blk.${l}.attn_k.bias`, [[HKV], 0]).set(`blk.${l}.attn_v.bias`, [[HKV], 0]);
    if (E === 0) {
      lin('ffn_gate', 'mlp.gate_proj', [C, I]);
      lin('ffn_up', 'mlp.up_proj', [C, I]);
      lin('ffn_down', 'mlp.down_proj', [I, C]);
    } else {
      const ex = (which: string) => typeOf(`${p}.block_sparse_moe.experts.0.${which}.weight`);
      t.set(`blk.${l}.ffn_gate_inp.weight`, [[C, E], typeOf(`${p}.block_sparse_moe.gate.weight`)]);
      t.set(`blk.${l}.ffn_gate_exps.weight`, [[C, I, E], ex('w1')]);
      t.set(`blk.${l}.ffn_down_exps.weight`, [[I, C, E], ex('w2')]);
      t.set(`blk.${l}.ffn_up_exps.weight`, [[C, I, E], ex('w3')]);
    }
  }
  return t;
}

const pad32 = (n: number) => Math.ceil(n / 32) * 32;

const CASES: Array<[string, 'llama' | 'qwen2' | 'mixtral', Record<string, unknown>, 'f32' | 'q8_0' | 'q4_0', 'gpt2' | 'spm']> = [
  ['llama (GQA), f32, gpt2 vocabulary', 'llama', {}, 'f32', 'gpt2'],
  ['llama, q8_0, SentencePiece vocabulary', 'llama', {}, 'q8_0', 'spm'],
  ['qwen2 (q/k/v biases, tied head), q4_0, gpt2 vocabulary', 'qwen2', {}, 'q4_0', 'gpt2'],
  ['mistral (sliding window, written as llama), q8_0, SentencePiece vocabulary', 'llama', { architectures: ['MistralForCausalLM'], model_type: 'mistral', sliding_window: 256 }, 'q8_0', 'spm'],
  ['mixtral (stacked experts), q4_0, gpt2 vocabulary', 'mixtral', {}, 'q4_0', 'gpt2'],
  ['llama with linear RoPE scaling, f32, SentencePiece vocabulary', 'llama', { rope_scaling: { rope_type: 'linear', factor: 2.5 } }, 'f32', 'spm'],
  ['llama with Llama 3 RoPE scaling (rope_freqs.weight), q8_0, gpt2 vocabulary', 'llama', { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, 'q8_0', 'gpt2'],
];

describe.each(CASES)('%s, as @huggingface/gguf parses it', (_name, archName, overrides, format, vocabKind) => {
  const { config: c, weights: f32 } = initRandomModel(archName, { ...overrides, bos_token_id: 1, eos_token_id: 2 }, 3);
  const weights = format === 'f32' ? f32 : quantizeModelWeights(c, f32, { format });
  const tok = vocabKind === 'gpt2' ? buildTokenizerJson(c.vocabSize, 1) : SPM_FIXTURE;
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-peer-')), 'm.gguf');
  saveGguf(path, { config: c, weights }, { name: 'peer-check', tokenizerJson: tok, tokenizerConfig: { chat_template: TEMPLATE } });
  const arch = archName === 'qwen2' ? 'qwen2' : 'llama';
  const parsed = peer(path);

  it('every metadata key: value, GGUF type and array item type as llama.cpp reads them; nothing else', async () => {
    const { metadata, typedMetadata } = await parsed;
    expect(metadata.version).toBe(3);
    const want: Expected = new Map<string, [GGUFValueType, unknown, GGUFValueType?]>([
      ['general.alignment', [U32, 32]],
      ['general.architecture', [STR, arch]],
      ['general.name', [STR, 'peer-check']],
      ['general.file_type', [U32, { f32: 0, q8_0: 7, q4_0: 2 }[format]]],
      ...(format === 'f32' ? [] : [['general.quantization_version', [U32, 2]] as [string, [GGUFValueType, unknown]]]),
      ...archKeys(arch, c),
      ...(vocabKind === 'gpt2' ? gpt2Keys(tok, c.vocabSize, 1, 2) : spmKeys(c.vocabSize)),
    ]);
    const got = Object.entries(typedMetadata as Record<string, { value: unknown; type: GGUFValueType; subType?: GGUFValueType }>).filter(([k]) => !['version', 'tensor_count', 'kv_count'].includes(k));
    expect(got.map(([k]) => k).sort()).toEqual([...want.keys()].sort());
    for (const [key, { type, value, subType }] of got) {
      const [wantType, wantValue, wantSub] = want.get(key)!;
      expect([key, type, subType]).toEqual([key, wantType, wantSub]);
      const norm = (v: unknown) => (Array.isArray(v) && wantSub === F32 ? v.map((x) => Math.fround(x as number)) : v);
      expect([key, value]).toEqual([key, norm(wantValue)]);
    }
    expect(Number(metadata.kv_count)).toBe(want.size);
  });

  it('every tensor info: name, ggml-order shape, type; offsets the running sum of 32-aligned sizes; data where the offset says', async () => {
    const { tensorInfos, tensorDataOffset, metadata } = await parsed;
    const want = expectedTensors(arch, c, weights);
    expect(Number(metadata.tensor_count)).toBe(want.size);
    expect(tensorInfos.map((t) => t.name).sort()).toEqual([...want.keys()].sort());
    let offset = 0;
    for (const t of tensorInfos) {
      const [dims, type] = want.get(t.name)!;
      expect([t.name, t.shape.map(Number), t.dtype, t.n_dims]).toEqual([t.name, dims, type, dims.length]);
      expect([t.name, Number(t.offset)]).toEqual([t.name, offset]);
      const [block, bytes] = BLOCK[type];
      offset = pad32(offset + (dims.reduce((a, b) => a * b, 1) / block) * bytes);
    }
    expect(Number(tensorDataOffset) % 32).toBe(0);
    const file = readFileSync(path);
    expect(file.length).toBe(Number(tensorDataOffset) + offset);
    const norm = tensorInfos.find((t) => t.name === 'blk.1.ffn_norm.weight')!;
    const at = Number(tensorDataOffset + norm.offset);
    const stored = new Float32Array(file.buffer.slice(file.byteOffset + at, file.byteOffset + at + 4 * c.hiddenSize));
    expect(Array.from(stored)).toEqual(Array.from(weights['model.layers.1.post_attention_layernorm.weight'].data));
  });
});
