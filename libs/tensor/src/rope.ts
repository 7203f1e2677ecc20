/**
 * Rotary position embeddings (Su et al. 2021, RoFormer) in the Hugging Face `rotate_half`
 * convention: a head vector x of size HS is split into halves (x1, x2) and rotated as
 *   out1 = x1 * cos - x2 * sin,   out2 = x2 * cos + x1 * sin
 * with angle(pos, i) = pos * inv_freq[i],  inv_freq[i] = theta^(-2i / HS),  i in [0, HS/2).
 * (HF's `cat(freqs, freqs)` makes cos/sin of both halves equal, so tables store HS/2 columns.)
 * Scaling follows transformers' rope_init_functions: 'linear' divides inv_freq by `factor`;
 * 'llama3' (Llama 3.1) keeps high frequencies, divides low ones by `factor` and interpolates
 * between. Like HF, inv_freq, angles and cos/sin are computed in float32.
 * Deliberately not: partial rotary dims, YaRN/dynamic NTK scaling, the GPT-NeoX interleaved layout.
 */
import { FloatArray, checkLength } from './tensor';

export interface RopeScaling {
  type: 'linear' | 'llama3';
  factor: number;
  /** llama3 only */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

export interface RopeTables {
  headDim: number;
  maxPositions: number;
  /** (maxPositions, HS/2) */
  cos: Float32Array;
  /** (maxPositions, HS/2) */
  sin: Float32Array;
}

const f32 = Math.fround;

/** inv_freq (HS/2), computed like HF in float32: 1 / theta^(2i / HS). */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float32Array {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new Error(`rope head_dim=${headDim} is invalid (expected a positive even integer)`);
  }
  if (!(theta > 0)) throw new Error(`rope_theta=${theta} is invalid (expected a positive number)`);
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f32(1 / f32(Math.pow(theta, f32((2 * i) / headDim))));
  if (!scaling) return inv;
  if (!(scaling.factor > 0)) throw new Error(`rope_scaling.factor=${scaling.factor} is invalid (expected > 0)`);
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f32(inv[i] / scaling.factor);
    return inv;
  }
  return llama3Scale(inv, scaling);
}

/**
 * Llama 3.1 frequency scaling:
 *   wavelen = 2 pi / f;  wavelen > old/low  -> f / factor;  wavelen < old/high -> f;
 *   otherwise s = (old / wavelen - low) / (high - low),  f' = (1 - s) f / factor + s f
 */
function llama3Scale(inv: Float32Array, s: RopeScaling): Float32Array {
  const low = s.lowFreqFactor ?? 1;
  const high = s.highFreqFactor ?? 4;
  const old = s.originalMaxPositions ?? 8192;
  if (!(high > low)) throw new Error(`rope_scaling high_freq_factor=${high} must exceed low_freq_factor=${low}`);
  const lowWavelen = old / low;
  const highWavelen = old / high;
  const out = new Float32Array(inv.length);
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i];
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > lowWavelen) out[i] = f32(f / s.factor);
    else if (wavelen < highWavelen) out[i] = f;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = f32((1 - smooth) * (f / s.factor) + smooth * f);
    }
  }
  return out;
}

/** cos/sin tables (maxPositions, HS/2) for positions 0 .. maxPositions-1. */
export function ropeTables(headDim: number, maxPositions: number, theta: number, scaling?: RopeScaling): RopeTables {
  if (!Number.isInteger(maxPositions) || maxPositions <= 0) {
    throw new Error(`rope maxPositions=${maxPositions} is invalid (expected a positive integer)`);
  }
  const inv = ropeInvFreq(headDim, theta, scaling);
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(p * inv[i]); // freqs = pos (x) inv_freq, in float32
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { headDim, maxPositions, cos, sin };
}

/**
 * In place: rotate every head of x (T, numHeads, HS) by its token's position.
 * positions[t] is the absolute position of row t; it must be < tables.maxPositions.
 */
export function applyRope(x: FloatArray, T: number, numHeads: number, headDim: number, positions: ArrayLike<number>, tables: RopeTables): void {
  if (headDim !== tables.headDim) throw new Error(`applyRope: headDim=${headDim} but tables were built for ${tables.headDim}`);
  checkLength('applyRope x', x, T * numHeads * headDim);
  checkLength('applyRope positions', positions, T);
  const half = headDim / 2;
  for (let t = 0; t < T; t++) {
    const p = positions[t];
    if (!Number.isInteger(p) || p < 0 || p >= tables.maxPositions) {
      throw new Error(`applyRope: position ${p} of row ${t} is outside [0, ${tables.maxPositions}) (max_position_embeddings)`);
    }
    const tab = p * half;
    for (let h = 0; h < numHeads; h++) {
      const off = (t * numHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = tables.cos[tab + i], s = tables.sin[tab + i];
        const x1 = x[off + i], x2 = x[off + half + i];
        x[off + i] = x1 * c - x2 * s; // x1 cos - x2 sin
        x[off + half + i] = x2 * c + x1 * s; // x2 cos + x1 sin
      }
    }
  }
}
