/*
 * `llm quantize` through the real command parser: F16 / F32 conversion (the logits of the F16
 * file equal the reference forward on F16-rounded matrices), a quantized directory and a GGUF file that
 * `llm forward` / `llm generate` load like any model (same logits from both, equal to quantizing
 * at load time with --quantize), the format in config.json, and one-line refusals for a
 * non-empty --out, an existing --gguf, an architecture that cannot be quantized, a quantized
 * source and a bad format.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir, loadModelDir, openGguf, roundTripDtype, saveModelDir, Transformer } from '@llm/model';
import { CliError } from '../errors';
import { llm } from '../../test/support/llm';

const tmp = mkdtempSync(join(tmpdir(), 'cli-quantize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const src = join(tmp, 'llama');
initModelDir(src, 'llama', { seed: 3 });

async function logits(...args: string[]): Promise<number[][]> {
  const r = await llm('forward', '--tokens', '5,9,300,2', '--json', ...args);
  expect(r.err).toBeNull();
  return JSON.parse(r.out).logits;
}

describe('llm quantize', () => {
  it('writes a Q4_0 directory and a GGUF file that forward and generate load, computing the same logits', async () => {
    const out = join(tmp, 'q4'), gguf = join(tmp, 'q4.gguf');
    const r = await llm('quantize', '--model', src, '--format', 'q4_0', '--out', out, '--gguf', gguf);
    expect(r.err).toBeNull();
    expect(r.out).toContain(`quantized ${src} to q4_0 (head q8_0): wrote ${out} and ${gguf}`);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).quantization_config).toMatchObject({ format: 'q4_0', head_format: 'q8_0' });
    const fromDir = await logits('--model', out);
    expect(await logits('--model', gguf)).toEqual(fromDir);
    expect(await logits('--model', src, '--quantize', 'q4_0')).toEqual(fromDir);
    expect(await logits('--model', src)).not.toEqual(fromDir); // quantization changed something
    const g1 = await llm('generate', '--model', gguf, '--prompt', 'The quick', '--max-tokens', '5', '--json');
    const g2 = await llm('generate', '--model', out, '--prompt', 'The quick', '--max-tokens', '5', '--json');
    expect(g1.err).toBeNull();
    expect(JSON.parse(g1.out)).toEqual(JSON.parse(g2.out));
  });

  it('converts to f16: a GGUF file (matrices F16) and an F16 directory, loading as the F16 rounding of the weights', async () => {
    const out = join(tmp, 'f16'), gguf = join(tmp, 'f16.gguf');
    const r = await llm('quantize', '--model', src, '--format', 'f16', '--out', out, '--gguf', gguf);
    expect(r.err).toBeNull();
    expect(r.out).toContain(`converted ${src} to f16: wrote ${out} and ${gguf}`);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    const f = openGguf(gguf);
    expect([f.metadata.get('general.file_type')?.value, [...f.tensors.values()].find((t) => t.name === 'blk.0.attn_q.weight')?.type.name]).toEqual([1, 'F16']);
    f.close();
    const rounded = await loadModelDir(src);
    for (const w of Object.values(rounded.weights)) if (w.shape.length > 1) w.data.set(roundTripDtype(w.data, 'F16'));
    const flat = await new Transformer(rounded.config, rounded.weights).forward([5, 9, 300, 2]);
    const V = rounded.config.vocabSize;
    const want = [0, 1, 2, 3].map((t) => Array.from(flat.subarray(t * V, (t + 1) * V)));
    expect(await logits('--model', gguf)).toEqual(want);
    const fromDir = await logits('--model', out); // the directory rounds the norms too
    expect(Math.max(...fromDir.flat().map((v, i) => Math.abs(v - want.flat()[i])))).toBeLessThan(1e-2);
    expect(await logits('--model', src)).not.toEqual(want);
  });

  it('converts to f32: the GGUF file computes exactly what the source does', async () => {
    const gguf = join(tmp, 'f32.gguf');
    const r = await llm('quantize', '--model', src, '--format', 'F32', '--gguf', gguf);
    expect(r.out).toContain(`converted ${src} to f32: wrote ${gguf}`);
    expect(await logits('--model', gguf)).toEqual(await logits('--model', src));
  });

  it('refuses f16 when a weight is past F16 range, naming the tensor', async () => {
    const big = join(tmp, 'big');
    const m = await loadModelDir(src);
    m.weights['model.layers.0.self_attn.v_proj.weight'].data[2] = 1e5;
    saveModelDir(big, m.config, m.weights, { tokenizerJson: readFileSync(join(src, 'tokenizer.json'), 'utf8') });
    const r = await llm('quantize', '--model', big, '--format', 'f16', '--gguf', join(tmp, 'big.gguf'));
    expect(r.err).toBeInstanceOf(CliError);
    expect((r.err as Error).message).toBe(`${big}: tensor "blk.0.attn_v.weight" cannot be stored as F16: element 2 is 100000, beyond F16's range (|x| <= 65504); keep it in F32 (--format f32)`);
  });

  it('refuses with one line: non-empty --out, existing --gguf, gpt2, a quantized source, a bad format', async () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), '');
    const message = async (...args: string[]) => {
      const r = await llm('quantize', ...args);
      expect(r.err).toBeInstanceOf(CliError);
      return (r.err as Error).message;
    };
    expect(await message('--model', src, '--format', 'q8_0', '--out', full)).toBe(`--out ${full} is not empty (choose a new or empty directory)`);
    writeFileSync(join(tmp, 'exists.gguf'), '');
    expect(await message('--model', src, '--format', 'q8_0', '--gguf', join(tmp, 'exists.gguf'))).toBe(`--gguf ${join(tmp, 'exists.gguf')} already exists (choose a new file name)`);
    const gpt2 = join(tmp, 'gpt2');
    initModelDir(gpt2, 'gpt2', { seed: 1 });
    expect(await message('--model', gpt2, '--format', 'q8_0', '--out', join(tmp, 'g8'))).toBe(`${gpt2}: architecture GPT2LMHeadModel (gpt2) cannot be quantized (expected a llama-family model: llama, mistral, qwen2 or mixtral)`);
    await llm('quantize', '--model', src, '--format', 'q8_0', '--out', join(tmp, 'q8'));
    expect(await message('--model', join(tmp, 'q8'), '--format', 'q4_0', '--out', join(tmp, 'qq'))).toBe(`${join(tmp, 'q8')} is already quantized (q8_0); quantize the f32/f16/bf16 model instead`);
    expect(await message('--model', src, '--format', 'q5_1', '--out', join(tmp, 'q5'))).toBe('--format "q5_1" is not supported (expected f32, f16, q8_0 or q4_0)');
    expect(await message('--model', src, '--format', 'q8_0')).toBe('pass --out DIR (a quantized model directory) and/or --gguf FILE (a GGUF file)');
    const bad = await llm('forward', '--model', src, '--tokens', '1', '--quantize', 'int4');
    expect((bad.err as Error).message).toBe('--quantize "int4" is not supported (expected q8_0 or q4_0)');
  });
});
