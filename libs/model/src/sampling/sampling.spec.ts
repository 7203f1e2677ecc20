/**
 * Sampling tests: SplitMix64 known answers, counter RNG uniformity, hand-worked penalties,
 * temperature / top-k / top-p / min-p by inverse CDF, logprobs, and seeded generation.
 */
import { splitmix64, uniformFromCounter } from './counter-rng';
import { newSamplingState, recordOutputToken, validateSamplingParams, SamplingParams } from './params';
import { sampleToken, topTwoMargin } from './sampler';
import { generate } from './generate';
import { initRandomModel } from '../init-random';
import { Transformer } from '../transformer';

const P = (xs: number[]) => Float32Array.from(xs.map(Math.log)); // logits whose softmax is xs / sum
const empty = () => newSamplingState();

describe('counter RNG', () => {
  it('SplitMix64 matches the published sequence for seed 0', () => {
    // the generator's state advances by the golden gamma; outputs are the finaliser of each state
    expect(splitmix64(0n)).toBe(0xe220a8397b1dcdafn);
    expect(splitmix64(0x9e3779b97f4a7c15n)).toBe(0x6e789e6aa1b965f4n);
  });

  it('is a pure function of (seed, sampleIndex, position) and looks uniform', () => {
    expect(uniformFromCounter(42, 0, 7)).toBe(uniformFromCounter(42n, 0, 7));
    const distinct = new Set([uniformFromCounter(42, 0, 7), uniformFromCounter(43, 0, 7), uniformFromCounter(42, 1, 7), uniformFromCounter(42, 0, 8)]);
    expect(distinct.size).toBe(4);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const u = uniformFromCounter(9, 0, i);
      expect(u >= 0 && u < 1).toBe(true);
      buckets[Math.floor(u * 10)]++;
    }
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(200); // ~4.7 sigma
  });
});

