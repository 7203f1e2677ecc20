/*
 * Files our writer did not write, read by our loader. @huggingface/gguf writes GGUF headers
 * (serializeGgufMetadata / buildGgufHeader: metadata it serializes itself, tensor infos copied from
 * an existing file), so a model saved here is re-headed by it with metadata shaped like llama.cpp's
 * converter writes it -- general.type / basename / size_label / license, no {arch}.vocab_size, no
 * rope.dimension_count, tokenizer.ggml.padding_token_id, add_eos_token -- and with the other
 * alignments gguf.cpp accepts (any power of two: 4, 16), and must load to exactly the same logits
 * and tokens. Also hand-built with our writer: an F16 token_embd over Q4_0 layers with no
 * output.weight (tied), as llama-quantize leaves a tied model. Refused like gguf.cpp refuses:
 * an alignment that is not a power of two.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGgufHeader, gguf, GGUFValueType, serializeGgufMetadata, type GGUFTypedMetadata } from '@huggingface/gguf';
import { loadTokenizerJson } from '@llm/tokenizer';
import { initModelDir } from '../init-model-dir';
import { f16BitsToF32, f32ToF16Bits } from '../io/dtype';
import { loadModelDir } from '../io/model-dir';
import { Transformer } from '../transformer/transformer';
import type { ModelWeights } from '../weights';
import { openGguf } from './reader';
import { saveGguf } from './save-gguf';
import { GGML_TYPES, GGML, GgufError } from './types';
import { writeGguf, type GgufTensorToWrite } from './writer';

const tmp = () => mkdtempSync(join(tmpdir(), 'gguf-peer-write-'));
const TOKENS = [5, 99, 3, 250, 17, 8, 401, 77, 2, 60];

/** A random llama model directory and our GGUF of it. */
async function ours(overrides: Record<string, unknown> = {}, quantize?: 'q4_0' | 'q8_0') {
  const dir = tmp();
  initModelDir(dir, 'llama', { overrides, seed: 5 });
  const hf = await loadModelDir(dir, { quantize });
  const path = join(dir, 'ours.gguf');
  saveGguf(path, hf, { name: 'ours', tokenizerJson: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) });
  return { dir, hf, path };
}

/** `src` re-headed by @huggingface/gguf: metadata edited by `edit`, tensor infos copied, data section copied, at `alignment`. */
async function reheaded(src: string, edit: (m: GGUFTypedMetadata) => void, alignment = 32): Promise<string> {
  const parsed = await gguf(src, { allowLocalFile: true, typedMetadata: true });
  const typed = parsed.typedMetadata;
  edit(typed);
  typed['general.alignment'] = { value: alignment, type: GGUFValueType.UINT32 };
  const bytes = readFileSync(src);
  const header = await buildGgufHeader(new Blob([bytes]), typed, { littleEndian: true, tensorInfoByteRange: parsed.tensorInfoByteRange, alignment });
  const out = join(tmp(), `peer-${alignment}.gguf`);
  writeFileSync(out, Buffer.concat([Buffer.from(await header.arrayBuffer()), bytes.subarray(Number(parsed.tensorDataOffset))]));
  return out;
}

async function logits(path: string) {
  const m = await loadModelDir(path);
  return Array.from(await new Transformer(m.config, m.weights).forward(TOKENS));
}

