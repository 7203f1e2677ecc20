/*
 * Models through GGUF: a file written from a Hugging Face directory and read back computes the
 * same logits as the directory (llama with biases, qwen2, mixtral with stacked experts, a tied
 * head; f32 and quantized), the attn_q / attn_k rows in the file are in llama.cpp's pair order
 * (the spec's permute worked by hand, and attention scores under pair-wise RoPE on the file's
 * rows equal rotate-half RoPE on the directory's), and the embedded tokenizer encodes like the
 * directory's tokenizer.json, chat template included. Unsupported models are one clear error.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizerJson } from '@llm/tokenizer';
import type { Arch } from '../config';
import { initModelDir } from '../init-model-dir';
import { initRandomModel } from '../init-random';
import { loadModelDir, modelTokenizerJson, readModelTokenizerFiles } from '../io/model-dir';
import { Transformer } from '../transformer/transformer';
import { gv } from './metadata';
import { openGguf } from './reader';
import { saveGguf } from './save-gguf';
import { readWeight } from './tensor-data';
import type { GgufValue } from './types';
import { writeGguf } from './writer';

const tmp = () => mkdtempSync(join(tmpdir(), 'gguf-model-'));
const TOKENS = [5, 99, 3, 250, 17, 8, 401, 77, 2, 60];

async function dirAndGguf(arch: Arch, overrides: Record<string, unknown> = {}, quantize?: 'q8_0' | 'q4_0') {
  const dir = tmp();
  initModelDir(dir, arch, { overrides, seed: 7 });
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}" }));
  const hf = await loadModelDir(dir, { quantize });
  const path = join(dir, 'model.gguf');
  saveGguf(path, hf, {
    name: 'test',
    tokenizerJson: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  });
  return { dir, hf, path, gguf: await loadModelDir(path) };
}

describe('HF directory -> GGUF -> model', () => {
  it.each<[string, Arch, Record<string, unknown>]>([
    ['llama with attention and mlp biases', 'llama', { attention_bias: true, mlp_bias: true }],
    ['llama with a tied head', 'llama', { tie_word_embeddings: true }],
    ['qwen2', 'qwen2', {}],
    ['mixtral', 'mixtral', {}],
  ])('%s: same config and exactly the same logits', async (_n, arch, overrides) => {
    const { hf, gguf } = await dirAndGguf(arch, overrides);
    for (const key of ['numLayers', 'hiddenSize', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'vocabSize', 'numExperts', 'numExpertsPerTok', 'qkvBias', 'mlpBias', 'tieWordEmbeddings', 'normEps', 'ropeTheta', 'eosTokenIds', 'bosTokenId'] as const) {
      expect([key, gguf.config[key]]).toEqual([key, hf.config[key]]);
    }
    const want = await new Transformer(hf.config, hf.weights).forward(TOKENS);
    const got = await new Transformer(gguf.config, gguf.weights).forward(TOKENS);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('mixtral files with one tensor per expert (older converters: blk.N.ffn_gate.E.weight) load the same', async () => {
    const { hf, path } = await dirAndGguf('mixtral', {});
    const f = openGguf(path);
    const tensors = [...f.tensors.values()].flatMap((t) => {
      const m = /^blk\.(\d+)\.(ffn_gate|ffn_down|ffn_up)_exps\.weight$/.exec(t.name);
      if (!m) return [{ name: t.name, dims: t.dims, type: t.type, bytes: () => f.readTensor(t) }];
      const [K, R, E] = t.dims;
      const all = f.readTensor(t);
      return Array.from({ length: E }, (_, e) => ({ name: `blk.${m[1]}.${m[2]}.${e}.weight`, dims: [K, R], type: t.type, bytes: () => all.subarray(e * K * R * 4, (e + 1) * K * R * 4) }));
    });
    const split = join(tmp(), 'split.gguf');
    writeGguf(split, [...f.metadata].filter(([k]) => k !== 'general.alignment'), tensors);
    f.close();
    const g = await loadModelDir(split);
    expect(Array.from(await new Transformer(g.config, g.weights).forward(TOKENS))).toEqual(Array.from(await new Transformer(hf.config, hf.weights).forward(TOKENS)));
  });

  it('quantized models keep their blocks through the file (Q4_0 body, Q8_0 head)', async () => {
    const { hf, path, gguf } = await dirAndGguf('llama', {}, 'q4_0');
    const f = openGguf(path);
    expect(f.tensors.get('blk.0.ffn_down.weight')?.type.name).toBe('Q4_0');
    expect(f.tensors.get('output.weight')?.type.name).toBe('Q8_0');
    expect(f.tensors.get('blk.0.attn_norm.weight')?.type.name).toBe('F32');
    expect(f.metadata.get('general.quantization_version')?.value).toBe(2);
    expect(f.metadata.get('general.file_type')?.value).toBe(2); // MOSTLY_Q4_0
    f.close();
    const name = 'model.layers.1.mlp.up_proj.weight';
    expect(Buffer.compare(Buffer.from(gguf.weights[name].quant!.data), Buffer.from(hf.weights[name].quant!.data))).toBe(0);
    const want = await new Transformer(hf.config, hf.weights).forward(TOKENS);
    expect(Array.from(await new Transformer(gguf.config, gguf.weights).forward(TOKENS))).toEqual(Array.from(want));
  });
});

describe('RoPE row order', () => {
  it("the file's attn_q rows are the spec's permute of the directory's: head rows [r0 r1 r2 r3] -> [r0 r2 r1 r3]", async () => {
    const { hf, path } = await dirAndGguf('llama', { hidden_size: 64, num_attention_heads: 16, num_key_value_heads: 16 }); // HS = 4
    const f = openGguf(path);
    const raw = readWeight(f, f.tensors.get('blk.0.attn_q.weight')!).data;
    f.close();
    const C = 64;
    const row = (w: Float32Array, r: number) => Array.from(w.subarray(r * C, (r + 1) * C));
    const q = hf.weights['model.layers.0.self_attn.q_proj.weight'].data;
    for (const h of [0, 5]) [0, 2, 1, 3].forEach((hfRow, fileRow) => expect(row(raw, 4 * h + fileRow)).toEqual(row(q, 4 * h + hfRow)));
  });

  it("scores under llama.cpp's pair-wise RoPE on the file's rows equal rotate-half RoPE on the directory's", async () => {
    const { hf, path } = await dirAndGguf('llama', {});
    const c = hf.config, HS = c.headDim, C = c.hiddenSize, half = HS / 2;
    const f = openGguf(path);
    const fileQ = readWeight(f, f.tensors.get('blk.1.attn_q.weight')!).data, fileK = readWeight(f, f.tensors.get('blk.1.attn_k.weight')!).data;
    f.close();
    const hfQ = hf.weights['model.layers.1.self_attn.q_proj.weight'].data, hfK = hf.weights['model.layers.1.self_attn.k_proj.weight'].data;
    const x = Float64Array.from({ length: C }, (_, i) => Math.sin(i + 1)), y = Float64Array.from({ length: C }, (_, i) => Math.cos(3 * i));
    const head = (w: Float32Array, v: Float64Array, h: number) => Array.from({ length: HS }, (_, j) => v.reduce((s, vi, i) => s + w[(h * HS + j) * C + i] * vi, 0));
    const theta = (i: number, pos: number) => pos / c.ropeTheta ** ((2 * i) / HS);
    const rotateHalf = (v: number[], pos: number) => v.map((_, j) => { const i = j % half, a = theta(i, pos); return j < half ? v[j] * Math.cos(a) - v[j + half] * Math.sin(a) : v[j] * Math.cos(a) + v[j - half] * Math.sin(a); });
    const pairwise = (v: number[], pos: number) => v.map((_, j) => { const i = j >> 1, a = theta(i, pos); return j % 2 === 0 ? v[j] * Math.cos(a) - v[j + 1] * Math.sin(a) : v[j] * Math.cos(a) + v[j - 1] * Math.sin(a); });
    const dot = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + ai * b[i], 0);
    for (const h of [0, c.numHeads - 1]) {
      const kvh = Math.floor(h / (c.numHeads / c.numKvHeads));
      const want = dot(rotateHalf(head(hfQ, x, h), 7), rotateHalf(head(hfK, y, kvh), 3));
      const got = dot(pairwise(head(fileQ, x, h), 7), pairwise(head(fileK, y, kvh), 3));
      expect(Math.abs(got - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      expect(Math.abs(dot(pairwise(head(hfQ, x, h), 7), pairwise(head(hfK, y, kvh), 3)) - want)).toBeGreaterThan(1e-6); // without the permutation they differ
    }
  });
});

describe('the embedded tokenizer', () => {
  it("encodes like the directory's tokenizer.json and keeps the chat template", async () => {
    const { dir, path, gguf } = await dirAndGguf('llama', {});
    const original = loadTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const embedded = loadTokenizerJson(modelTokenizerJson(gguf) as string);
    for (const text of ['The quick brown fox, 12 345!', 'tokens <|endoftext|> and ünïcödé', '  spaces\n\nnewlines']) {
      expect(embedded.encode(text)).toEqual(original.encode(text));
      expect(embedded.decode(embedded.encode(text))).toBe(text);
    }
    const files = readModelTokenizerFiles(path);
    expect(JSON.parse(files.tokenizerConfigJson as string)).toMatchObject({ chat_template: "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}", eos_token: '<|endoftext|>' });
  });
});

describe('unsupported models', () => {
  it('gpt2 cannot be written; a file of another architecture or missing a key is one line naming it', async () => {
    const g = initRandomModel('gpt2', {}, 1);
    expect(() => saveGguf(join(tmp(), 'x.gguf'), g)).toThrow('architecture GPT2LMHeadModel cannot be written as GGUF (expected a llama-family model: llama, mistral, qwen2 or mixtral)');
    const write = (kv: Array<[string, GgufValue]>) => {
      const path = join(tmp(), 'm.gguf');
      writeGguf(path, kv, []);
      return path;
    };
    const neox = write([['general.architecture', gv.str('gptneox')]]);
    await expect(loadModelDir(neox)).rejects.toThrow(`${neox}: general.architecture "gptneox" is not supported (expected llama or qwen2; Mistral and Mixtral files use llama)`);
    const partial = write([['general.architecture', gv.str('llama')], ['llama.embedding_length', gv.u32(64)], ['llama.attention.head_count', gv.u32(4)]]);
    await expect(loadModelDir(partial)).rejects.toThrow(`${partial}: metadata "llama.block_count" is missing (required for the llama architecture)`);
    const { path } = await dirAndGguf('llama', {});
    const f = openGguf(path);
    const kv = [...f.metadata].filter(([k]) => k !== 'general.alignment');
    const tensors = [...f.tensors.values()].filter((t) => t.name !== 'blk.1.attn_k.weight').map((t) => ({ name: t.name, dims: t.dims, type: t.type, bytes: () => f.readTensor(t) }));
    const missing = join(tmp(), 'missing.gguf');
    writeGguf(missing, kv, tensors);
    f.close();
    await expect(loadModelDir(missing)).rejects.toThrow(`${missing} (GGUF tensor blk.1.attn_k.weight): tensor "model.layers.1.self_attn.k_proj.weight" is missing (expected shape [32, 64])`);
  });
});