describe('sampleToken', () => {
  it('greedy takes the argmax after bias and penalties (hand-worked)', () => {
    expect(sampleToken(Float32Array.from([1, 3, 2]), { temperature: 0 }, empty(), 0.5).token).toBe(1);
    expect(sampleToken(Float32Array.from([1, 3, 2]), { temperature: 0, logitBias: new Map([[2, 1.5]]) }, empty(), 0).token).toBe(2);
    // repetition 2 on seen ids 0, 2: [2, 1.5, -1] -> [1, 1.5, -2]
    const s = newSamplingState([0, 2]);
    expect(sampleToken(Float32Array.from([2, 1.5, -1]), { temperature: 0, repetitionPenalty: 2 }, s, 0).token).toBe(1);
    // frequency 0.1 x 2 + presence 0.05 on token 0: [1, 0.9] -> [0.75, 0.9]
    const o = newSamplingState();
    recordOutputToken(o, 0);
    recordOutputToken(o, 0);
    expect(sampleToken(Float32Array.from([1, 0.9]), { temperature: 0, frequencyPenalty: 0.1, presencePenalty: 0.05 }, o, 0).token).toBe(1);
    expect(sampleToken(Float32Array.from([1, 0.9]), { temperature: 0, frequencyPenalty: 0.04 }, o, 0).token).toBe(0);
  });

  it('inverse CDF over descending probabilities with top-k, top-p and min-p', () => {
    // p = [0.1, 0.2, 0.3, 0.4]; descending ids [3, 2, 1, 0], cumulative [0.4, 0.7, 0.9, 1]
    const l = P([0.1, 0.2, 0.3, 0.4]);
    const pick = (u: number, p: Partial<SamplingParams> = {}) => sampleToken(l, { temperature: 1, ...p }, empty(), u).token;
    expect([pick(0.39), pick(0.41), pick(0.69), pick(0.71), pick(0.95)]).toEqual([3, 2, 2, 1, 0]);
    // top-k 2: [0.4, 0.3] renormalised -> [4/7, 3/7]
    expect([pick(0.57, { topK: 2 }), pick(0.58, { topK: 2 }), pick(0.99, { topK: 2 })]).toEqual([3, 2, 2]);
    // top-p 0.6 keeps {3, 2} (0.4 < 0.6, 0.7 >= 0.6); top-p 0.35 keeps {3}
    expect(pick(0.99, { topP: 0.6 })).toBe(2);
    expect(pick(0.99, { topP: 0.35 })).toBe(3);
    // min-p 0.45: cut at 0.45 x 0.4 = 0.18 keeps {3, 2, 1}; u = 0.99 of their mass lands on 1; min-p 0.6 keeps {3, 2}
    expect(pick(0.99, { minP: 0.45 })).toBe(1);
    expect(pick(0.99, { minP: 0.6 })).toBe(2);
    // temperature 2: p ~ sqrt([1, 2, 3, 4]); P(3) = 2 / (1 + 1.414 + 1.732 + 2) = 0.3254
    expect(pick(0.32, { temperature: 2 })).toBe(3);
    expect(pick(0.33, { temperature: 2 })).toBe(2);
  });

  it('draws follow the distribution', () => {
    const l = P([0.1, 0.2, 0.3, 0.4]);
    const n = 20000, counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[sampleToken(l, { temperature: 1 }, empty(), uniformFromCounter(1, 0, i)).token]++;
    [0.1, 0.2, 0.3, 0.4].forEach((p, i) => expect(Math.abs(counts[i] / n - p)).toBeLessThan(0.015));
  });

  it('returns logprobs of the penalised, tempered distribution', () => {
    const r = sampleToken(P([0.1, 0.2, 0.3, 0.4]), { temperature: 1, logprobs: 2 }, empty(), 0.5);
    expect(r.token).toBe(2);
    expect(Math.abs(r.logprob - Math.log(0.3))).toBeLessThan(1e-6);
    expect(r.topLogprobs.map((x) => x.token)).toEqual([3, 2]);
    expect(Math.abs(r.topLogprobs[0].logprob - Math.log(0.4))).toBeLessThan(1e-6);
    const g = sampleToken(P([0.5, 0.5]), { temperature: 0, logitBias: new Map([[1, Math.log(3)]]) }, empty(), 0);
    expect(g.token).toBe(1);
    expect(Math.abs(g.logprob - Math.log(0.75))).toBeLessThan(1e-6);
  });

  it('rejects parameters out of range, naming the field', () => {
    expect(() => validateSamplingParams({ temperature: -1 })).toThrow(/temperature=-1 is out of range/);
    expect(() => validateSamplingParams({ temperature: 1, topP: 0 })).toThrow(/topP=0 is out of range \(expected > 0 and <= 1\)/);
    expect(() => validateSamplingParams({ temperature: 1, topK: 1.5 })).toThrow(/topK=1.5/);
    expect(() => validateSamplingParams({ temperature: 1, logitBias: new Map([[9, 1]]) }, 5)).toThrow(/logitBias has token id 9 \(expected an integer in \[0, 5\)\)/);
    expect(() => sampleToken(Float32Array.from([1]), { temperature: 0 }, empty(), 1)).toThrow(/u=1 is outside \[0, 1\)/);
  });
});

describe('generate', () => {
  const { config, weights } = initRandomModel('llama', { initializer_range: 0.1 }, 11);
  const model = new Transformer(config, weights);

  it('greedy equals step-by-step argmax of full recomputation (asserting the top-2 margin)', async () => {
    const prompt = [3, 14, 15, 92];
    const out = await generate(model, prompt, { maxTokens: 6, sampling: { temperature: 0 } });
    expect(out.tokens).toHaveLength(6);
    const seq = [...prompt];
    for (const tok of out.tokens) {
      const logits = await model.forward(seq, undefined, { lastOnly: true });
      expect(topTwoMargin(logits)).toBeGreaterThan(1e-3); // no near-tie: the comparison is meaningful
      expect(tok).toBe(logits.indexOf(Math.max(...logits)));
      seq.push(tok);
    }
  });

  it('same seed, same tokens; a stop id ends generation and is kept', async () => {
    const sampling = { temperature: 1.5, topP: 0.95, seed: 123 };
    const a = await generate(model, [1, 2, 3], { maxTokens: 8, sampling });
    const b = await generate(model, [1, 2, 3], { maxTokens: 8, sampling });
    const c = await generate(model, [1, 2, 3], { maxTokens: 8, sampling: { ...sampling, seed: 124 } });
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    const stopped = await generate(model, [1, 2, 3], { maxTokens: 8, sampling, stopTokenIds: [a.tokens[2]] });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.tokens).toEqual(a.tokens.slice(0, a.tokens.indexOf(a.tokens[2]) + 1));
  });
});
