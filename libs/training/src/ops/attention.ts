/*
 * Causal scaled dot-product attention with grouped-query heads, forward and backward:
 *   O = softmax(Q Kᵀ / sqrt(HS) + causal_mask) V      (Vaswani et al. 2017)
 * GQA (Ainslie et al. 2023): query head h reads kv head h / G, G = NH / NKV. The G query
 * heads of one kv head are stacked into one (G·T, HS) block, so each kv head is one gemm
 * and K/V are never repeated. The scores are materialised (B, NH, T, T): training windows
 * are short; the inference library has the tiled flash kernel.
 *
 * Not supporting padding masks or a KV cache: every row of a window attends to its prefix.
 */
import type { MatmulEngine } from '../autograd/engine';
import { alloc, type Arr, makeOut, Var } from '../autograd/var';

export interface AttnDims {
  B: number;
  T: number;
  NH: number;
  NKV: number;
  HS: number;
}

/**
 * (B·T, H·HS) rows -> head-major blocks (B, NKV, G, T, HS) (G = 1 for K and V), or back with
 * `back` (dst += block values when accumulating, the gradient direction).
 */
function toHeads(src: Arr, dst: Arr, d: AttnDims, H: number, G: number, accumulate: boolean, back: boolean): void {
  const { B, T, HS } = d;
  const NKV = H / G;
  for (let b = 0; b < B; b++)
    for (let kh = 0; kh < NKV; kh++)
      for (let j = 0; j < G; j++)
        for (let t = 0; t < T; t++) {
          const row = (b * T + t) * H * HS + (kh * G + j) * HS;
          const blk = (((b * NKV + kh) * G + j) * T + t) * HS;
          if (!back) dst.set(src.subarray(row, row + HS), blk);
          else if (!accumulate) dst.set(src.subarray(blk, blk + HS), row);
          else for (let e = 0; e < HS; e++) dst[row + e] += src[blk + e];
        }
}

// P = softmax(scale · S) over the causal prefix of each row; row r of a block is token t = r mod T.
function causalSoftmax(S: Arr, rows: number, T: number, scale: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * T;
    const t = r % T;
    let m = -Infinity;
    for (let j = 0; j <= t; j++) m = Math.max(m, S[o + j] * scale);
    let s = 0;
    for (let j = 0; j <= t; j++) s += S[o + j] = Math.exp(S[o + j] * scale - m);
    for (let j = 0; j <= t; j++) S[o + j] /= s;
    for (let j = t + 1; j < T; j++) S[o + j] = 0;
  }
}

/**
 * q (B·T, NH·HS), k and v (B·T, NKV·HS) -> (B·T, NH·HS).
 * Backward: dP = dO Vᵀ;  dV = Pᵀ dO;  dS = P ⊙ (dP − rowsum(P ⊙ dP)) / sqrt(HS);  dQ = dS K;  dK = dSᵀ Q.
 */
export async function causalAttention(engine: MatmulEngine, q: Var, k: Var, v: Var, d: AttnDims): Promise<Var> {
  const { B, T, NH, NKV, HS } = d;
  if (NH % NKV !== 0) throw new Error(`causalAttention: NH=${NH} is not a multiple of NKV=${NKV}`);
  if (q.size !== B * T * NH * HS || k.size !== B * T * NKV * HS || v.size !== k.size) {
    throw new Error(`causalAttention: q/k/v sizes do not match B=${B} T=${T} NH=${NH} NKV=${NKV} HS=${HS}`);
  }
  const G = NH / NKV;
  const nb = B * NKV;
  const dt = q.dtype;
  const scale = 1 / Math.sqrt(HS);
  const Qg = alloc(dt, q.size);
  const Kh = alloc(dt, k.size);
  const Vh = alloc(dt, v.size);
  toHeads(q.data, Qg, d, NH, G, false, false); // (B, NKV, G·T, HS)
  toHeads(k.data, Kh, d, NKV, 1, false, false); // (B, NKV, T, HS)
  toHeads(v.data, Vh, d, NKV, 1, false, false);
  const P = alloc(dt, nb * G * T * T); // (B, NKV, G·T, T) = (B, NH, T, T)
  await engine.bgemm(P, Qg, Kh, nb, G * T, HS, T, { transB: true }); // (G·T, HS) x (HS, T)
  causalSoftmax(P, nb * G * T, T, scale);
  const Og = alloc(dt, q.size);
  await engine.bgemm(Og, P, Vh, nb, G * T, T, HS); // (G·T, T) x (T, HS) -> (G·T, HS)
  const y = alloc(dt, q.size);
  toHeads(Og, y, d, NH, G, false, true);

  const out: Var = makeOut(y, [B * T, NH * HS], [q, k, v], async () => {
    const dOg = alloc(dt, q.size);
    toHeads(out.grad!, dOg, d, NH, G, false, false);
    if (v.requiresGrad) {
      const dVh = alloc(dt, v.size);
      await engine.bgemm(dVh, P, dOg, nb, T, G * T, HS, { transA: true }); // Pᵀ (T, G·T) x dO (G·T, HS)
      toHeads(dVh, v.gradBuf(), d, NKV, 1, true, true);
    }
    if (!q.requiresGrad && !k.requiresGrad) return;
    const dS = alloc(dt, P.length);
    await engine.bgemm(dS, dOg, Vh, nb, G * T, HS, T, { transB: true }); // dP = dO Vᵀ
    for (let r = 0; r < nb * G * T; r++) {
      const o = r * T;
      let dot = 0;
      for (let j = 0; j < T; j++) dot += P[o + j] * dS[o + j];
      for (let j = 0; j < T; j++) dS[o + j] = P[o + j] * (dS[o + j] - dot) * scale;
    }
    if (q.requiresGrad) {
      const dQg = alloc(dt, q.size);
      await engine.bgemm(dQg, dS, Kh, nb, G * T, T, HS); // dS (G·T, T) x K (T, HS)
      toHeads(dQg, q.gradBuf(), d, NH, G, true, true);
    }
    if (k.requiresGrad) {
      const dKh = alloc(dt, k.size);
      await engine.bgemm(dKh, dS, Qg, nb, T, G * T, HS, { transA: true }); // dSᵀ (T, G·T) x Q (G·T, HS)
      toHeads(dKh, k.gradBuf(), d, NKV, 1, true, true);
    }
  });
  return out;
}
