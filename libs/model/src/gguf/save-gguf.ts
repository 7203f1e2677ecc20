/*
 * Writes a llama-family model as one GGUF file llama.cpp can load: general.* keys (architecture,
 * name, file type, quantization version), the architecture's hyperparameters
 * (./llama-config.ts), the tokenizer (./tokenizer-to-gguf.ts; tokenizer.ggml.model "none" without
 * one, which llama.cpp requires), and the tensors under GGUF names
 * with GGUF dims (ne0 = in): f32 tensors as F32, or under `floatType: 'f16'` as F16 where
 * llama.cpp's converter (--outtype f16) does so -- every matrix named *.weight (the embedding, the
 * head, the linear layers, stacked experts) except the MoE router (ffn_gate_inp) and norms; 1-D
 * tensors (norms, biases, rope_freqs) always F32 -- rounding to nearest even and refusing a
 * weight past F16's range by name; quantized ones as their Q8_0 / Q4_0 blocks, attn_q / attn_k rows in llama.cpp's pair order for the llama
 * architecture, experts stacked per layer as ffn_{gate,down,up}_exps, Llama 3 RoPE scaling as
 * rope_freqs.weight (./rope-freqs.ts). A tied head is written
 * once, as token_embd. Tensors are produced one at a time while writing.
 * Follows ggml docs/gguf.md (required keys, alignment, tensor naming).
 */
import { endianness } from 'node:os';
import type { GenerationDefaults, ModelConfig } from '../config';
import { BLOCK_LAYOUTS } from '../quant/formats';
import { stackRows } from '../quant/quantized-matrix';
import type { ModelWeights, Weight } from '../weights';
import { EXPERTS, expertName, hfRowOf, isRopePermuted, permuteRows, tensorNames } from './llama-tensors';
import { ggufArchOf, ggufConfigMetadata } from './llama-config';
import { ropeFreqFactors } from './rope-freqs';
import { gv } from './metadata';
import { ggufTokenizerMetadata } from './tokenizer-to-gguf';
import { f16Encode } from '../io/dtype';
import { GGML, GGML_TYPES, type GgufValue } from './types';
import { writeGguf, type GgufTensorToWrite } from './writer';

export interface SaveGgufOptions {
  /** general.name (default: the architecture). */
  name?: string;
  /** tokenizer.json and tokenizer_config.json content; without them the file has no vocabulary. */
  tokenizerJson?: Record<string, unknown> | null;
  tokenizerConfig?: Record<string, unknown> | null;
  onProgress?: (done: number, total: number, name: string) => void;
  /** How unquantized matrices are stored (default 'f32'; see the file comment for 'f16'). */
  floatType?: 'f32' | 'f16';
}

const LITTLE_ENDIAN = endianness() === 'LE';
const FILE_TYPE = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 } as const; // general.file_type: ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0

function f32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.alloc(data.length * 4);
  data.forEach((v, i) => out.writeFloatLE(v, 4 * i));
  return out;
}

/** Whether llama.cpp's converter stores this tensor in F16 under --outtype f16 (else F32). */
export function storedAsF16(ggufName: string, dims: number): boolean {
  return dims >= 2 && ggufName.endsWith('.weight') && !ggufName.endsWith('_norm.weight') && !/\.ffn_gate_inp\.weight$/.test(ggufName);
}

/** One tensor to write: GGUF dims are the row-major shape reversed. */
function tensorOf(name: string, w: Weight, floatType: 'f32' | 'f16' = 'f32'): GgufTensorToWrite {
  const dims = [...w.shape].reverse();
  if (w.quant) return { name, dims, type: GGML_TYPES.get(BLOCK_LAYOUTS[w.quant.format].ggmlType)!, bytes: () => (w.quant as { data: Uint8Array }).data };
  if (floatType === 'f16' && storedAsF16(name, dims.length)) return { name, dims, type: GGML_TYPES.get(GGML.F16)!, bytes: () => f16Encode(w.data, name) };
  return { name, dims, type: GGML_TYPES.get(GGML.F32)!, bytes: () => f32Bytes(w.data) };
}

