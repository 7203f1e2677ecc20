/*
 * Seeded randomness for the benchmarks: mulberry32 (a 32-bit counter-based PRNG) and a
 * Box-Muller log-normal sampler, so every run draws the same workload.
 * Deliberately not cryptographic and not used outside bench/.
 */

/** Uniform [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** x = exp(mu + sigma * z), z ~ N(0, 1) by Box-Muller: a long right tail. */
export function logNormal(rand: () => number, median: number, sigma: number): number {
  const u1 = Math.max(rand(), 1e-12);
  const u2 = rand();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(Math.log(median) + sigma * z);
}

/** Token ids in [0, vocab). */
export function randomTokens(rand: () => number, n: number, vocab = 32000): number[] {
  return Array.from({ length: n }, () => Math.floor(rand() * vocab));
}
