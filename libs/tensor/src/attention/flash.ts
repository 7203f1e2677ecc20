/**
 * Flash attention (Dao et al. 2022, FlashAttention; Milakov & Gimelshein 2018, online softmax):
 * the same result as ./naive without ever holding a T x S score matrix. Queries are processed in
 * tiles of Br rows, keys in tiles of Bk columns; per query row we keep a running max m, a running
 * denominator l and an unnormalised output acc (HS), and fold each key tile in:
 *   S_tile = q K_tile^T * scale (+ causal mask)
 *   m' = max(m, rowmax(S_tile));   P = e^(S_tile - m')
 *   l' = e^(m - m') l + rowsum(P); acc' = e^(m - m') acc + P V_tile
 *   out = acc / l  after the last tile.
 * Scratch is O(Br * (Bk + HS)) whatever T and S are. Key tiles entirely above the causal
 * diagonal of a query tile are skipped. This is the readable CPU version of the algorithm,
 * not a SIMD kernel.
 */
import { FloatArray } from '../tensor';
import { AttentionShape, ResolvedShape, resolveShape, visibleKeys } from './shape';

export interface FlashOptions {
  /** Br: query rows per tile (default 16) */
  blockQ?: number;
  /** Bk: keys per tile (default 64) */
  blockK?: number;
}

interface Scratch {
  s: Float64Array; // (Br, Bk) one score tile
  m: Float64Array; // (Br) running max
  l: Float64Array; // (Br) running denominator
  acc: Float64Array; // (Br, HS) unnormalised output
}

/** out (T, NH, HS) = attention(q (T, NH, HS), k (S, NKV, HS), v (S, NKV, HS)), tiled with online softmax. */
export function attentionFlash(out: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, shape: AttentionShape, opts: FlashOptions = {}): void {
  const r = resolveShape('attentionFlash', out, q, k, v, shape);
  const Br = opts.blockQ ?? 16;
  const Bk = opts.blockK ?? 64;
  if (!(Number.isInteger(Br) && Br > 0 && Number.isInteger(Bk) && Bk > 0)) {
    throw new Error(`attentionFlash: blockQ=${Br}, blockK=${Bk} are invalid (expected positive integers)`);
  }
  const sc: Scratch = { s: new Float64Array(Br * Bk), m: new Float64Array(Br), l: new Float64Array(Br), acc: new Float64Array(Br * r.HS) };
  for (let h = 0; h < r.NH; h++) {
    for (let t0 = 0; t0 < r.T; t0 += Br) {
      const rows = Math.min(Br, r.T - t0);
      sc.m.fill(-Infinity);
      sc.l.fill(0);
      sc.acc.fill(0);
      const keyEnd = visibleKeys(r, t0 + rows - 1); // the last row of the tile sees the most keys
      for (let j0 = 0; j0 < keyEnd; j0 += Bk) {
        foldKeyTile(q, k, v, r, h, t0, rows, j0, Math.min(Bk, keyEnd - j0), Bk, sc);
      }
      for (let i = 0; i < rows; i++) {
        const oo = ((t0 + i) * r.NH + h) * r.HS;
        const inv = 1 / sc.l[i]; // out = acc / l
        for (let d = 0; d < r.HS; d++) out[oo + d] = sc.acc[i * r.HS + d] * inv;
      }
    }
  }
}

/** Folds keys j0 .. j0+cols-1 into the running (m, l, acc) of query rows t0 .. t0+rows-1 of head h. */
function foldKeyTile(q: FloatArray, k: FloatArray, v: FloatArray, r: ResolvedShape, h: number, t0: number, rows: number, j0: number, cols: number, Bk: number, sc: Scratch): void {
  const { NH, NKV, HS, scale } = r;
  const kvh = Math.floor(h / r.group);
  for (let i = 0; i < rows; i++) {
    const seen = visibleKeys(r, t0 + i) - j0; // keys of this tile row i may see
    if (seen <= 0) continue;
    const n = Math.min(cols, seen);
    const qo = ((t0 + i) * NH + h) * HS;
    const so = i * Bk;
    // S_tile[i, :] = q_i K_tile^T * scale; tile max
    let tileMax = -Infinity;
    for (let c = 0; c < n; c++) {
      const ko = ((j0 + c) * NKV + kvh) * HS;
      let s = 0;
      for (let d = 0; d < HS; d++) s += q[qo + d] * k[ko + d];
      s *= scale;
      sc.s[so + c] = s;
      if (s > tileMax) tileMax = s;
    }
    // m' = max(m, rowmax); rescale l and acc by e^(m - m')
    const mOld = sc.m[i];
    const mNew = mOld > tileMax ? mOld : tileMax;
    const corr = Math.exp(mOld - mNew); // e^(-inf) = 0 on the first tile
    const ao = i * HS;
    if (corr !== 1) for (let d = 0; d < HS; d++) sc.acc[ao + d] *= corr;
    let l = sc.l[i] * corr;
    // P = e^(S - m'); l += rowsum(P); acc += P V_tile
    for (let c = 0; c < n; c++) {
      const p = Math.exp(sc.s[so + c] - mNew);
      l += p;
      const vo = ((j0 + c) * NKV + kvh) * HS;
      for (let d = 0; d < HS; d++) sc.acc[ao + d] += p * v[vo + d];
    }
    sc.l[i] = l;
    sc.m[i] = mNew;
  }
}
