/*
 * Normalisation and positional ops with gradients: RMSNorm (Zhang & Sennrich 2019, as in
 * Llama), LayerNorm (Ba et al. 2016, as in GPT-2), RoPE in the Hugging Face rotate_half
 * convention (Su et al. 2021), and a row softmax.
 *
 * Not covering rope_scaling (llama3 / linear): the training configs use plain RoPE; the
 * inference library handles scaled checkpoints.
 */
import { alloc, makeOut, Var } from '../autograd/var';

function rowsOf(op: string, x: Var, C: number): number {
  if (x.size % C !== 0) throw new Error(`${op}: size ${x.size} is not a multiple of width ${C}`);
  return x.size / C;
}

/**
 * y = x · r · w, r = 1 / sqrt(mean(x²) + eps), per row of (N, C).
 * Backward (g = dy ⊙ w, x̂ = x·r): dx = r · (g − x̂ · mean(g ⊙ x̂));  dw += Σ_rows dy ⊙ x̂.
 */
export function rmsNorm(x: Var, w: Var, eps: number): Var {
  const C = w.size;
  const N = rowsOf('rmsNorm', x, C);
  const y = alloc(x.dtype, x.size);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[o + c] * x.data[o + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[o + c] = x.data[o + c] * r * w.data[c];
  }
  const out: Var = makeOut(y, [...x.shape], [x, w], () => {
    const dy = out.grad!;
    const gx = x.requiresGrad ? x.gradBuf() : null;
    const gw = w.requiresGrad ? w.gradBuf() : null;
    for (let n = 0; n < N; n++) {
      const o = n * C;
      const r = rstd[n];
      let dot = 0; // Σ g ⊙ x̂
      for (let c = 0; c < C; c++) dot += dy[o + c] * w.data[c] * x.data[o + c] * r;
      const m = dot / C;
      for (let c = 0; c < C; c++) {
        const xh = x.data[o + c] * r;
        if (gx) gx[o + c] += r * (dy[o + c] * w.data[c] - xh * m);
        if (gw) gw[c] += dy[o + c] * xh;
      }
    }
  });
  return out;
}

/**
 * y = x̂ · w + b, x̂ = (x − μ) · r, r = 1 / sqrt(var + eps), per row of (N, C).
 * Backward (g = dy ⊙ w): dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂));  dw += Σ dy ⊙ x̂;  db += Σ dy.
 */
export function layerNorm(x: Var, w: Var, b: Var, eps: number): Var {
  const C = w.size;
  const N = rowsOf('layerNorm', x, C);
  const y = alloc(x.dtype, x.size);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += x.data[o + c];
    const mu = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[o + c] - mu) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    mean[n] = mu;
    rstd[n] = r;
    for (let c = 0; c < C; c++) y[o + c] = (x.data[o + c] - mu) * r * w.data[c] + b.data[c];
  }
  const out: Var = makeOut(y, [...x.shape], [x, w, b], () => {
    const dy = out.grad!;
    const gx = x.requiresGrad ? x.gradBuf() : null;
    const gw = w.requiresGrad ? w.gradBuf() : null;
    const gb = b.requiresGrad ? b.gradBuf() : null;
    for (let n = 0; n < N; n++) {
      const o = n * C;
      const mu = mean[n];
      const r = rstd[n];
      let sg = 0;
      let sgx = 0;
      for (let c = 0; c < C; c++) {
        const g = dy[o + c] * w.data[c];
        sg += g;
        sgx += g * (x.data[o + c] - mu) * r;
      }
      const mg = sg / C;
      const mgx = sgx / C;
      for (let c = 0; c < C; c++) {
        const xh = (x.data[o + c] - mu) * r;
        if (gx) gx[o + c] += r * (dy[o + c] * w.data[c] - mg - xh * mgx);
        if (gw) gw[c] += dy[o + c] * xh;
        if (gb) gb[c] += dy[o + c];
      }
    }
  });
  return out;
}

/** cos/sin tables (P, HS/2): angle(p, i) = p · θ^(−2i/HS). */
export function ropeTables(maxPos: number, HS: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = HS / 2;
  const cos = new Float64Array(maxPos * half);
  const sin = new Float64Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / HS);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/**
 * RoPE on x (N, H·HS) with per-row positions, HF rotate_half: for i < HS/2,
 *   y[i] = x[i]·cos − x[i+half]·sin;  y[i+half] = x[i+half]·cos + x[i]·sin.
 * Backward is the inverse rotation: dx[i] = dy[i]·cos + dy[i+half]·sin;
 *   dx[i+half] = dy[i+half]·cos − dy[i]·sin.
 */
export function rope(x: Var, positions: Int32Array, H: number, HS: number, theta: number): Var {
  const N = positions.length;
  if (x.size !== N * H * HS || HS % 2 !== 0) throw new Error(`rope: x size ${x.size} != N=${N} · H=${H} · HS=${HS} (HS even)`);
  const half = HS / 2;
  let maxPos = 0;
  for (const p of positions) maxPos = Math.max(maxPos, p + 1);
  const { cos, sin } = ropeTables(maxPos, HS, theta);
  const y = alloc(x.dtype, x.size);
  const rotate = (src: ArrayLike<number>, dst: { [i: number]: number }, sign: number, acc: boolean): void => {
    for (let n = 0; n < N; n++) {
      const t = positions[n] * half;
      for (let h = 0; h < H; h++) {
        const o = (n * H + h) * HS;
        for (let i = 0; i < half; i++) {
          const c = cos[t + i];
          const s = sign * sin[t + i];
          const a = src[o + i];
          const b = src[o + i + half];
          const ya = a * c - b * s;
          const yb = b * c + a * s;
          if (acc) {
            dst[o + i] += ya;
            dst[o + i + half] += yb;
          } else {
            dst[o + i] = ya;
            dst[o + i + half] = yb;
          }
        }
      }
    }
  };
  rotate(x.data, y, 1, false);
  const out: Var = makeOut(y, [...x.shape], [x], () => rotate(out.grad!, x.gradBuf(), -1, true));
  return out;
}

/** y = softmax(x) per row of (N, D), max-subtracted. Backward: dx = y ⊙ (dy − Σ dy ⊙ y). */
export function softmaxRows(x: Var, D: number): Var {
  const N = rowsOf('softmaxRows', x, D);
  const y = alloc(x.dtype, x.size);
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let m = -Infinity;
    for (let d = 0; d < D; d++) m = Math.max(m, x.data[o + d]);
    let s = 0;
    for (let d = 0; d < D; d++) s += y[o + d] = Math.exp(x.data[o + d] - m);
    for (let d = 0; d < D; d++) y[o + d] /= s;
  }
  const out: Var = makeOut(y, [...x.shape], [x], () => {
    const dy = out.grad!;
    const g = x.gradBuf();
    for (let n = 0; n < N; n++) {
      const o = n * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += dy[o + d] * y[o + d];
      for (let d = 0; d < D; d++) g[o + d] += y[o + d] * (dy[o + d] - dot);
    }
  });
  return out;
}
