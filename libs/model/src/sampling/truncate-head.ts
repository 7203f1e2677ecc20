/*
 * Sampling over a large vocabulary without sorting it: the same top-p / min-p truncation and
 * inverse-CDF walk as sampler.ts's `truncate` + walk (tokens in descending probability, lower id
 * first on ties), where a JS sort of all 49152 ids cost ~20 ms per sampled token. The walk and the
 * top-p cut only ever read a prefix of that order, so only a prefix is sorted: one pass buckets the
 * tokens by logprob below the best (1/16 nat wide) and adds up each bucket's mass; the first
 * buckets whose mass covers what the rule needs form a threshold set {logp >= t}, which is
 * exactly a prefix of the full order; that set is sorted and walked. Whenever the walk runs off
 * the set (rounding), this returns nothing and the caller takes the full path.
 *
 * Same draws as the full path, except where the full path's normaliser z is a sum over every token
 * in probability order: here it is summed in index order (a few ulps apart), which can only change
 * a draw whose u lies within that distance of a boundary. With top-p or min-p the kept tokens'
 * own sum (the walk's normaliser) is taken in the same order as the full path: identical draws.
 * Not used for top-k (its candidate set is already small) or small vocabularies (V < 2048).
 * Scratch buffers are reused across calls (no per-token allocation of V-sized arrays).
 */
import type { SamplingParams } from './params';

const MIN_VOCAB = 2048;
const BUCKETS_PER_NAT = 16;
const NUM_BUCKETS = 1024; // 64 nats; everything further down (and masked tokens) shares the last bucket

let probs = new Float64Array(0);
let bucketOf = new Uint16Array(0);
const bucketMass = new Float64Array(NUM_BUCKETS + 1);

/** The token the inverse CDF over (ids, p / z) picks for u, or undefined if the walk runs off the end. */
export function walkCdf(ids: readonly number[], p: ArrayLike<number>, z: number, u: number): number | undefined {
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += p[ids[i]] / z;
    if (u < cum) return ids[i];
  }
  return undefined;
}

/**
 * The smallest threshold set {i : logp[i] >= t} (t on the bucket grid) whose mass reaches `mass`,
 * sorted by descending logp, lower id first: a prefix of the full order.
 */
function sortedPrefix(logp: Float64Array, m: number, mass: number): number[] {
  const V = logp.length;
  bucketMass.fill(0);
  for (let i = 0; i < V; i++) {
    const k = probs[i] > 0 ? Math.floor((m - logp[i]) * BUCKETS_PER_NAT) : NUM_BUCKETS;
    const b = k < NUM_BUCKETS ? k : NUM_BUCKETS;
    bucketOf[i] = b;
    bucketMass[b] += probs[i];
  }
  let last = NUM_BUCKETS;
  let cum = 0;
  for (let b = 0; b < NUM_BUCKETS; b++) {
    cum += bucketMass[b];
    if (cum >= mass * (1 + 1e-9)) {
      last = b;
      break;
    }
  }
  const ids: number[] = [];
  for (let i = 0; i < V; i++) if (bucketOf[i] <= last) ids.push(i);
  return ids.sort((a, b) => logp[b] - logp[a] || a - b);
}

/** The drawn token under top-p, min-p and u, or undefined when the full path must decide. */
export function drawFromHead(logp: Float64Array, p: SamplingParams, u: number): number | undefined {
  const V = logp.length;
  if ((p.topK ?? 0) > 0 || V < MIN_VOCAB) return undefined;
  if (probs.length < V) {
    probs = new Float64Array(V);
    bucketOf = new Uint16Array(V);
  }
  let m = -Infinity;
  let z = 0;
  for (let i = 0; i < V; i++) {
    if (logp[i] > m) m = logp[i];
    probs[i] = Math.exp(logp[i]);
    z += probs[i];
  }
  if (!(m > -Infinity)) return undefined;
  const topP = p.topP ?? 1;
  const minP = p.minP ?? 0;
  let kept: number[] | undefined;
  if (topP < 1) {
    const head = sortedPrefix(logp, m, topP * z);
    let cum = 0, n = 0;
    while (n < head.length && (n === 0 || cum < topP)) cum += probs[head[n++]] / z; // as `truncate`
    if (cum < topP) return undefined;
    kept = head.slice(0, n);
  }
  if (minP > 0) {
    const cut = minP * Math.exp(m); // relative to the most likely token
    if (!kept) {
      kept = [];
      for (let i = 0; i < V; i++) if (probs[i] >= cut) kept.push(i);
      kept.sort((a, b) => logp[b] - logp[a] || a - b);
    }
    const first = kept.findIndex((i) => probs[i] < cut);
    kept = kept.slice(0, Math.max(1, first === -1 ? kept.length : first));
  }
  if (kept) {
    let zk = 0;
    for (const i of kept) zk += probs[i]; // descending order, as the full path sums its kept tokens
    return walkCdf(kept, probs, zk, u);
  }
  return walkCdf(sortedPrefix(logp, m, u * z), probs, z, u);
}
