/**
 * Normalisation layers over the last dimension of a (T, C) matrix.
 *   RMSNorm (Zhang & Sennrich 2019; HF LlamaRMSNorm):  y = x / sqrt(mean(x^2) + eps) * w
 *   LayerNorm (Ba et al. 2016; torch.nn.LayerNorm):     y = (x - mean) / sqrt(var + eps) * w + b,
 *     var the biased (1/C) variance.
 * Statistics accumulate in double precision. `out` may alias `x`.
 */
import { FloatArray, checkLength } from './tensor';

function checkNorm(name: string, out: FloatArray, x: FloatArray, w: FloatArray, T: number, C: number): void {
  if (!Number.isInteger(T) || T < 0 || !Number.isInteger(C) || C <= 0) {
    throw new Error(`${name}: T=${T}, C=${C} are invalid (expected T >= 0, C >= 1)`);
  }
  checkLength(`${name} x`, x, T * C);
  checkLength(`${name} out`, out, T * C);
  checkLength(`${name} weight`, w, C);
}

/** out (T, C) = rmsnorm(x (T, C)) * w (C) */
export function rmsNorm(out: FloatArray, x: FloatArray, w: FloatArray, T: number, C: number, eps: number): void {
  checkNorm('rmsNorm', out, x, w, T, C);
  for (let t = 0; t < T; t++) {
    const off = t * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[off + c] * x[off + c];
    const inv = 1 / Math.sqrt(ss / C + eps); // 1 / sqrt(mean(x^2) + eps)
    for (let c = 0; c < C; c++) out[off + c] = x[off + c] * inv * w[c];
  }
}

/** out (T, C) = layernorm(x (T, C)) * w (C) + b (C) */
export function layerNorm(out: FloatArray, x: FloatArray, w: FloatArray, b: FloatArray, T: number, C: number, eps: number): void {
  checkNorm('layerNorm', out, x, w, T, C);
  checkLength('layerNorm bias', b, C);
  for (let t = 0; t < T; t++) {
    const off = t * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[off + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = x[off + c] - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / C + eps); // 1 / sqrt(var + eps)
    for (let c = 0; c < C; c++) out[off + c] = (x[off + c] - mean) * inv * w[c] + b[c];
  }
}
