/*
 * The counter-based uniforms of speculative sampling, each its own stream so they are independent:
 * the plain sampler's u = hash(seed, sample index, output position) draws the residual after a
 * rejection; the acceptance test and a draft model's own draws use the seed remixed once with a
 * fixed constant each. Deterministic, so a recomputed or moved sequence verifies the same way.
 *
 * What this is not: the hash itself (../sampling/counter-rng.ts).
 */
import { splitmix64, uniformFromCounter } from '../sampling';

const remix = (seed: bigint | number, salt: bigint): bigint => splitmix64(BigInt.asUintN(64, BigInt(seed)) ^ salt);

/** u of the acceptance test of the draft at output position `pos`. */
export function acceptUniform(seed: bigint | number, sampleIndex: number, pos: number): number {
  return uniformFromCounter(remix(seed, 0x5350454355n), sampleIndex, pos); // "SPECU"
}

/** u of a draft model's draw of the draft at output position `pos`. */
export function draftUniform(seed: bigint | number, sampleIndex: number, pos: number): number {
  return uniformFromCounter(remix(seed, 0x4452414654n), sampleIndex, pos); // "DRAFT"
}
