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
  const kStride = NKV * HS; // from key j to key j+1
  const base = (j0 * NKV + kvh) * HS; // key j0 of this kv head
  for (let i = 0; i < rows; i++) {
    const seen = visibleKeys(r, t0 + i) - j0; // keys of this tile row i may see
    if (seen <= 0) continue;
    const n = Math.min(cols, seen);
    const qo = ((t0 + i) * NH + h) * HS;
    const so = i * Bk;
    // S_tile[i, :] = q_i K_tile^T * scale
    scoreRow(q, qo, k, base, kStride, HS, n, scale, sc.s, so);
    let tileMax = -Infinity;
    for (let c = 0; c < n; c++) if (sc.s[so + c] > tileMax) tileMax = sc.s[so + c];
    // m' = max(m, rowmax); rescale l and acc by e^(m - m')
    const mOld = sc.m[i];
    const mNew = mOld > tileMax ? mOld : tileMax;
    const corr = Math.exp(mOld - mNew); // e^(-inf) = 0 on the first tile
    const ao = i * HS;
    if (corr !== 1) for (let d = 0; d < HS; d++) sc.acc[ao + d] *= corr;
    // P = e^(S - m'); l = corr * l + rowsum(P)
    let l = sc.l[i] * corr;
    for (let c = 0; c < n; c++) {
      const pc = Math.exp(sc.s[so + c] - mNew);
      sc.s[so + c] = pc;
      l += pc;
    }
    sc.l[i] = l;
    sc.m[i] = mNew;
    // acc += P V_tile
    accumulateRow(sc.s, so, v, base, kStride, HS, n, sc.acc, ao);
  }
}

/** s[so + c] = scale * q[qo ..] . k[kb + c * stride ..] for c < n, four keys per pass sharing each q load. */
function scoreRow(q: FloatArray, qo: number, k: FloatArray, kb: number, stride: number, HS: number, n: number, scale: number, s: Float64Array, so: number): void {
  let c = 0;
  for (; c + 3 < n; c += 4) {
    const k0 = kb + c * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = 0; d < HS; d++) {
      const x = q[qo + d];
      s0 += x * k[k0 + d];
      s1 += x * k[k1 + d];
      s2 += x * k[k2 + d];
      s3 += x * k[k3 + d];
    }
    s[so + c] = s0 * scale;
    s[so + c + 1] = s1 * scale;
    s[so + c + 2] = s2 * scale;
    s[so + c + 3] = s3 * scale;
  }
  for (; c < n; c++) {
    const k0 = kb + c * stride;
    let s0 = 0;
    for (let d = 0; d < HS; d++) s0 += q[qo + d] * k[k0 + d];
    s[so + c] = s0 * scale;
  }
}

/** acc[ao ..] += sum_c p[po + c] * v[vb + c * stride ..] for c < n, four values per pass sharing each acc update. */
function accumulateRow(p: Float64Array, po: number, v: FloatArray, vb: number, stride: number, HS: number, n: number, acc: Float64Array, ao: number): void {
  let c = 0;
  for (; c + 3 < n; c += 4) {
    const p0 = p[po + c], p1 = p[po + c + 1], p2 = p[po + c + 2], p3 = p[po + c + 3];
    const v0 = vb + c * stride, v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
    for (let d = 0; d < HS; d++) acc[ao + d] += p0 * v[v0 + d] + p1 * v[v1 + d] + p2 * v[v2 + d] + p3 * v[v3 + d];
  }
  for (; c < n; c++) {
    const pc = p[po + c], v0 = vb + c * stride;
    for (let d = 0; d < HS; d++) acc[ao + d] += pc * v[v0 + d];
  }
}
