/*
 * The greedy hot path of sampleToken (no bias or penalties, no top logprobs) against the general
 * path, forced by a logit bias on an id outside the vocabulary (which applyPenalties skips, so the
 * adjusted logits are the same numbers): random rows with ties, -Infinity (masked) entries and
 * large magnitudes give the same token and a bit-identical logprob. Plus a hand-worked row.
 */
import fc from 'fast-check';
import { newSamplingState, type SamplingParams } from './params';
import { sampleToken } from './sampler';

const greedy: SamplingParams = { temperature: 0 };
const general: SamplingParams = { temperature: 0, logitBias: new Map([[-1, 3]]) };

describe('sampleToken greedy hot path', () => {
  it('picks the lowest id among the maxima and returns log-softmax of it (hand-worked)', () => {
    // logits [0, ln 3, ln 3, -inf]: softmax = [1/7, 3/7, 3/7, 0]; argmax = 1 (lowest id on the tie)
    const r = sampleToken(Float32Array.of(0, Math.log(3), Math.log(3), -Infinity), greedy, newSamplingState(), 0.5);
    expect(r.token).toBe(1);
    expect(r.logprob).toBeCloseTo(Math.log(3 / 7), 6);
    expect(r.topLogprobs).toEqual([]);
  });

  it('equals the general path bit for bit on random rows', () => {
    const entry = fc.oneof(
      { weight: 8, arbitrary: fc.float({ min: -60, max: 60, noNaN: true }) },
      { weight: 1, arbitrary: fc.constant(-Infinity) },
      { weight: 1, arbitrary: fc.constantFrom(7.25, -3.5) }, // repeated values make ties
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (xs, u) => {
        const row = Float32Array.from(xs);
        if (!row.some((v) => v > -Infinity)) row[0] = 0; // at least one finite logit
        const fast = sampleToken(row, greedy, newSamplingState(), u);
        const slow = sampleToken(row, general, newSamplingState(), u);
        expect(fast.token).toBe(slow.token);
        expect(Object.is(fast.logprob, slow.logprob)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('skipLogprob keeps the token, returns logprob 0, and applies only where nothing else needs the distribution', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -60, max: 60, noNaN: true }), { minLength: 1, maxLength: 300 }), (xs) => {
        const row = Float32Array.from(xs);
        const full = sampleToken(row, greedy, newSamplingState(), 0.3);
        const skipped = sampleToken(row, { ...greedy, skipLogprob: true }, newSamplingState(), 0.3);
        expect(skipped).toEqual({ token: full.token, logprob: 0, topLogprobs: [] });
      }),
      { numRuns: 200 },
    );
    // top logprobs, a penalty or a temperature still get the real logprob: log-softmax of [0, ln 3] at id 1 = ln(3/4)
    const row = Float32Array.of(0, Math.log(3));
    expect(sampleToken(row, { temperature: 0, logprobs: 1, skipLogprob: true }, newSamplingState(), 0.5).logprob).toBeCloseTo(Math.log(3 / 4), 6);
    expect(sampleToken(row, { ...general, skipLogprob: true }, newSamplingState(), 0.5).logprob).toBeCloseTo(Math.log(3 / 4), 6);
    const drawn = sampleToken(row, { temperature: 1, skipLogprob: true }, newSamplingState(), 0.99);
    expect(drawn.logprob).toBeCloseTo(Math.log(drawn.token === 1 ? 3 / 4 : 1 / 4), 6);
  });
});
