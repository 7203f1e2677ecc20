/*
 * Llama 3 RoPE scaling through GGUF's rope_freqs.weight. The expected divisors are computed here
 * from the converter's published rule (wavelen thresholds old/high and old/low, the smooth ramp
 * between), independently of the code under test; reading must recover a scaling whose
 * frequencies are base / divisor for every divisor; a model with llama3 scaling written and read
 * back computes the directory's logits; divisors of another shape are one error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ropeInvFreq } from '@llm/tensor';
import { initRandomModel } from '../init-random';
import { loadModelDir } from '../io/model-dir';
import { Transformer } from '../transformer/transformer';
import { openGguf } from './reader';
import { llama3ScalingFromFactors, ropeFreqFactors } from './rope-freqs';
import { saveGguf } from './save-gguf';
import { readWeight } from './tensor-data';

/** The converter's rule, written out: divisor per frequency. */
function converterDivisors(d: number, base: number, factor: number, low: number, high: number, old: number): Float32Array {
  return Float32Array.from({ length: d / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / d)));
    if (wavelen < old / high) return 1;
    if (wavelen > old / low) return factor;
    const s = (old / wavelen - low) / (high - low);
    return 1 / ((1 - s) / factor + s);
  });
}
const SCALING = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }; // Llama 3.2

describe('rope_freqs.weight', () => {
  it.each([
    ['Llama 3.1 (d 128, factor 8)', 128, 8, 1, 4, 8192],
    ['Llama 3.2 (d 64, factor 32)', 64, 32, 1, 4, 8192],
    ['other ramp (low 2, high 8, old 4096)', 64, 4, 2, 8, 4096],
    ['a small head (d 16: at most one point on the ramp)', 16, 8, 1, 4, 8192],
    ['a tiny head (d 4)', 4, 8, 1, 4, 8192],
  ])('%s: the recovered scaling gives base / divisor for every frequency', (_n, d, factor, low, high, old) => {
    const divisors = converterDivisors(d, 500000, factor, low, high, old);
    const s = llama3ScalingFromFactors(divisors, d, 500000, 'f.gguf')!;
    // the largest divisor is the factor whenever some wavelength is past old / low (all but the tiny head,
    // where only the frequencies, not the factor, are determined by the file)
    expect(s.factor).toBe(d >= 16 ? factor : Math.max(...divisors));
    const inv = ropeInvFreq(d, 500000, { type: 'llama3', factor: s.factor as number, lowFreqFactor: s.low_freq_factor as number, highFreqFactor: s.high_freq_factor as number, originalMaxPositions: s.original_max_position_embeddings as number });
    const unscaled = ropeInvFreq(d, 500000);
    for (let i = 0; i < d / 2; i++) expect(Math.abs(inv[i] - unscaled[i] / divisors[i])).toBeLessThanOrEqual(unscaled[i] * 1e-6);
  });

  it('divisors all 1 are no scaling; divisors of another shape are one error naming the tensor', () => {
    expect(llama3ScalingFromFactors(new Float32Array(32).fill(1), 64, 500000, 'f.gguf')).toBeNull();
    const bumpy = converterDivisors(64, 500000, 8, 1, 4, 8192);
    bumpy[20] *= 1.5;
    expect(() => llama3ScalingFromFactors(bumpy, 64, 500000, 'f.gguf')).toThrow(/^f.gguf: rope_freqs.weight .* \(only Llama 3's frequency scaling is supported\)$/);
    expect(() => llama3ScalingFromFactors(new Float32Array(31).fill(2), 64, 500000, 'f.gguf')).toThrow('f.gguf: rope_freqs.weight has 31 values for 32 frequencies');
  });

  it('a model with llama3 scaling: the file carries the converter\'s divisors and reads back to the same logits', async () => {
    const { config, weights } = initRandomModel('llama', { rope_theta: 500000, rope_scaling: SCALING, max_position_embeddings: 131072 }, 5);
    expect(Array.from(ropeFreqFactors(config)!)).toEqual(Array.from(converterDivisors(config.headDim, 500000, 32, 1, 4, 8192)));
    const path = join(mkdtempSync(join(tmpdir(), 'gguf-rope-')), 'm.gguf');
    saveGguf(path, { config, weights });
    const f = openGguf(path);
    const t = f.tensors.get('rope_freqs.weight')!;
    expect([t.type.name, t.dims]).toEqual(['F32', [config.headDim / 2]]);
    expect(Array.from(readWeight(f, t).data)).toEqual(Array.from(converterDivisors(config.headDim, 500000, 32, 1, 4, 8192)));
    expect(f.metadata.has('llama.rope.scaling.type')).toBe(false);
    f.close();
    const back = await loadModelDir(path);
    expect(back.config.ropeScaling).toMatchObject({ type: 'llama3', factor: 32 });
    expect(back.unusedTensors).toEqual([]);
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const want = await new Transformer(config, weights).forward(tokens);
    const got = await new Transformer(back.config, back.weights).forward(tokens);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThan(1e-4);
  });
});
