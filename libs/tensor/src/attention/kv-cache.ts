/**
 * A contiguous per-sequence KV cache for incremental decoding: per layer, K and V of every token
 * seen so far, laid out (S, NKV, HS) so the attention kernels read it directly (rows < length).
 *
 *   forward over T new tokens:  start = cache.length
 *     layer l: cache.write(l, start, kNew, vNew, T)   then attend over cache.k[l], cache.v[l] with S = start + T
 *   after the last layer:       cache.advance(T)
 *
 * Capacity grows by doubling. Deliberately not: paging or sharing between sequences (that is the
 * worker's paged pool, ../paged); this cache is the single-sequence reference.
 */
export class KvCache {
  /** tokens whose K/V are committed for every layer */
  length = 0;
  private cap: number;
  private readonly ks: Float32Array[];
  private readonly vs: Float32Array[];

  constructor(
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    initialCapacity = 64,
  ) {
    for (const [name, val] of [['numLayers', numLayers], ['numKvHeads', numKvHeads], ['headDim', headDim], ['initialCapacity', initialCapacity]] as const) {
      if (!Number.isInteger(val) || val <= 0) throw new Error(`KvCache: ${name}=${val} is invalid (expected a positive integer)`);
    }
    this.cap = initialCapacity;
    const row = numKvHeads * headDim;
    this.ks = Array.from({ length: numLayers }, () => new Float32Array(initialCapacity * row));
    this.vs = Array.from({ length: numLayers }, () => new Float32Array(initialCapacity * row));
  }

  get capacity(): number {
    return this.cap;
  }

  /** K of layer l: (capacity, NKV, HS), rows < length (+ rows written this step) valid. */
  k(layer: number): Float32Array {
    return this.ks[this.layerIndex(layer)];
  }

  v(layer: number): Float32Array {
    return this.vs[this.layerIndex(layer)];
  }

  /** Writes T rows of K and V (T, NKV, HS) for one layer at rows start .. start+T-1. */
  write(layer: number, start: number, k: Float32Array, v: Float32Array, T: number): void {
    const l = this.layerIndex(layer);
    const row = this.numKvHeads * this.headDim;
    if (k.length < T * row || v.length < T * row) throw new Error(`KvCache.write: k/v hold fewer than T=${T} rows of ${row}`);
    if (start !== this.length) throw new Error(`KvCache.write: start=${start} but the cache holds ${this.length} tokens (writes must append)`);
    this.reserve(start + T);
    this.ks[l].set(k.subarray(0, T * row), start * row);
    this.vs[l].set(v.subarray(0, T * row), start * row);
  }

  /** Commits T tokens written to every layer. */
  advance(T: number): void {
    this.length += T;
  }

  /** Drops tokens beyond n (e.g. to re-run a suffix). */
  truncate(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.length) throw new Error(`KvCache.truncate: n=${n} outside [0, ${this.length}]`);
    this.length = n;
  }

  private reserve(tokens: number): void {
    if (tokens <= this.cap) return;
    let cap = this.cap;
    while (cap < tokens) cap *= 2;
    const row = this.numKvHeads * this.headDim;
    for (let l = 0; l < this.numLayers; l++) {
      const k = new Float32Array(cap * row);
      k.set(this.ks[l]);
      this.ks[l] = k;
      const v = new Float32Array(cap * row);
      v.set(this.vs[l]);
      this.vs[l] = v;
    }
    this.cap = cap;
  }

  private layerIndex(layer: number): number {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) {
      throw new Error(`KvCache: layer ${layer} outside [0, ${this.numLayers})`);
    }
    return layer;
  }
}
