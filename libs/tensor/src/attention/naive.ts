/**
 * Reference scaled dot-product attention (Vaswani et al. 2017) that materialises the scores:
 *   out = softmax(Q K^T / sqrt(HS) + M) V,   M[t, j] = 0 if j <= queryOffset + t else -inf
 * per query head, with GQA head sharing (see ./shape). One head's full (T, S) score matrix is
 * held at a time; this is the readable reference the flash and paged kernels are tested against,
 * not a fast path.
 */
import { FloatArray } from '../tensor';
import { AttentionShape, resolveShape, visibleKeys } from './shape';

/** The causal mask (T, S) as additive values: 0 where query t may see key j, -Infinity elsewhere. */
export function causalMask(T: number, S: number, queryOffset = S - T): Float32Array {
  const m = new Float32Array(T * S);
  for (let t = 0; t < T; t++) for (let j = 0; j < S; j++) m[t * S + j] = j <= queryOffset + t ? 0 : -Infinity;
  return m;
}

/** out (T, NH, HS) = attention(q (T, NH, HS), k (S, NKV, HS), v (S, NKV, HS)). */
export function attentionNaive(out: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, shape: AttentionShape): void {
  const r = resolveShape('attentionNaive', out, q, k, v, shape);
  const { T, S, NH, NKV, HS, group, scale } = r;
  const scores = new Float64Array(T * S); // (T, S) for one head
  const acc = new Float64Array(HS);
  for (let h = 0; h < NH; h++) {
    const kvh = Math.floor(h / group);
    // scores = q_h k_h^T * scale + mask           (T, HS) x (HS, S) -> (T, S)
    for (let t = 0; t < T; t++) {
      const qo = (t * NH + h) * HS;
      const seen = visibleKeys(r, t);
      for (let j = 0; j < S; j++) {
        if (j >= seen) {
          scores[t * S + j] = -Infinity;
          continue;
        }
        const ko = (j * NKV + kvh) * HS;
        let s = 0;
        for (let d = 0; d < HS; d++) s += q[qo + d] * k[ko + d];
        scores[t * S + j] = s * scale;
      }
    }
    // p = softmax(scores) row-wise (max-subtracted); out_h = p v_h     (T, S) x (S, HS) -> (T, HS)
    for (let t = 0; t < T; t++) {
      const row = t * S;
      let m = -Infinity;
      for (let j = 0; j < S; j++) if (scores[row + j] > m) m = scores[row + j];
      let sum = 0;
      for (let j = 0; j < S; j++) {
        const e = scores[row + j] === -Infinity ? 0 : Math.exp(scores[row + j] - m);
        scores[row + j] = e;
        sum += e;
      }
      const oo = (t * NH + h) * HS;
      acc.fill(0);
      for (let j = 0; j < S; j++) {
        const pj = scores[row + j];
        if (pj === 0) continue;
        const vo = (j * NKV + kvh) * HS;
        for (let d = 0; d < HS; d++) acc[d] += pj * v[vo + d];
      }
      for (let d = 0; d < HS; d++) out[oo + d] = acc[d] / sum;
    }
  }
}
