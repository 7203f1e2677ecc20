/*
 * The tensors `saveGguf` writes against the names, types and GGUF dims llama.cpp's llama
 * architecture creates (llama-model.cpp create_tensor shapes, ne0 first):
 *   token_embd {C, V}, output_norm {C}, output {C, V}; per layer attn_norm / ffn_norm {C},
 *   attn_q {C, HD*NH}, attn_k / attn_v {C, HD*NKV}, attn_output {HD*NH, C}, ffn_gate / ffn_up
 *   {C, I}, ffn_down {I, C}; Mixtral ffn_gate_inp {C, E}, ffn_gate_exps / ffn_up_exps {C, I, E},
 *   ffn_down_exps {I, C, E}. Norms stay F32 (llama.cpp multiplies by them in f32), linear layers
 *   keep their block type, general.file_type is the LLAMA_FTYPE of the body. A sliding window
 *   becomes the context length (the architecture has none).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRandomModel } from '../init-random';
import { loadModelDir } from '../io/model-dir';
import { Transformer } from '../transformer/transformer';
import { quantizeModelWeights } from '../quant/quantize-model';
import { openGguf } from './reader';
import { saveGguf } from './save-gguf';

function layout(arch: 'llama' | 'mixtral', overrides: Record<string, unknown>, format?: 'q8_0' | 'q4_0') {
  const { config, weights } = initRandomModel(arch, overrides, 1);
  const w = format ? quantizeModelWeights(config, weights, { format }) : weights;
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-layout-')), 'm.gguf');
  saveGguf(path, { config, weights: w });
  const f = openGguf(path);
  const out = { config, tensors: new Map([...f.tensors.values()].map((t) => [t.name, [t.type.name, ...t.dims]])), fileType: f.metadata.get('general.file_type')?.value };
  f.close();
  return out;
}

it('llama with grouped-query attention: every tensor llama.cpp creates, with its dims', () => {
  const { config: c, tensors } = layout('llama', { num_attention_heads: 4, num_key_value_heads: 2 });
  const C = c.hiddenSize, V = c.vocabSize, I = c.intermediateSize, HD = c.headDim;
  const want = new Map<string, Array<string | number>>([
    ['token_embd.weight', ['F32', C, V]], ['output_norm.weight', ['F32', C]], ['output.weight', ['F32', C, V]],
  ]);
  for (let l = 0; l < c.numLayers; l++) {
    for (const [n, d] of [['attn_norm', [C]], ['ffn_norm', [C]], ['attn_q', [C, HD * 4]], ['attn_k', [C, HD * 2]], ['attn_v', [C, HD * 2]], ['attn_output', [HD * 4, C]], ['ffn_gate', [C, I]], ['ffn_up', [C, I]], ['ffn_down', [I, C]]] as const) {
      want.set(`blk.${l}.${n}.weight`, ['F32', ...d]);
    }
  }
  expect(tensors).toEqual(want);
});

it.each([['q8_0', 'Q8_0', 7], ['q4_0', 'Q4_0', 2]] as const)('%s: linear layers in blocks, norms F32, general.file_type %s = %i', (format, type, ftype) => {
  const { tensors, fileType } = layout('llama', {}, format);
  expect(fileType).toBe(ftype);
  expect(tensors.get('blk.0.attn_q.weight')?.[0]).toBe(type);
  expect(tensors.get('blk.1.ffn_down.weight')?.[0]).toBe(type);
  expect(tensors.get('blk.0.attn_norm.weight')?.[0]).toBe('F32');
  expect(tensors.get('output_norm.weight')?.[0]).toBe('F32');
});

it('f32 files are general.file_type 0 (ALL_F32)', () => {
  expect(layout('llama', {}).fileType).toBe(0);
});

it('mixtral: the router and stacked experts', () => {
  const { config: c, tensors } = layout('mixtral', {});
  const C = c.hiddenSize, I = c.intermediateSize, E = c.numExperts;
  expect(tensors.get('blk.0.ffn_gate_inp.weight')).toEqual(['F32', C, E]);
  expect(tensors.get('blk.0.ffn_gate_exps.weight')).toEqual(['F32', C, I, E]);
  expect(tensors.get('blk.0.ffn_up_exps.weight')).toEqual(['F32', C, I, E]);
  expect(tensors.get('blk.0.ffn_down_exps.weight')).toEqual(['F32', I, C, E]);
  expect(tensors.has('blk.0.ffn_gate.weight')).toBe(false);
});

it('a sliding window shorter than the context (Mistral v0.1) is written as a context of the window, where full attention is the same function', async () => {
  const { config, weights } = initRandomModel('llama', { sliding_window: 8, max_position_embeddings: 64 }, 2);
  expect(config.slidingWindow).toBe(8);
  const path = join(mkdtempSync(join(tmpdir(), 'gguf-swa-')), 'm.gguf');
  saveGguf(path, { config, weights });
  const back = await loadModelDir(path);
  expect([back.config.maxPositions, back.config.slidingWindow]).toEqual([8, null]);
  const tokens = [5, 3, 9, 1, 7, 2, 8, 4];
  expect(Array.from(await new Transformer(back.config, back.weights).forward(tokens))).toEqual(Array.from(await new Transformer(config, weights).forward(tokens)));
});
