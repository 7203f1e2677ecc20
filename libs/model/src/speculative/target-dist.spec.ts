// targetDistribution is the distribution the library's sampler draws from: sweeping u over a fine
// grid through sampleToken picks each token a fraction of the time equal to p (within the grid step).
import { newSamplingState, recordOutputToken, sampleToken, type SamplingParams } from '../sampling';
import { targetDistribution } from './target-dist';

describe('targetDistribution', () => {
  const logits = Float32Array.from([1.2, -0.3, 2.5, 0.7, 2.4, -1.0, 0.0, 1.9]);
  const cases: [string, Partial<SamplingParams>][] = [
    ['temperature only', { temperature: 0.7 }],
    ['top-k 4 and top-p 0.8', { temperature: 1.3, topK: 4, topP: 0.8 }],
    ['min-p and penalties', { temperature: 1, minP: 0.1, repetitionPenalty: 1.3, frequencyPenalty: 0.5, presencePenalty: 0.2 }],
  ];
  it.each(cases)('%s', (_name, extra) => {
    const params: SamplingParams = { temperature: 1, ...extra } as SamplingParams;
    const state = newSamplingState([2, 4]);
    recordOutputToken(state, 2);
    recordOutputToken(state, 7);
    const { p } = targetDistribution(logits, params, state);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const M = 20_000;
    const counts = new Array(logits.length).fill(0);
    for (let i = 0; i < M; i++) counts[sampleToken(logits, params, state, (i + 0.5) / M).token]++;
    counts.forEach((c, x) => expect(Math.abs(c / M - p[x])).toBeLessThanOrEqual(1 / M + 1e-12));
  });
});
