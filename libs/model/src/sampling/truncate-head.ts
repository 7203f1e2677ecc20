/*
 * Sampling over a large vocabulary without sorting it: the same top-p / min-p truncation and
 * inverse-CDF walk as sampler.ts's `truncate` + walk (tokens in descending probability, lower id
 * first on ties), where a JS sort of all 49152 ids cost ~20 ms per sampled token. A walk in that
 * order only needs to know where its running sum crosses a target, so: one pass buckets the
 * candidates by logprob below the best (1/64 nat wide) and adds up each bucket's probability;
 * buckets before the crossing one are taken whole (their order does not change which token the
 * walk stops at), and only the crossing bucket is sorted and walked token by token.
 *
 * Same draws as the full path, except that running sums and normalisers add the same numbers in
 * another order (a few ulps apart), which can only change a draw whose u (or a top-p cut whose
 * mass) lies within that distance of a boundary between two tokens. Whenever the walk runs off its
 * candidates (rounding), this returns nothing and the caller takes the full path.
 * Not used for top-k (its candidate set is already small) or small vocabularies (V < 2048).
 * Scratch buffers are reused across calls (no per-token allocation of V-sized arrays).
 */
import type { SamplingParams } from './params';

const MIN_VOCAB = 2048;
const BUCKETS_PER_NAT = 64;
const NUM_BUCKETS = 4096; // 64 nats; everything further down (and masked tokens) shares the last bucket

let probs = new Float64Array(0);
let bucketOf = new Uint16Array(0);
const bucketMass = new Float64Array(NUM_BUCKETS + 1);

/** The token the inverse CDF over (ids in order, p / z) picks for u, or undefined if the walk runs off the end. */
export function walkCdf(ids: readonly number[], p: ArrayLike<number>, z: number, u: number): number | undefined {
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += p[ids[i]] / z;
    if (u < cum) return ids[i];
  }
  return undefined;
}

interface Crossing {
  /** Candidates in buckets before the crossing bucket (unordered) and their summed p / z. */
  before: number[];
  cumBefore: number;
  /** The crossing bucket's candidates, in walk order (descending logp, lower id first). */
  bucket: number[];
}

/** Where a walk over `ids` (null: every token) in descending-logp order, adding p / z, reaches `target` (see the file comment). */
function crossing(ids: readonly number[] | null, logp: Float64Array, m: number, z: number, target: number): Crossing {
  bucketMass.fill(0);
  const n = ids ? ids.length : logp.length;
  for (let j = 0; j < n; j++) {
    const i = ids ? ids[j] : j;
    const q = probs[i];
    const k = q > 0 ? Math.floor((m - logp[i]) * BUCKETS_PER_NAT) : NUM_BUCKETS;
    const b = k < NUM_BUCKETS ? k : NUM_BUCKETS;
    bucketOf[i] = b;
    bucketMass[b] += q / z;
  }
  let cross = NUM_BUCKETS;
  let cumBefore = 0;
  for (let b = 0; b < NUM_BUCKETS; b++) {
    if (cumBefore + bucketMass[b] > target) {
      cross = b;
      break;
    }
    cumBefore += bucketMass[b];
  }
  const before: number[] = [];
  const bucket: number[] = [];
  for (let j = 0; j < n; j++) {
    const i = ids ? ids[j] : j;
    if (bucketOf[i] < cross) before.push(i);
    else if (bucketOf[i] === cross) bucket.push(i);
  }
  bucket.sort((a, b) => logp[b] - logp[a] || a - b);
  return { before, cumBefore, bucket };
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
  let kept: number[] | null = null; // null: every token
  const topP = p.topP ?? 1;
  if (topP < 1) {
    // as `truncate`: the shortest prefix whose mass reaches topP (at least one token)
    const c = crossing(null, logp, m, z, topP);
    let cum = c.cumBefore, n = 0;
    while (n < c.bucket.length && ((c.before.length === 0 && n === 0) || cum < topP)) cum += probs[c.bucket[n++]] / z;
    if (cum < topP && n === c.bucket.length) return undefined;
    kept = [...c.before, ...c.bucket.slice(0, n)];
  }
  const minP = p.minP ?? 0;
  if (minP > 0) {
    const cut = minP * Math.exp(m); // relative to the most likely token, which is always kept
    const from = kept ?? Array.from({ length: V }, (_, i) => i);
    const best = from.reduce((a, i) => (logp[i] > logp[a] || (logp[i] === logp[a] && i < a) ? i : a), from[0]);
    kept = from.filter((i) => i === best || probs[i] >= cut);
  }
  let zk = 0;
  if (kept === null) zk = z;
  else for (const i of kept) zk += probs[i];
  const c = crossing(kept, logp, m, zk, u);
  return walkFrom(c, zk, u);
}

/** Continues the walk into the crossing bucket. */
function walkFrom(c: Crossing, z: number, u: number): number | undefined {
  let cum = c.cumBefore;
  for (const i of c.bucket) {
    cum += probs[i] / z;
    if (u < cum) return i;
  }
  return undefined;
}
