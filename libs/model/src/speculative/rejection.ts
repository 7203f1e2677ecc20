/*
 * The speculative-sampling acceptance rule (Leviathan, Kalman & Matias 2023, "Fast Inference from
 * Transformers via Speculative Decoding"; Chen et al. 2023, "Accelerating Large Language Model
 * Decoding with Speculative Sampling"). A draft token d drawn from the draft distribution q is
 * kept with probability min(1, p(d) / q(d)); otherwise the token is drawn from the residual
 * norm(max(0, p - q)). Whatever q is, the token that comes out is distributed exactly as p, the
 * target's distribution: P(x) = q(x) min(1, p(x)/q(x)) + (1 - sum_y min(q(y), p(y))) r(x) = p(x).
 *
 * A deterministic proposer (prompt lookup, a greedy draft model) is the case q = onehot(d):
 * keep d with probability p(d), else draw from p with d removed. That rule keeps p whatever the
 * draft came from (P(x) = q(x) p(x) + sum_{d != x} q(d) p(x) = p(x)); passing the real q of a
 * sampled draft keeps p too and accepts more often: sum_x min(p(x), q(x)) >= sum_x q(x) p(x).
 *
 * What this is not: the target's distribution itself (target-dist.ts builds p from the logits
 * with the request's sampling parameters) or the loop over a draft run (verify.ts).
 */

export interface Verdict {
  accepted: boolean;
  /** d when accepted, else the residual draw. */
  token: number;
}

/**
 * p (V) the target distribution, q (V) the draft's (or null: q = onehot(draft)); uAccept and
 * uResample independent uniforms in [0, 1).
 */
export function acceptOrResample(p: ArrayLike<number>, q: ArrayLike<number> | null, draft: number, uAccept: number, uResample: number): Verdict {
  const qd = q ? q[draft] : 1;
  const ratio = qd > 0 ? p[draft] / qd : 1; // q(d) = 0 cannot have drawn d; accept is moot
  if (uAccept < Math.min(1, ratio)) return { accepted: true, token: draft };
  // residual r(x) = max(0, p(x) - q(x)) / Z, drawn by inverse CDF in id order
  const V = p.length;
  let z = 0;
  for (let x = 0; x < V; x++) z += residual(p, q, draft, x);
  if (!(z > 0)) return { accepted: false, token: inverseCdf(p, uResample) }; // p == q: rejection has probability 0
  const target = uResample * z;
  let cum = 0;
  let last = draft;
  for (let x = 0; x < V; x++) {
    const r = residual(p, q, draft, x);
    if (r <= 0) continue;
    last = x;
    cum += r;
    if (target < cum) return { accepted: false, token: x };
  }
  return { accepted: false, token: last }; // rounding at the top of the CDF
}

function residual(p: ArrayLike<number>, q: ArrayLike<number> | null, draft: number, x: number): number {
  const qx = q ? q[x] : x === draft ? 1 : 0;
  return Math.max(0, p[x] - qx);
}

/** Inverse CDF of a (normalised) distribution in id order. */
export function inverseCdf(p: ArrayLike<number>, u: number): number {
  let cum = 0;
  let last = 0;
  for (let x = 0; x < p.length; x++) {
    if (!(p[x] > 0)) continue;
    last = x;
    cum += p[x];
    if (u < cum) return x;
  }
  return last;
}
