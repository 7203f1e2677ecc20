/*
 * QuantizedMatrix: a (rows, cols) weight matrix in one block format, row-major, each row
 * cols/32 blocks: data (rows * rowBytes) bytes exactly as a GGUF tensor of that type stores it
 * (GGUF dims [cols, rows]). A linear layer's weight (out, in) quantizes along `in`.
 *
 *   row r, block b  ->  data[r * rowBytes + b * bytesPerBlock ..]
 *
 * Helpers quantize and dequantize whole matrices (per-row calls of the format's pair), and
 * move whole rows (permute, stack), which block formats allow because rows never share a block.
 * Not here: the math of one block (./q8_0.ts, ./q4_0.ts).
 */
import { BLOCK_LAYOUTS, rowBytes, type QuantFormat } from './formats';
import { dequantizeRowQ4_0, quantizeRowQ4_0 } from './q4_0';
import { dequantizeRowQ8_0, quantizeRowQ8_0 } from './q8_0';

export interface QuantizedMatrix {
  format: QuantFormat;
  rows: number;
  cols: number;
  /** rows x rowBytes(format, cols) bytes of blocks. */
  data: Uint8Array;
}

type RowFn<D, S> = (dst: D, src: S, n: number, dstOffset: number, srcOffset: number) => void;
const QUANTIZE: Record<QuantFormat, RowFn<Uint8Array, Float32Array>> = { q8_0: quantizeRowQ8_0, q4_0: quantizeRowQ4_0 };
const DEQUANTIZE: Record<QuantFormat, RowFn<Float32Array, Uint8Array>> = { q8_0: dequantizeRowQ8_0, q4_0: dequantizeRowQ4_0 };

/** Checks that `data` holds exactly rows x cols weights of `format`; returns the matrix. */
export function quantizedMatrix(format: QuantFormat, rows: number, cols: number, data: Uint8Array): QuantizedMatrix {
  const want = rows * rowBytes(format, cols);
  if (data.length !== want) {
    throw new Error(`${BLOCK_LAYOUTS[format].name} matrix (${rows}, ${cols}) needs ${want} bytes, got ${data.length}`);
  }
  return { format, rows, cols, data };
}

/** w (rows, cols) f32 -> blocks; cols must be a multiple of 32. */
export function quantizeMatrix(w: Float32Array, rows: number, cols: number, format: QuantFormat): QuantizedMatrix {
  if (w.length !== rows * cols) throw new Error(`quantizeMatrix: ${w.length} values for a (${rows}, ${cols}) matrix`);
  const rb = rowBytes(format, cols);
  const data = new Uint8Array(rows * rb);
  const fn = QUANTIZE[format];
  for (let r = 0; r < rows; r++) fn(data, w, cols, r * rb, r * cols);
  return { format, rows, cols, data };
}

/** blocks -> (rows, cols) f32, exactly the values the format defines. */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const rb = rowBytes(q.format, q.cols);
  const out = new Float32Array(q.rows * q.cols);
  const fn = DEQUANTIZE[q.format];
  for (let r = 0; r < q.rows; r++) fn(out, q.data, q.cols, r * q.cols, r * rb);
  return out;
}

/** out row i = q row from(i): a row permutation (or selection) of the matrix. */
export function selectRows(q: QuantizedMatrix, numRows: number, from: (i: number) => number): QuantizedMatrix {
  const rb = rowBytes(q.format, q.cols);
  const data = new Uint8Array(numRows * rb);
  for (let i = 0; i < numRows; i++) {
    const r = from(i);
    data.set(q.data.subarray(r * rb, (r + 1) * rb), i * rb);
  }
  return { format: q.format, rows: numRows, cols: q.cols, data };
}

/** [a; b; ...] stacked by rows; every part must share the format and the column count. */
export function stackRows(parts: QuantizedMatrix[]): QuantizedMatrix {
  const { format, cols } = parts[0];
  for (const p of parts) {
    if (p.format !== format || p.cols !== cols) throw new Error(`stackRows: cannot stack ${p.format} (${p.rows}, ${p.cols}) under ${format} (., ${cols})`);
  }
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const data = new Uint8Array(rows * rowBytes(format, cols));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { format, rows, cols, data };
}
