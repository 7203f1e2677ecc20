/*
 * The vocabulary of the GGUF format (ggml docs/gguf.md, version 3): metadata value types,
 * tensor types with their block geometry, and the in-memory shapes of a parsed file.
 *
 *   file = "GGUF" | u32 version | u64 tensor_count | u64 kv_count | kv pairs | tensor infos
 *          | padding to ALIGNMENT | tensor data (each tensor at a multiple of ALIGNMENT)
 *   string = u64 length | UTF-8 bytes;   kv = string key | u32 value type | value
 *   array  = u32 item type | u64 count | items;   tensor info = string name | u32 n_dims |
 *            u64 dims[n_dims] (ne0 first: the contiguous one) | u32 ggml type | u64 offset
 *
 * Not here: reading (./reader.ts), writing (./writer.ts), meaning of keys (./llama-metadata.ts).
 */

export class GgufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufError';
  }
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

/** gguf_metadata_value_type */
export enum GgufType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Bytes of a fixed-size metadata value (strings and arrays vary). */
export const GGUF_SCALAR_BYTES: Partial<Record<GgufType, number>> = {
  [GgufType.UINT8]: 1, [GgufType.INT8]: 1, [GgufType.BOOL]: 1, [GgufType.UINT16]: 2, [GgufType.INT16]: 2,
  [GgufType.UINT32]: 4, [GgufType.INT32]: 4, [GgufType.FLOAT32]: 4, [GgufType.UINT64]: 8, [GgufType.INT64]: 8, [GgufType.FLOAT64]: 8,
};

export type GgufScalar = number | bigint | boolean | string;
/** An array value: its item type and items (nested arrays allowed). */
export interface GgufArray {
  itemType: GgufType;
  items: Array<GgufScalar | GgufArray>;
}
export interface GgufValue {
  type: GgufType;
  value: GgufScalar | GgufArray;
}

/** A tensor type: weights per block and bytes per block (ggml's type traits). */
export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

/** Every ggml_type GGUF files carry today, with its block geometry (for offset and size checks). */
const TYPES: Array<[number, string, number, number]> = [
  [0, 'F32', 1, 4], [1, 'F16', 1, 2], [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20], [6, 'Q5_0', 32, 22], [7, 'Q5_1', 32, 24],
  [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36], [10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110], [12, 'Q4_K', 256, 144],
  [13, 'Q5_K', 256, 176], [14, 'Q6_K', 256, 210], [15, 'Q8_K', 256, 292], [16, 'IQ2_XXS', 256, 66], [17, 'IQ2_XS', 256, 74],
  [18, 'IQ3_XXS', 256, 98], [19, 'IQ1_S', 256, 50], [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', 256, 110], [22, 'IQ2_S', 256, 82],
  [23, 'IQ4_XS', 256, 136], [24, 'I8', 1, 1], [25, 'I16', 1, 2], [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8],
  [29, 'IQ1_M', 256, 56], [30, 'BF16', 1, 2], [34, 'TQ1_0', 256, 54], [35, 'TQ2_0', 256, 66], [39, 'MXFP4', 32, 17],
];
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map(TYPES.map(([id, name, blockSize, typeSize]) => [id, { id, name, blockSize, typeSize }]));

export const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14, BF16: 30 } as const;

/** One tensor of a file: dims in GGUF order (ne0 = the contiguous dimension), data location and size. */
export interface GgufTensorInfo {
  name: string;
  /** ne0, ne1, ...: a (rows, cols) matrix is [cols, rows]. */
  dims: number[];
  type: GgmlTypeInfo;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Bytes of data. */
  nbytes: number;
}

/** The row-major shape (slowest dimension first) of a tensor: dims reversed. */
export const rowMajorShape = (t: GgufTensorInfo): number[] => [...t.dims].reverse();