/** Experts' (R, K) matrices stacked into one (E, R, K) tensor (GGUF dims [K, R, E]). */
function stacked(name: string, parts: Weight[], floatType: 'f32' | 'f16'): GgufTensorToWrite {
  const [R, K] = parts[0].shape;
  const E = parts.length;
  const quant = parts.every((p) => p.quant) && parts.every((p) => p.quant!.format === parts[0].quant!.format);
  const w: Weight = quant
    ? { shape: [E, R, K], data: new Float32Array(0), quant: stackRows(parts.map((p) => p.quant!)) }
    : { shape: [E, R, K], data: concat(parts.map((p) => p.data)) };
  return tensorOf(name, w, floatType);
}

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of xs) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

function fileType(weights: ModelWeights, floatType: 'f32' | 'f16'): { type: number; quantized: boolean } {
  const formats = Object.entries(weights).filter(([n, w]) => w.quant && n.startsWith('model.layers.')).map(([, w]) => w.quant!.format);
  if (formats.length === 0) return { type: FILE_TYPE[floatType], quantized: Object.values(weights).some((w) => w.quant) };
  return { type: FILE_TYPE[formats[0]], quantized: true };
}

/** The tensors of a model in file order. */
function tensorsOf(c: ModelConfig, weights: ModelWeights, arch: string, floatType: 'f32' | 'f16'): GgufTensorToWrite[] {
  const out: GgufTensorToWrite[] = [];
  const freqs = ropeFreqFactors(c);
  if (freqs) out.push(tensorOf('rope_freqs.weight', { shape: [freqs.length], data: freqs }));
  for (const [g, internal] of tensorNames(c)) {
    const w = weights[internal];
    if (!w || (internal === 'lm_head.weight' && c.tieWordEmbeddings)) continue;
    out.push(tensorOf(g, isRopePermuted(arch, internal) ? permuteRows(w, (r) => hfRowOf(r, c.headDim)) : w, floatType));
  }
  if (c.numExperts > 0) {
    for (let l = 0; l < c.numLayers; l++) {
      for (const [name, which] of EXPERTS) {
        const parts = Array.from({ length: c.numExperts }, (_, e) => weights[expertName(l, e, which)]);
        if (parts.some((p) => !p)) throw new Error(`weights of layer ${l}'s experts (${which}) are missing`);
        out.push(stacked(`blk.${l}.${name}`, parts, floatType));
      }
    }
  }
  return out;
}

/** Writes `path` (see the file comment). */
export function saveGguf(path: string, model: { config: ModelConfig; weights: ModelWeights; generation?: GenerationDefaults }, opts: SaveGgufOptions = {}): void {
  const c = model.config;
  const arch = ggufArchOf(c);
  const floatType = opts.floatType ?? 'f32';
  if (floatType !== 'f32' && floatType !== 'f16') throw new Error(`floatType "${floatType as string}" is not supported (expected f32 or f16)`);
  const { type, quantized } = fileType(model.weights, floatType);
  const kv: Array<[string, GgufValue]> = [
    ['general.architecture', gv.str(arch)],
    ['general.name', gv.str(opts.name ?? arch)],
    ['general.file_type', gv.u32(type)],
    ...(quantized ? ([['general.quantization_version', gv.u32(2)]] as Array<[string, GgufValue]>) : []),
    ...ggufConfigMetadata(c),
  ];
  if (opts.tokenizerJson) {
    const eos = [...new Set([...(model.generation?.eosTokenIds ?? []), ...c.eosTokenIds])];
    const bos = model.generation?.bosTokenId ?? c.bosTokenId;
    kv.push(...ggufTokenizerMetadata(opts.tokenizerJson, opts.tokenizerConfig ?? null, c.vocabSize, { bos, eos }, opts.name ?? path));
  } else {
    kv.push(['tokenizer.ggml.model', gv.str('none')]); // llama.cpp requires the key; "none" loads a model without a vocabulary
  }
  writeGguf(path, kv, tensorsOf(c, model.weights, arch, floatType), opts.onProgress);
}
