/*
 * A llama-family GGUF file as a LoadedModel: config from the metadata (./llama-config.ts,
 * validated by parseConfig), weights read tensor by tensor with positioned reads (F32/F16/BF16
 * as f32; Q8_0/Q4_0 kept in blocks), attn_q / attn_k rows put back into Hugging Face's
 * rotate-half order, stacked experts split per expert, and the embedded tokenizer
 * (./tokenizer-from-gguf.ts). Only the tensors the model uses are read.
 * Not a general GGUF runner: other architectures are refused with the supported list.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DEFAULT_GENERATION, parseConfig, type ModelConfig } from '../config';
import type { LoadedModel, LoadOptions } from '../io/model-dir';
import { quantizationConfigOf } from '../io/quantized-checkpoint';
import { quantizeModelWeights } from '../quant/quantize-model';
import { quantizedWeight } from '../quant/quantized-weight';
import { selectRows } from '../quant/quantized-matrix';
import { hfToInternal, type Weight } from '../weights';
import { EXPERTS, expertName, ggufRowOf, isRopePermuted, permuteRows, tensorNames } from './llama-tensors';
import { hfConfigFromGguf } from './llama-config';
import { GgufMeta } from './metadata';
import { openGguf, type GgufFile } from './reader';
import { readWeight } from './tensor-data';
import { tokenizerFromGguf, type EmbeddedTokenizer } from './tokenizer-from-gguf';
import { GgufError, GGUF_MAGIC } from './types';

/** Whether `path` is a GGUF file (a file whose first four bytes are "GGUF"). */
export function isGgufPath(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === GGUF_MAGIC;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** The rope_freqs.weight divisors (Llama 3 frequency scaling), when the file has them. */
function ropeFreqsOf(file: GgufFile): Float32Array | null {
  const t = file.tensors.get('rope_freqs.weight');
  return t ? Float32Array.from(readWeight(file, t).data) : null;
}

/** The config a GGUF file describes (metadata, and rope_freqs.weight when present). */
export function loadGgufConfig(path: string): ModelConfig {
  const file = openGguf(path);
  try {
    return parseConfig(hfConfigFromGguf(new GgufMeta(file.metadata, path), file.tensors, ropeFreqsOf(file)), `${path} (GGUF metadata)`);
  } finally {
    file.close();
  }
}

/** The tokenizer a GGUF file embeds (metadata only), or null. */
export function loadGgufTokenizer(path: string): EmbeddedTokenizer | null {
  const file = openGguf(path);
  try {
    return tokenizerFromGguf(new GgufMeta(file.metadata, path));
  } finally {
    file.close();
  }
}

/** Expert e's slice (rows [e*R, (e+1)*R)) of a stacked (E, R, K) tensor. */
function expertSlice(w: Weight, e: number): Weight {
  const [, R, K] = w.shape;
  if (w.quant) {
    const q = quantizedWeight(selectRows(w.quant, R, (i) => e * R + i));
    return q;
  }
  return { shape: [R, K], data: w.data.slice(e * R * K, (e + 1) * R * K) };
}

function readExperts(file: GgufFile, c: ModelConfig, src: Record<string, Weight>, used: Set<string>): void {
  for (let l = 0; l < c.numLayers; l++) {
    for (const [stacked, w, single] of EXPERTS) {
      const t = file.tensors.get(`blk.${l}.${stacked}`);
      if (t) {
        used.add(t.name);
        const all = readWeight(file, t);
        if (all.shape.length !== 3 || all.shape[0] !== c.numExperts) throw new GgufError(`${file.path}: tensor "${t.name}" has dims [${t.dims.join(', ')}], expected ${c.numExperts} experts in the last dimension`);
        for (let e = 0; e < c.numExperts; e++) src[expertName(l, e, w)] = expertSlice(all, e);
        continue;
      }
      for (let e = 0; e < c.numExperts; e++) {
        const one = file.tensors.get(`blk.${l}.${single}.${e}.weight`);
        if (!one) continue; // reported as missing, with its shape, by hfToInternal
        used.add(one.name);
        src[expertName(l, e, w)] = readWeight(file, one);
      }
    }
  }
}

/** Loads a GGUF file (see the file comment). */
export async function loadGguf(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const file = openGguf(path);
  try {
    const meta = new GgufMeta(file.metadata, path);
    const arch = meta.str('general.architecture');
    const ropeFreqs = ropeFreqsOf(file);
    const config = parseConfig(hfConfigFromGguf(meta, file.tensors, ropeFreqs), `${path} (GGUF metadata)`);
    const src: Record<string, Weight> = {};
    const used = new Set<string>(ropeFreqs ? ['rope_freqs.weight'] : []);
    for (const [g, internal] of tensorNames(config)) {
      const t = file.tensors.get(g);
      if (!t) continue;
      used.add(g);
      const w = readWeight(file, t);
      src[internal] = isRopePermuted(arch, internal) ? permuteRows(w, (r) => ggufRowOf(r, config.headDim)) : w;
    }
    if (config.numExperts > 0) readExperts(file, config, src, used);
    const ggufName = new Map(tensorNames(config).map(([g, i]) => [i, g]));
    let weights = hfToInternal(config, src, (name) => `${path} (GGUF tensor ${ggufName.get(name) ?? name})`);
    // A file may mix blocks we keep (Q8_0, Q4_0) with types read as f32 (K-quants, Q4_1, Q5_x, F16):
    // --quantize quantizes the latter and keeps the former as the file has them.
    if (opts.quantize) weights = quantizeModelWeights(config, weights, { format: opts.quantize, keepQuantized: true });
    const embedded = tokenizerFromGguf(meta);
    const bos = config.bosTokenId;
    return {
      dir: path,
      config,
      generation: { ...DEFAULT_GENERATION, eosTokenIds: [...config.eosTokenIds], bosTokenId: bos },
      weights,
      tokenizerPath: null,
      embeddedTokenizer: embedded,
      unusedTensors: [...file.tensors.keys()].filter((n) => !used.has(n)),
      quantization: quantizationConfigOf(config, weights),
    };
  } finally {
    file.close();
  }
}
