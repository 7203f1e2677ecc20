/**
 * Row-wise softmax and log-softmax over a (rows, cols) matrix, both max-subtracted so that
 * large logits never overflow:  softmax(x)_j = e^(x_j - m) / sum_k e^(x_k - m),  m = max_k x_k
 *                               logsoftmax(x)_j = x_j - m - log(sum_k e^(x_k - m))
 * `out` may alias `x`. Deliberately not: masking (attention applies its mask before calling).
 */
import { FloatArray, checkLength } from './tensor';

function checkRows(name: string, out: FloatArray, x: FloatArray, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols <= 0) {
    throw new Error(`${name}: rows=${rows}, cols=${cols} are invalid (expected rows >= 0, cols >= 1)`);
  }
  checkLength(`${name} x`, x, rows * cols);
  checkLength(`${name} out`, out, rows * cols);
}

function rowMax(x: FloatArray, off: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) if (x[off + j] > m) m = x[off + j];
  return m;
}

/** out (rows, cols) = softmax over each row of x (rows, cols). */
export function softmaxRows(out: FloatArray, x: FloatArray, rows: number, cols: number): void {
  checkRows('softmaxRows', out, x, rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = rowMax(x, off, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[off + j] - m);
      out[off + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) out[off + j] *= inv;
  }
}

/** out (rows, cols) = log-softmax over each row of x (rows, cols). */
export function logSoftmaxRows(out: FloatArray, x: FloatArray, rows: number, cols: number): void {
  checkRows('logSoftmaxRows', out, x, rows, cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = rowMax(x, off, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[off + j] - m);
    const lse = m + Math.log(sum);
    for (let j = 0; j < cols; j++) out[off + j] = x[off + j] - lse;
  }
}
