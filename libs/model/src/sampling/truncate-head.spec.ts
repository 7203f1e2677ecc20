/*
 * Sampling from the head of a large vocabulary (truncate-head.ts) against the full path it
 * replaces (sort every token, truncate, walk the inverse CDF: the reference below, written from
 * sampler.ts's documented rules with its exported `truncate`): random rows of 2048-4096 logits,
 * wide and flat (where the sorted prefix is most of the vocabulary), with masked (-Infinity) stretches, at several temperatures, top-p and min-p,
 * draw the same token with the same logprob. Plus a hand-worked walk.
 */
import fc from 'fast-check';
import { newSamplingState, type SamplingParams } from './params';
import { drawLogprobs, sampleToken, truncate } from './sampler';
import { drawFromHead, walkCdf } from './truncate-head';

/** The full path: every token sorted, truncated, then the inverse CDF (last positive token if u runs off). */
function reference(logits: Float32Array, p: SamplingParams, u: number): number {
  const { logp } = drawLogprobs(logits, p, newSamplingState());
  const { ids, probs } = truncate(logp, p);
  const z = probs.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += probs[i] / z;
    if (u < cum) return ids[i];
  }
  let last = ids.length - 1;
  while (last > 0 && !(probs[last] > 0)) last--;
  return ids[last];
}

describe('drawing from the head of the distribution', () => {
  it('walks the CDF in order (hand-worked)', () => {
    // probs 0.5, 0.3, 0.2 of ids 7, 2, 9: u 0.49 -> 7; 0.5 -> 2; 0.79 -> 2; 0.8 -> 9; a walk that runs off -> undefined
    const p = [0, 0, 0.3, 0, 0, 0, 0, 0.5, 0, 0.2]; // probability by id
    expect([0.49, 0.5, 0.79, 0.8].map((u) => walkCdf([7, 2, 9], p, 1, u))).toEqual([7, 2, 2, 9]);
    expect(walkCdf([7, 2], p, 1, 0.9)).toBeUndefined();
  });

  it('draws what the full sort draws on large random vocabularies', () => {
    const row = fc.record({
      V: fc.integer({ min: 2048, max: 4096 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
      spread: fc.constantFrom(0.01, 3, 30, 200), // flat rows keep every token in the head; wide ones put most in the tail
      masked: fc.boolean(),
    });
    const params = fc.record({
      temperature: fc.constantFrom(0.3, 0.8, 1, 1.7),
      topP: fc.constantFrom(1, 0.95, 0.5),
      minP: fc.constantFrom(0, 0.05),
    });
    let direct = 0;
    let runs = 0;
    fc.assert(
      fc.property(row, params, fc.integer({ min: 0, max: 999_999 }).map((k) => k / 1e6), ({ V, seed, spread, masked }, p, u) => {
        let s = seed;
        const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
        const logits = Float32Array.from({ length: V }, () => (rand() - 0.5) * spread);
        if (masked) logits.fill(-Infinity, V >> 2, V >> 1);
        const got = sampleToken(logits, p, newSamplingState(), u);
        const want = reference(logits, p, u);
        expect(got.token).toBe(want);
        const { logp } = drawLogprobs(logits, p, newSamplingState());
        expect(got.logprob).toBe(logp[want]);
        const head = drawFromHead(logp, p, u); // the fast path itself, when it decides
        runs++;
        if (head !== undefined) {
          direct++;
          expect(head).toBe(want);
        }
      }),
      { numRuns: 150 },
    );
    expect(direct).toBeGreaterThan(0.9 * runs); // the fast path decides nearly every draw
  });
});
