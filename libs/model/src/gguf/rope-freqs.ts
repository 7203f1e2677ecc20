/*
 * Llama 3's RoPE frequency scaling in GGUF: llama.cpp's converter does not write the
 * rope_scaling parameters but a tensor rope_freqs.weight (F32, one divisor per frequency):
 *
 *   f_i = 1 / base^(2i/d) (float32),  wavelen_i = 2 pi / f_i
 *   factor_i = 1                                   wavelen_i < old / high
 *            = factor                              wavelen_i > old / low
 *            = 1 / ((1 - s_i) / factor + s_i)      otherwise, s_i = (old / wavelen_i - low) / (high - low)
 *
 * and llama.cpp rotates by pos * f_i / factor_i. Writing computes these divisors from a config's
 * llama3 scaling. Reading recovers a llama3 scaling that gives the same frequencies: factor is
 * the largest divisor, and in the smooth region s_i is linear in 1 / wavelen_i, so two of its
 * points fix (old / (high - low), -low / (high - low)); with low = 1 that is one (low, high, old)
 * of the many that define the same divisors (with fewer ramp points, as in small heads, the
 * thresholds are placed between the wavelengths the divisors classify). The result is checked against every divisor of the
 * file; divisors of another shape are refused with one error naming the tensor.
 * Not here: the rotation itself (@llm/tensor ropeInvFreq).
 */
import { ropeInvFreq } from '@llm/tensor';
import type { ModelConfig } from '../config';

const f32 = Math.fround;

/** Unscaled frequencies 1 / base^(2i/d), in float32 as the converter computes them. */
function baseFreqs(headDim: number, base: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => f32(1 / f32(base ** f32((2 * i) / headDim))));
}

/** The rope_freqs.weight divisors of a config with llama3 scaling (null for any other). */
export function ropeFreqFactors(c: ModelConfig): Float32Array | null {
  const s = c.ropeScaling;
  if (!s || s.type !== 'llama3') return null;
  const low = s.lowFreqFactor ?? 1, high = s.highFreqFactor ?? 4, old = s.originalMaxPositions ?? 8192;
  return Float32Array.from(baseFreqs(c.headDim, c.ropeTheta), (f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < old / high) return 1;
    if (wavelen > old / low) return s.factor;
    const smooth = (old / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/**
 * Wavelength thresholds (old / low, old / high) that reproduce the divisors: fitted from the
 * smooth ramp when it has two points or more (s = a / wavelen + b, so old / low = -a / b and
 * old / high = old / (1 - 1 / b)), otherwise placed between the wavelengths the divisors classify.
 */
function thresholds(factors: Float32Array, wavelens: number[], factor: number, fail: (why: string) => never): [number, number] {
  const tol = (x: number) => Math.abs(x) * 1e-5;
  const ones = wavelens.filter((_, i) => Math.abs(factors[i] - 1) <= tol(1));
  const tops = wavelens.filter((_, i) => Math.abs(factors[i] - factor) <= tol(factor));
  const ramp = wavelens.flatMap((w, i) => (factors[i] > 1 + tol(1) && factors[i] < factor - tol(factor) ? [[w, (1 / factors[i] - 1 / factor) / (1 - 1 / factor)]] : []));
  const w1 = ones.length ? Math.max(...ones) : 0, wF = tops.length ? Math.min(...tops) : Infinity;
  if (ramp.length >= 2) {
    const [[w0, s0], [wn, sn]] = [ramp[0], ramp[ramp.length - 1]];
    const a = (sn - s0) / (1 / wn - 1 / w0), b = s0 - a / w0;
    if (!(a > 0) || !(b < 0)) fail('does not follow a smooth ramp between 1 and its largest divisor');
    const old = -a / b;
    return [old, old / (1 - 1 / b)];
  }
  if (ramp.length === 1) {
    const [ws, ss] = ramp[0];
    const tLo = Number.isFinite(wF) ? Math.sqrt(ws * wF) : 2 * ws;
    return [tLo, tLo / (1 + (tLo / ws - 1) / ss)];
  }
  if (!Number.isFinite(wF)) fail('has no divisor equal to its largest');
  if (w1 === 0) return [wF / 2, wF / 4];
  const r = wF / w1;
  return [w1 * r ** (2 / 3), w1 * r ** (1 / 3)];
}

/** A llama3 rope_scaling (config.json shape) whose frequencies equal base / divisors (null: all 1), or an error. */
export function llama3ScalingFromFactors(factors: Float32Array, headDim: number, base: number, source: string): Record<string, unknown> | null {
  const fail = (why: string): never => {
    throw new Error(`${source}: rope_freqs.weight ${why} (only Llama 3's frequency scaling is supported)`);
  };
  if (factors.length !== headDim / 2) fail(`has ${factors.length} values for ${headDim / 2} frequencies`);
  const factor = Math.max(...factors);
  if (!(Math.min(...factors) > 0) || !Number.isFinite(factor)) fail('holds a divisor that is not a positive number');
  const freqs = baseFreqs(headDim, base);
  const tol = (x: number) => Math.abs(x) * 1e-5;
  if (Math.abs(factor - 1) <= tol(1) && Math.min(...factors) >= 1 - tol(1)) return null;
  const [tLo, tHi] = thresholds(factors, freqs.map((f) => (2 * Math.PI) / f), factor, fail);
  // low = 1: old = old / low = tLo, high = old / tHi
  const json = { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: tLo / tHi, original_max_position_embeddings: tLo };
  const s = { type: 'llama3' as const, factor, lowFreqFactor: 1, highFreqFactor: tLo / tHi, originalMaxPositions: tLo };
  const got = ropeInvFreq(headDim, base, s);
  freqs.forEach((f, i) => {
    const want = f / factors[i];
    if (Math.abs(got[i] - want) > Math.abs(want) * 1e-4) fail(`divisor ${i} (${factors[i]}) does not fit a Llama 3 scaling (recovered ${got[i]} for ${want})`);
  });
  return json;
}
