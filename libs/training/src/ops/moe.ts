/*
 * Mixture-of-experts ops with gradients, Mixtral-style (Jiang et al. 2024, HF
 * MixtralSparseMoeBlock): router softmax, top-k, renormalise; per-expert outputs combined
 * with the gate weights; and the Switch-Transformer load-balancing loss (Fedus et al. 2021)
 * in the form HF's load_balancing_loss_func computes for one layer.
 *
 * Not doing capacity limits or token dropping (training is dropless), and the top-k
 * choice itself is not differentiated (it is piecewise constant).
 */
import { alloc, makeOut, Var } from '../autograd/var';

/** Top-k expert ids per token, highest logit first; ties go to the lower expert id. */
export function topKRows(logits: ArrayLike<number>, N: number, E: number, k: number): Int32Array {
  if (!(k >= 1 && k <= E)) throw new Error(`topK: k=${k} must be in [1, ${E}]`);
  const sel = new Int32Array(N * k);
  const idx = Array.from({ length: E }, (_, i) => i);
  for (let n = 0; n < N; n++) {
    const o = n * E;
    idx.sort((a, b) => logits[o + b] - logits[o + a] || a - b);
    for (let j = 0; j < k; j++) sel[n * k + j] = idx[j];
  }
  return sel;
}

export interface MoeGate {
  /** (N, E) gate weights: renormalised top-k probabilities, 0 for unselected experts. */
  gates: Var;
  /** (N, k) chosen expert ids. */
  selected: Int32Array;
}

/**
 * gates[t, i] = p_i / Σ_{j∈S_t} p_j for i in the top-k set S_t, p = softmax(logits_t), else 0.
 * That equals a softmax over the selected logits, so with w = gates[t]:
 * Backward: dlogit_i = w_i · (dw_i − Σ_{j∈S} w_j dw_j) for i ∈ S, 0 otherwise.
 */
export function moeGate(logits: Var, E: number, k: number): MoeGate {
  const N = logits.size / E;
  const selected = topKRows(logits.data, N, E, k);
  const g = alloc(logits.dtype, N * E);
  for (let n = 0; n < N; n++) {
    const o = n * E;
    const m = logits.data[o + selected[n * k]];
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits.data[o + selected[n * k + j]] - m);
    for (let j = 0; j < k; j++) {
      const e = selected[n * k + j];
      g[o + e] = Math.exp(logits.data[o + e] - m) / s;
    }
  }
  const gates: Var = makeOut(g, [N, E], [logits], () => {
    const dw = gates.grad!;
    const gl = logits.gradBuf();
    for (let n = 0; n < N; n++) {
      const o = n * E;
      let dot = 0;
      for (let j = 0; j < k; j++) dot += g[o + selected[n * k + j]] * dw[o + selected[n * k + j]];
      for (let j = 0; j < k; j++) {
        const e = selected[n * k + j];
        gl[o + e] += g[o + e] * (dw[o + e] - dot);
      }
    }
  });
  return { gates, selected };
}

/** Token rows routed to each expert, in token order: rows[e] lists t with e ∈ S_t. */
export function rowsPerExpert(selected: Int32Array, N: number, E: number, k: number): Int32Array[] {
  const lists: number[][] = Array.from({ length: E }, () => []);
  for (let n = 0; n < N; n++) for (let j = 0; j < k; j++) lists[selected[n * k + j]].push(n);
  return lists.map((l) => Int32Array.from(l));
}

/**
 * y (N, C): y[t] = Σ_e gates[t, e] · ys[e][r] where rows[e][r] = t.
 * Backward: dys[e][r] = gates[t, e] · dy[t];  dgates[t, e] += dy[t] · ys[e][r].
 */
export function moeCombine(ys: Var[], rows: Int32Array[], gates: Var, N: number, C: number): Var {
  const E = rows.length;
  if (gates.size !== N * E || ys.length !== E) throw new Error(`moeCombine: expected ${E} experts and gates (${N}, ${E})`);
  const y = alloc(gates.dtype, N * C);
  for (let e = 0; e < E; e++) {
    if (ys[e].size !== rows[e].length * C) throw new Error(`moeCombine: expert ${e} output has ${ys[e].size} values, expected ${rows[e].length}·${C}`);
    for (let r = 0; r < rows[e].length; r++) {
      const t = rows[e][r];
      const w = gates.data[t * E + e];
      for (let c = 0; c < C; c++) y[t * C + c] += w * ys[e].data[r * C + c];
    }
  }
  const out: Var = makeOut(y, [N, C], [...ys, gates], () => {
    const dy = out.grad!;
    const gg = gates.requiresGrad ? gates.gradBuf() : null;
    for (let e = 0; e < E; e++) {
      const ye = ys[e];
      const gy = ye.requiresGrad ? ye.gradBuf() : null;
      for (let r = 0; r < rows[e].length; r++) {
        const t = rows[e][r];
        const w = gates.data[t * E + e];
        let dot = 0;
        for (let c = 0; c < C; c++) {
          if (gy) gy[r * C + c] += w * dy[t * C + c];
          dot += dy[t * C + c] * ye.data[r * C + c];
        }
        if (gg) gg[t * E + e] += dot;
      }
    }
  });
  return out;
}

/**
 * Load-balancing loss of one MoE layer: L = E · Σ_i f_i · P_i with
 * f_i = (tokens whose top-k contains i) / N (a constant) and P_i = mean_t softmax(logits_t)_i.
 * Uniform routing gives L = k. Backward: dp_{t,i} = E · f_i / N · dL, then through the softmax:
 * dlogits_t = p_t ⊙ (dp_t − Σ_i p_{t,i} dp_{t,i}).
 */
export function moeAuxLoss(logits: Var, E: number, k: number, selected: Int32Array): Var {
  const N = logits.size / E;
  const f = new Float64Array(E);
  for (let i = 0; i < selected.length; i++) f[selected[i]] += 1 / N;
  const p = new Float64Array(N * E);
  const P = new Float64Array(E);
  for (let n = 0; n < N; n++) {
    const o = n * E;
    let m = -Infinity;
    for (let e = 0; e < E; e++) m = Math.max(m, logits.data[o + e]);
    let s = 0;
    for (let e = 0; e < E; e++) s += p[o + e] = Math.exp(logits.data[o + e] - m);
    for (let e = 0; e < E; e++) {
      p[o + e] /= s;
      P[e] += p[o + e] / N;
    }
  }
  const y = alloc(logits.dtype, 1);
  for (let e = 0; e < E; e++) y[0] += E * f[e] * P[e];
  const out: Var = makeOut(y, [], [logits], () => {
    const dL = out.grad![0];
    const gl = logits.gradBuf();
    for (let n = 0; n < N; n++) {
      const o = n * E;
      let dot = 0;
      for (let e = 0; e < E; e++) dot += p[o + e] * ((E * f[e]) / N) * dL;
      for (let e = 0; e < E; e++) gl[o + e] += p[o + e] * (((E * f[e]) / N) * dL - dot);
    }
  });
  return out;
}
