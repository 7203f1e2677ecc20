/*
 * Cross-entropy fused with log-softmax over (N, V) logits, as PyTorch's
 * F.cross_entropy(logits, targets, ignore_index, label_smoothing) with mean reduction:
 *   loss = (1/N') Σ_n −Σ_v q_{n,v} · log softmax(logits_n)_v,
 *   q = (1 − ε) · onehot(target) + ε / V,   N' = rows whose target is not ignoreIndex.
 * Backward: dlogits_n = (softmax(logits_n) − q_n) / N'  (0 for ignored rows).
 *
 * Keeps the (N, V) probabilities from the forward pass for the backward pass.
 */
import { alloc, makeOut, Var } from '../autograd/var';

export interface CrossEntropyOpts {
  /** Targets equal to this are padding: no loss, no gradient (PyTorch default −100). */
  ignoreIndex?: number;
  /** ε in [0, 1): mass spread uniformly over the vocabulary. */
  labelSmoothing?: number;
}

export function crossEntropy(logits: Var, targets: Int32Array, V: number, opts: CrossEntropyOpts = {}): Var {
  const ignore = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1), got ${eps}`);
  const N = targets.length;
  if (logits.size !== N * V) throw new Error(`crossEntropy: logits have ${logits.size} values, expected N=${N} x V=${V}`);
  const probs = alloc(logits.dtype, N * V); // softmax(logits_n), kept for the backward pass
  let count = 0;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const tgt = targets[n];
    if (tgt === ignore) continue;
    if (!(tgt >= 0 && tgt < V)) throw new Error(`crossEntropy: target ${tgt} at row ${n} is outside [0, ${V})`);
    const o = n * V;
    let m = -Infinity;
    let sumLogits = 0;
    for (let v = 0; v < V; v++) {
      const z = logits.data[o + v];
      if (z > m) m = z;
      sumLogits += z;
    }
    let s = 0;
    for (let v = 0; v < V; v++) s += probs[o + v] = Math.exp(logits.data[o + v] - m);
    const inv = 1 / s;
    for (let v = 0; v < V; v++) probs[o + v] *= inv;
    const lse = m + Math.log(s); // log Σ exp(logits_n)
    // −Σ q log p = lse − (1 − ε) · logit_target − (ε / V) · Σ_v logit_v
    total += lse - (1 - eps) * logits.data[o + tgt] - (eps / V) * sumLogits;
    count++;
  }
  const y = alloc(logits.dtype, 1);
  y[0] = count > 0 ? total / count : 0;
  const out: Var = makeOut(y, [], [logits], () => {
    if (count === 0) return;
    const scale = out.grad![0] / count;
    const g = logits.gradBuf();
    const off = eps / V;
    for (let n = 0; n < N; n++) {
      const tgt = targets[n];
      if (tgt === ignore) continue;
      const o = n * V;
      // dlogits = softmax(logits) − q, scaled by 1/N'
      for (let v = 0; v < V; v++) g[o + v] += scale * (probs[o + v] - off);
      g[o + tgt] -= scale * (1 - eps);
    }
  });
  return out;
}

