/*
 * Quantized model directories: what saveModelDir writes for quantized weights (U8 block tensors,
 * quantization_config in config.json) loads back with the same blocks, at a fraction of the
 * bytes; loading with `quantize` equals quantizing after loading; and a corrupt directory is
 * one clear error naming the file and tensor.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRandomModel } from '../init-random';
import { quantizeModelWeights } from '../quant/quantize-model';
import { loadModelDir, saveModelDir } from './model-dir';
import { encodeSafetensors, readSafetensors } from './safetensors';

const tmp = () => mkdtempSync(join(tmpdir(), 'qdir-'));

describe('quantized model directories', () => {
  const m = initRandomModel('llama', {}, 3);

  it('round-trips Q4_0 blocks (head Q8_0) through model.safetensors, recording the format in config.json', async () => {
    const q = quantizeModelWeights(m.config, m.weights, { format: 'q4_0' });
    const f32Dir = tmp(), qDir = tmp();
    saveModelDir(f32Dir, m.config, m.weights);
    saveModelDir(qDir, m.config, q);
    const cfg = JSON.parse(readFileSync(join(qDir, 'config.json'), 'utf8'));
    expect(cfg.quantization_config).toEqual({ quant_method: 'ggml', format: 'q4_0', block_size: 32, head_format: 'q8_0' });
    const raw = readSafetensors(join(qDir, 'model.safetensors'), { rawU8: true });
    expect(raw['model.layers.0.mlp.down_proj.weight']).toMatchObject({ dtype: 'U8', shape: [64, (128 / 32) * 18] });
    expect(raw['lm_head.weight']).toMatchObject({ dtype: 'U8', shape: [512, (64 / 32) * 34] });
    expect(raw['model.norm.weight'].dtype).toBe('F32');
    const ratio = statSync(join(qDir, 'model.safetensors')).size / statSync(join(f32Dir, 'model.safetensors')).size;
    // f32: 139584 floats = 558336 bytes. Quantized: f32 embedding 131072 + Q8_0 head 512*64*34/32 = 34816
    // + Q4_0 layers 2*36864*18/32 = 41472 + f32 norms 1280 = 208640 bytes, 0.374 of f32 (plus headers)
    expect(ratio).toBeGreaterThan(0.37);
    expect(ratio).toBeLessThan(0.38);

    const back = await loadModelDir(qDir);
    expect(back.quantization).toEqual(cfg.quantization_config);
    for (const [name, w] of Object.entries(q)) {
      if (w.quant) {
        expect(back.weights[name].quant?.format).toBe(w.quant.format);
        expect(Buffer.compare(Buffer.from(back.weights[name].quant!.data), Buffer.from(w.quant.data))).toBe(0);
      } else expect(Array.from(back.weights[name].data)).toEqual(Array.from(w.data));
    }
    expect(Array.from(back.weights['model.layers.1.self_attn.q_proj.weight'].data)).toEqual(Array.from(q['model.layers.1.self_attn.q_proj.weight'].data));
  });

  it('loading with quantize equals quantizing the loaded weights, and a tied head quantizes once', async () => {
    const tied = initRandomModel('llama', { tie_word_embeddings: true }, 4);
    const dir = tmp();
    saveModelDir(dir, tied.config, tied.weights);
    const loaded = await loadModelDir(dir, { quantize: 'q8_0' });
    const direct = quantizeModelWeights(tied.config, tied.weights, { format: 'q8_0' });
    expect(Array.from(loaded.weights['model.layers.0.mlp.up_proj.weight'].quant!.data)).toEqual(Array.from(direct['model.layers.0.mlp.up_proj.weight'].quant!.data));
    expect(loaded.weights['lm_head.weight']).toBe(loaded.weights['model.embed_tokens.weight']);
    expect(loaded.quantization).toMatchObject({ format: 'q8_0', head_format: 'q8_0' });
    await expect(loadModelDir(dir, { quantize: 'q4_0' }).then((x) => quantizeModelWeights(x.config, x.weights, { format: 'q4_0' }))).rejects.toThrow(/is already Q8_0; quantize the original/);
  });

  it('refuses gpt2 and names a corrupt quantized tensor', async () => {
    const g = initRandomModel('gpt2', {}, 1);
    expect(() => quantizeModelWeights(g.config, g.weights, { format: 'q8_0' })).toThrow('architecture GPT2LMHeadModel (gpt2) cannot be quantized (expected a llama-family model: llama, mistral, qwen2 or mixtral)');
    const dir = tmp();
    saveModelDir(dir, m.config, quantizeModelWeights(m.config, m.weights, { format: 'q8_0' }));
    const file = join(dir, 'model.safetensors');
    const raw = readSafetensors(file, { rawU8: true });
    const w = raw['model.layers.0.self_attn.o_proj.weight'];
    const tensors = Object.fromEntries(Object.entries(raw).map(([n, t]) => [n, t.bytes ? { dtype: 'U8' as const, shape: t.shape, bytes: t.bytes } : { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
    tensors['model.layers.0.self_attn.o_proj.weight'] = { dtype: 'U8', shape: [w.shape[0], 40], bytes: new Uint8Array(w.shape[0] * 40) };
    writeFileSync(file, encodeSafetensors(tensors));
    await expect(loadModelDir(dir)).rejects.toThrow(`${file}: quantized tensor "model.layers.0.self_attn.o_proj.weight" has shape [64, 40], expected [64, 68] for Q8_0 or [64, 36] for Q4_0 (weight shape [64, 64])`);
    const cfgPath = join(dir, 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), quantization_config: { quant_method: 'gptq', bits: 4 } }));
    await expect(loadModelDir(dir)).rejects.toThrow(/config.json: quantization_config \{"quant_method":"gptq","bits":4\} is not supported/);
  });
});
