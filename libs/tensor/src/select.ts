/**
 * Gather and selection kernels: embedding lookup (a row gather from a (V, C) table),
 * top-k (largest values with their indices) and argmax.
 * Ties are broken towards the lower index, so results are deterministic.
 */
import { FloatArray, checkLength } from './tensor';

/** out (T, C) = table[ids[t], :] for a table (V, C). Ids outside [0, V) are an error. */
export function embedding(out: FloatArray, table: FloatArray, ids: ArrayLike<number>, V: number, C: number): void {
  checkLength('embedding table', table, V * C);
  checkLength('embedding out', out, ids.length * C);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(`token id ${id} at position ${t} is out of range (expected an integer in [0, ${V}), the vocab size)`);
    }
    out.set(table.subarray(id * C, id * C + C), t * C);
  }
}

export interface TopK {
  /** indices of the k largest values, largest first (ties: lower index first) */
  indices: Int32Array;
  values: Float64Array;
}

/** The k largest of values[0 .. n), sorted descending. k is clamped to n. */
export function topK(values: ArrayLike<number>, k: number, n: number = values.length): TopK {
  if (!Number.isInteger(k) || k < 0) throw new Error(`topK: k=${k} is invalid (expected a non-negative integer)`);
  checkLength('topK values', values, n);
  k = Math.min(k, n);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  if (k === 0) return { indices: idx, values: val };
  if (k > 64) return topKBySort(values, k, n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) continue; // NaN never ranks
    if (size === k && !(v > val[k - 1])) continue;
    // insertion: shift smaller entries right (equal values keep the earlier, lower index ahead)
    let p = size < k ? size++ : k - 1;
    while (p > 0 && val[p - 1] < v) {
      val[p] = val[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    val[p] = v;
    idx[p] = i;
  }
  return { indices: idx.subarray(0, size), values: val.subarray(0, size) };
}

function topKBySort(values: ArrayLike<number>, k: number, n: number): TopK {
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (values[i] === values[i]) order.push(i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  const m = Math.min(k, order.length);
  const indices = new Int32Array(m);
  const vals = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    indices[i] = order[i];
    vals[i] = values[order[i]];
  }
  return { indices, values: vals };
}

/** Index of the largest of values[off .. off+n) relative to off (lowest index on ties; NaN never wins; -1 if none). */
export function argmax(values: ArrayLike<number>, off = 0, n: number = values.length - off): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[off + i];
    if (v !== v) continue;
    if (best < 0 || v > bv) {
      best = i;
      bv = v;
    }
  }
  return best;
}