describe('GGUF headers written by @huggingface/gguf, read by our loader', () => {
  it.each([32, 16, 4])('converter-shaped metadata at alignment %i: same config, logits and tokenizer', async (alignment) => {
    const { hf, path } = await ours({}, 'q8_0');
    const peer = await reheaded(path, (m) => {
      for (const k of ['llama.vocab_size', 'llama.rope.dimension_count', 'general.name']) delete m[k];
      m['general.type'] = { value: 'model', type: GGUFValueType.STRING };
      m['general.basename'] = { value: 'Tiny', type: GGUFValueType.STRING };
      m['general.size_label'] = { value: '100K', type: GGUFValueType.STRING };
      m['general.license'] = { value: 'apache-2.0', type: GGUFValueType.STRING };
      m['tokenizer.ggml.padding_token_id'] = { value: 0, type: GGUFValueType.UINT32 };
      m['tokenizer.ggml.add_eos_token'] = { value: false, type: GGUFValueType.BOOL };
    }, alignment);
    const f = openGguf(peer);
    expect([f.alignment, f.dataStart % alignment, f.metadata.has('llama.vocab_size')]).toEqual([alignment, 0, false]);
    f.close();
    const back = await loadModelDir(peer);
    for (const key of ['vocabSize', 'numLayers', 'hiddenSize', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'normEps', 'ropeTheta', 'eosTokenIds', 'bosTokenId'] as const) {
      expect([key, back.config[key]]).toEqual([key, hf.config[key]]);
    }
    expect(await logits(peer)).toEqual(await logits(path));
    const a = loadTokenizerJson(back.embeddedTokenizer!.tokenizerJson as object);
    const b = loadTokenizerJson((await loadModelDir(path)).embeddedTokenizer!.tokenizerJson as object);
    expect(a.encode('Hello world, 1234 tokens!')).toEqual(b.encode('Hello world, 1234 tokens!'));
    expect(back.embeddedTokenizer!.tokenizerConfig.pad_token).toBe(a.idToToken(0));
  });

  it('an alignment that is not a power of two is refused (gguf.cpp refuses it as well)', () => {
    const header = serializeGgufMetadata({
      version: { value: 3, type: GGUFValueType.UINT32 },
      tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
      kv_count: { value: 2n, type: GGUFValueType.UINT64 },
      'general.architecture': { value: 'llama', type: GGUFValueType.STRING },
      'general.alignment': { value: 24, type: GGUFValueType.UINT32 },
    } as GGUFTypedMetadata, { alignment: 8 });
    const p = join(tmp(), 'align24.gguf');
    writeFileSync(p, header);
    expect(() => openGguf(p)).toThrow(GgufError);
    expect(() => openGguf(p)).toThrow(/general.alignment must be a uint32 power of two up to 1048576, got 24/);
  });
});

describe('a llama-quantize-shaped file: F16 token_embd, Q4_0 layers, no output.weight (tied)', () => {
  it('loads to the logits of the model with its embedding rounded to f16', async () => {
    const { dir, hf, path } = await ours({ tie_word_embeddings: true }, 'q4_0');
    const f = openGguf(path);
    expect(f.tensors.has('output.weight')).toBe(false);
    const embed = (await loadModelDir(dir)).weights['model.embed_tokens.weight']; // the f32 embedding, stored F16 below
    const f16 = new Uint16Array(embed.data.length);
    embed.data.forEach((x, i) => (f16[i] = f32ToF16Bits(x)));
    const tensors: GgufTensorToWrite[] = [...f.tensors.values()].map((t) =>
      t.name === 'token_embd.weight'
        ? { name: t.name, dims: t.dims, type: GGML_TYPES.get(GGML.F16)!, bytes: () => new Uint8Array(f16.buffer) }
        : { name: t.name, dims: t.dims, type: t.type, bytes: () => f.readTensor(t) },
    );
    const mixed = join(tmp(), 'mixed.gguf');
    writeGguf(mixed, [...f.metadata].filter(([k]) => k !== 'general.alignment'), tensors);
    f.close();
    const g = openGguf(mixed);
    expect([g.tensors.get('token_embd.weight')!.type.name, g.tensors.get('blk.0.attn_q.weight')!.type.name]).toEqual(['F16', 'Q4_0']);
    g.close();
    const rounded: ModelWeights = { ...hf.weights, 'model.embed_tokens.weight': { shape: embed.shape, data: Float32Array.from(f16, f16BitsToF32) } };
    rounded['lm_head.weight'] = rounded['model.embed_tokens.weight'];
    const want = Array.from(await new Transformer(hf.config, rounded).forward(TOKENS));
    expect(await logits(mixed)).toEqual(want);
  });
});
