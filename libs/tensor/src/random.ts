/**
 * A small seeded pseudo-random generator for reproducible weights and test data:
 * mulberry32 (a 32-bit state, full period 2^32) for uniforms and Box-Muller for normals.
 * Deliberately not cryptographic, and not the sampler's counter-based RNG (that lives in
 * @llm/model's sampling, where draws must be addressable by (seed, index, position)).
 */
export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  /** standard normal N(0, 1) */
  normal(): number;
  /** n values N(mean, std^2) as float32 */
  normalArray(n: number, std?: number, mean?: number): Float32Array;
  /** integer uniform in [0, n) */
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng seed ${seed} is invalid (expected a finite number)`);
  let state = Math.trunc(seed) >>> 0;
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    // Box-Muller: r = sqrt(-2 ln u1), (r cos 2pi u2, r sin 2pi u2)
    const u1 = 1 - next(); // (0, 1]
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return {
    next,
    normal,
    normalArray(n, std = 1, mean = 0) {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = mean + std * normal();
      return a;
    },
    int(n) {
      return Math.floor(next() * n);
    },
  };
}
