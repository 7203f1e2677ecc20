/**
 * Model directory load/save: every architecture round-trips, sharding, tied embeddings,
 * GPT-2's Conv1D layout and optional `transformer.` prefix, and errors naming file and tensor.
 */
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir, saveModelDir } from './model-dir';
import { readSafetensors, writeSafetensors, SafeTensors } from './safetensors';
import { initRandomModel, ARCHS } from '../init-random';
import { expectedWeights } from '../weights';

const tmp = () => mkdtempSync(join(tmpdir(), 'md-'));

/** Exact element-wise equality (jest's deep equality is slow on large typed arrays). */
function expectSame(name: string, a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new Error(`${name}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`${name}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('saveModelDir / loadModelDir', () => {
  it.each(ARCHS)('%s round-trips every weight exactly in F32', async (arch) => {
    const { config, weights } = initRandomModel(arch, {}, 3);
    const dir = tmp();
    saveModelDir(dir, config, weights, { generationConfig: { doSample: true, temperature: 0.5, topK: 5, topP: 0.9, minP: 0, repetitionPenalty: 1.1, maxNewTokens: 9, eosTokenIds: [2], bosTokenId: 1, padTokenId: null } });
    const m = await loadModelDir(dir);
    expect({ ...m.config, raw: null }).toEqual({ ...config, raw: null });
    for (const name of expectedWeights(config).keys()) expectSame(name, m.weights[name].data, weights[name].data);
    expect(m.generation).toMatchObject({ doSample: true, temperature: 0.5, topK: 5, maxNewTokens: 9, repetitionPenalty: 1.1 });
    expect(m.unusedTensors).toEqual([]);
  });

  it('ties lm_head to the embedding and does not store it', async () => {
    const { config, weights } = initRandomModel('qwen2', {}, 1);
    const dir = tmp();
    saveModelDir(dir, config, weights);
    expect(Object.keys(readSafetensors(join(dir, 'model.safetensors')))).not.toContain('lm_head.weight');
    const m = await loadModelDir(dir);
    expect(m.weights['lm_head.weight']).toBe(m.weights['model.embed_tokens.weight']);
  });

  it('reads sharded checkpoints through model.safetensors.index.json', async () => {
    const { config, weights } = initRandomModel('mixtral', {}, 2);
    const dir = tmp();
    saveModelDir(dir, config, weights, { maxShardBytes: 64 * 1024, dtype: 'BF16' });
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(new Set(Object.values(index.weight_map)).size).toBeGreaterThan(2);
    const m = await loadModelDir(dir);
    expect(m.weights['model.layers.1.block_sparse_moe.experts.3.w2.weight'].shape).toEqual([64, 128]);
  });

  it('GPT-2: Conv1D weights are stored [in, out] with a fused c_attn, and both key prefixes load', async () => {
    const { config, weights } = initRandomModel('gpt2', {}, 4);
    const dir = tmp();
    saveModelDir(dir, config, weights);
    const file = readSafetensors(join(dir, 'model.safetensors'));
    const C = config.hiddenSize;
    const cAttn = file['transformer.h.0.attn.c_attn.weight'];
    expect(cAttn.shape).toEqual([C, 3 * C]);
    const q = weights['model.layers.0.self_attn.q_proj.weight'].data, v = weights['model.layers.0.self_attn.v_proj.weight'].data;
    // c_attn[i, j] = q_proj[j, i] for j < C; c_attn[i, 2C + j] = v_proj[j, i]
    expect(cAttn.data[5 * 3 * C + 7]).toBe(q[7 * C + 5]);
    expect(cAttn.data[3 * 3 * C + 2 * C + 1]).toBe(v[1 * C + 3]);
    expect(file['transformer.h.1.mlp.c_fc.weight'].shape).toEqual([C, config.intermediateSize]);
    // the same tensors without the prefix (as GPT2Model checkpoints store them)
    const bare: SafeTensors = {};
    for (const [k, t] of Object.entries(file)) bare[k.replace(/^transformer\./, '')] = t;
    writeSafetensors(join(dir, 'model.safetensors'), bare as never);
    const m = await loadModelDir(dir);
    for (const name of expectedWeights(config).keys()) expectSame(name, m.weights[name].data, weights[name].data);
  });

  it('names the directory, file and tensor on bad input', async () => {
    const dir = tmp();
    await expect(loadModelDir(join(dir, 'nope'))).rejects.toThrow(/model dir .*nope does not exist/);
    await expect(loadModelDir(dir)).rejects.toThrow(`model dir ${dir} has no config.json (expected a Hugging Face model directory)`);
    const { config, weights } = initRandomModel('llama', {}, 5);
    saveModelDir(dir, config, weights);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['FalconForCausalLM'] }));
    await expect(loadModelDir(dir)).rejects.toThrow(/config.json: "architectures" is \["FalconForCausalLM"\]/);
    saveModelDir(dir, config, weights);
    const file = readSafetensors(join(dir, 'model.safetensors'));
    const { ['model.layers.1.mlp.up_proj.weight']: _dropped, ...rest } = file;
    writeSafetensors(join(dir, 'model.safetensors'), rest as never);
    await expect(loadModelDir(dir)).rejects.toThrow(/model.safetensors: tensor "model.layers.1.mlp.up_proj.weight" is missing \(expected shape \[128, 64\]\)/);
    writeSafetensors(join(dir, 'model.safetensors'), { ...file, 'model.norm.weight': { dtype: 'F32', shape: [63], data: new Float32Array(63) } } as never);
    await expect(loadModelDir(dir)).rejects.toThrow(/tensor "model.norm.weight" has shape \[63\], expected \[64\]/);
    rmSync(join(dir, 'model.safetensors'));
    await expect(loadModelDir(dir)).rejects.toThrow(/has neither model.safetensors nor model.safetensors.index.json/);
  });
});
