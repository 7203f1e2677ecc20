/**
 * Straightforward per-token references for the MoE tests: softmax (or sigmoid), sort, pick,
 * weight, sum — written independently of the library's flat, fused code paths.
 */
export function rng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export interface RefGating {
  k: number;
  scoring?: 'softmax' | 'sigmoid';
  norm?: boolean;
  numGroups?: number;
  topkGroups?: number;
  bias?: number[];
  scale?: number;
}

/** One token: returns [expert ids best first, weights, probs for stats]. */
export function refGateToken(logits: number[], g: RefGating): { ids: number[]; weights: number[]; probs: number[] } {
  const E = logits.length;
  let scores: number[];
  if ((g.scoring ?? 'softmax') === 'softmax') {
    const m = Math.max(...logits);
    const ex = logits.map((z) => Math.exp(z - m));
    const s = ex.reduce((a, b) => a + b, 0);
    scores = ex.map((v) => v / s);
  } else {
    scores = logits.map((z) => 1 / (1 + Math.exp(-z)));
  }
  const sel = scores.map((s, e) => s + (g.bias ? g.bias[e] : 0));
  const G = g.numGroups ?? 1;
  const size = E / G;
  let allowed = new Set(Array.from({ length: E }, (_, e) => e));
  if ((g.topkGroups ?? G) < G) {
    const groupScores = Array.from({ length: G }, (_, gi) => {
      const members = sel.slice(gi * size, (gi + 1) * size).sort((a, b) => b - a);
      return members.slice(0, Math.min(2, size)).reduce((a, b) => a + b, 0);
    });
    const order = groupScores.map((s, gi) => ({ s, gi })).sort((a, b) => b.s - a.s || a.gi - b.gi);
    const keep = order.slice(0, g.topkGroups).map((o) => o.gi);
    allowed = new Set([...allowed].filter((e) => keep.includes(Math.floor(e / size))));
  }
  const ranked = [...allowed].map((e) => ({ e, s: sel[e] })).sort((a, b) => b.s - a.s || a.e - b.e);
  const ids = ranked.slice(0, g.k).map((r) => r.e);
  let weights = ids.map((e) => scores[e]);
  if (g.norm ?? true) {
    const s = weights.reduce((a, b) => a + b, 0);
    weights = weights.map((w) => w / s);
  }
  weights = weights.map((w) => w * (g.scale ?? 1));
  const total = scores.reduce((a, b) => a + b, 0);
  const probs = g.scoring === 'sigmoid' ? scores.map((s) => s / total) : scores;
  return { ids, weights, probs };
}

export interface RefExpert {
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
}

/** expert(x) = w2 (silu(w1 x) * w3 x) for one token, as nested loops over number[]. */
export function refExpert(x: number[], w: RefExpert, C: number, I: number): number[] {
  const h: number[] = [];
  for (let i = 0; i < I; i++) {
    let a = 0;
    let b = 0;
    for (let c = 0; c < C; c++) {
      a += w.w1[i * C + c] * x[c];
      b += w.w3[i * C + c] * x[c];
    }
    h.push((a * b) / (1 + Math.exp(-a)));
  }
  const y: number[] = [];
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < I; i++) acc += w.w2[c * I + i] * h[i];
    y.push(acc);
  }
  return y;
}

export function refLogits(x: number[], router: Float32Array, E: number, C: number): number[] {
  return Array.from({ length: E }, (_, e) => x.reduce((acc, v, c) => acc + v * router[e * C + c], 0));
}

/** The whole MoE block for T tokens, dropless. */
export function refMoe(
  hidden: Float32Array,
  T: number,
  C: number,
  I: number,
  router: Float32Array,
  experts: RefExpert[],
  g: RefGating,
): Float32Array {
  const E = experts.length;
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    const x = Array.from(hidden.subarray(t * C, (t + 1) * C));
    const { ids, weights } = refGateToken(refLogits(x, router, E, C), g);
    ids.forEach((e, j) => {
      const y = refExpert(x, experts[e], C, I);
      for (let c = 0; c < C; c++) out[t * C + c] += weights[j] * y[c];
    });
  }
  return out;
}

export function randomExperts(E: number, C: number, I: number, rand: () => number): RefExpert[] {
  return Array.from({ length: E }, () => ({
    w1: randn(I * C, rand, 0.5),
    w2: randn(C * I, rand, 0.5),
    w3: randn(I * C, rand, 0.5),
  }));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
