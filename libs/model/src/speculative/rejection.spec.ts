/*
 * The acceptance rule keeps the target distribution: on a 5-token vocabulary, drafts drawn from q
 * and passed through acceptOrResample come out distributed as p (Pearson chi-square against p,
 * 4 degrees of freedom, critical value 18.47 at alpha = 0.001), for a full q and for the one-hot q
 * of a deterministic proposer. The same test rejects a plausible wrong rule (resampling from p
 * instead of the residual), so it has the power to fail. The acceptance rate matches its closed
 * form sum_x min(p(x), q(x)).
 */
import { createRng } from '@llm/tensor';
import { acceptOrResample, inverseCdf } from './rejection';

const p = [0.1, 0.4, 0.2, 0.25, 0.05];
const q = [0.3, 0.1, 0.3, 0.1, 0.2];
const N = 40_000;
const CHI2_CRIT_DF4 = 18.47; // P(chi2_4 > 18.47) = 0.001

function chiSquare(counts: number[], probs: number[], n: number): number {
  return counts.reduce((s, c, x) => s + (c - n * probs[x]) ** 2 / (n * probs[x]), 0);
}

function run(rule: (draft: number, uA: number, uR: number) => { accepted: boolean; token: number }, drawDraft: (u: number) => number, seed: number) {
  const rng = createRng(seed);
  const counts = new Array(p.length).fill(0);
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    const v = rule(drawDraft(rng.next()), rng.next(), rng.next());
    counts[v.token]++;
    if (v.accepted) accepted++;
  }
  return { counts, acceptRate: accepted / N };
}

describe('acceptOrResample (speculative sampling rule)', () => {
  it('outputs tokens distributed as p when drafts come from a full q', () => {
    const r = run((d, uA, uR) => acceptOrResample(p, q, d, uA, uR), (u) => inverseCdf(q, u), 7);
    expect(chiSquare(r.counts, p, N)).toBeLessThan(CHI2_CRIT_DF4);
    const expected = p.reduce((s, px, x) => s + Math.min(px, q[x]), 0); // 0.1 + 0.1 + 0.2 + 0.1 + 0.05 = 0.55
    expect(expected).toBeCloseTo(0.55, 12);
    expect(Math.abs(r.acceptRate - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / N));
  });

  it('outputs tokens distributed as p for a deterministic draft (q = onehot), accepting it with p(d)', () => {
    for (const d of [1, 4]) {
      const r = run((draft, uA, uR) => acceptOrResample(p, null, draft, uA, uR), () => d, 11 + d);
      expect(chiSquare(r.counts, p, N)).toBeLessThan(CHI2_CRIT_DF4);
      expect(Math.abs(r.acceptRate - p[d])).toBeLessThan(4 * Math.sqrt((p[d] * (1 - p[d])) / N));
    }
  });

  it('the same test rejects resampling from p instead of the residual', () => {
    const wrong = (d: number, uA: number, uR: number) => (uA < Math.min(1, p[d] / q[d]) ? { accepted: true, token: d } : { accepted: false, token: inverseCdf(p, uR) });
    const r = run(wrong, (u) => inverseCdf(q, u), 7);
    expect(chiSquare(r.counts, p, N)).toBeGreaterThan(10 * CHI2_CRIT_DF4);
  });

  it('always accepts when the draft is as likely under p as under q, and never picks a token p excludes', () => {
    expect(acceptOrResample([0, 1, 0], [0, 1, 0], 1, 0.999, 0.5)).toEqual({ accepted: true, token: 1 });
    for (let i = 0; i < 50; i++) {
      const v = acceptOrResample([0.5, 0, 0.5], null, 1, 0.3, i / 50); // p(d) = 0: always rejected
      expect(v.accepted).toBe(false);
      expect(v.token === 0 || v.token === 2).toBe(true);
    }
  });
});
