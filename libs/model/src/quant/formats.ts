/*
 * The block formats of weight quantization, as ggml lays them out (GGUF tensor types):
 *
 *   Q8_0 (ggml type 8):  32 weights per block, 34 bytes = f16 scale d | 32 x int8 q      x = q * d
 *   Q4_0 (ggml type 2):  32 weights per block, 18 bytes = f16 scale d | 16 bytes of nibbles
 *                        byte j holds weight j (low nibble) and weight j + 16 (high)   x = (q - 8) * d
 *
 * A format is this layout plus one quantizeRow / dequantizeRow pair (./q8_0.ts, ./q4_0.ts).
 * Blocks run along a row (the input features of a linear layer), so rows stay independent:
 * a row of K weights is K/32 blocks and K must be a multiple of 32.
 * Not here: the kernels that multiply by quantized weights (ONNX Runtime's MatMulNBits, see
 * ../onnx) or which tensors of a model get quantized (./quantize-model.ts).
 * Reference: ggml's docs/gguf.md (type ids) and block structs block_q8_0 / block_q4_0.
 */

export type QuantFormat = 'q8_0' | 'q4_0';

export const QUANT_FORMATS: readonly QuantFormat[] = ['q8_0', 'q4_0'];

/** Weights per block (ggml's QK8_0 = QK4_0 = 32). */
export const QK = 32;

export interface BlockLayout {
  format: QuantFormat;
  /** Weights per block. */
  blockSize: number;
  /** Bytes per block: 2 (f16 scale) + the packed quants. */
  bytesPerBlock: number;
  /** Bits per packed weight. */
  bits: 8 | 4;
  /** The GGUF tensor type id (ggml_type). */
  ggmlType: number;
  /** The name GGUF and llama.cpp print. */
  name: string;
}

export const BLOCK_LAYOUTS: Readonly<Record<QuantFormat, BlockLayout>> = {
  q8_0: { format: 'q8_0', blockSize: QK, bytesPerBlock: 2 + QK, bits: 8, ggmlType: 8, name: 'Q8_0' },
  q4_0: { format: 'q4_0', blockSize: QK, bytesPerBlock: 2 + QK / 2, bits: 4, ggmlType: 2, name: 'Q4_0' },
};

/** `s` as a format ('q8_0', 'Q4_0', ...), or a clear error naming `what` and the choices. */
export function parseQuantFormat(s: string, what = 'quantization format'): QuantFormat {
  const f = s.trim().toLowerCase();
  if ((QUANT_FORMATS as readonly string[]).includes(f)) return f as QuantFormat;
  throw new Error(`${what} "${s}" is not supported (expected ${QUANT_FORMATS.join(' or ')})`);
}

/** Bytes of one quantized row of `cols` weights; cols must be a multiple of the block size. */
export function rowBytes(format: QuantFormat, cols: number): number {
  const b = BLOCK_LAYOUTS[format];
  if (cols % b.blockSize !== 0) throw new Error(`${b.name} rows need a multiple of ${b.blockSize} values, got ${cols}`);
  return (cols / b.blockSize) * b.bytesPerBlock;
}
