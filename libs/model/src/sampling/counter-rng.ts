/**
 * Counter-based randomness for sampling: u = hash(seed, sampleIndex, position) in [0, 1), so a
 * sequence that is recomputed after preemption or moved to another worker draws the same numbers
 * without carrying RNG state. The hash chains SplitMix64's finaliser (Steele, Lea & Flood 2014,
 * "Fast splittable pseudorandom number generators") over the three counters; the top 53 bits
 * become the double. Deliberately not cryptographic.
 */
const MASK = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

/** SplitMix64: z += golden; z = (z ^ z>>30) * C1; z = (z ^ z>>27) * C2; z ^ z>>31 (mod 2^64) */
export function splitmix64(x: bigint): bigint {
  let z = (x + GOLDEN) & MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

function toU64(name: string, v: bigint | number): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`${name}=${v} is invalid (expected an integer)`);
  return BigInt(v) & MASK; // negative seeds wrap (two's complement)
}

/** A uniform number in [0, 1) determined by (seed, sampleIndex, position) alone. */
export function uniformFromCounter(seed: bigint | number, sampleIndex: number, position: number): number {
  let h = splitmix64(toU64('seed', seed));
  h = splitmix64(h ^ toU64('sampleIndex', sampleIndex));
  h = splitmix64(h ^ toU64('position', position));
  return Number(h >> 11n) / 2 ** 53;
}
