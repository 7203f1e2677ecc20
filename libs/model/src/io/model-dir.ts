/**
 * Hugging Face model directories: load (config.json, generation_config.json, model.safetensors or
 * a sharded model.safetensors.index.json, tokenizer.json) into a LoadedModel with weights in the
 * internal naming (../weights/names), and save the same back. Directories written by
 * `llm quantize` hold block-quantized linear weights (./quantized-checkpoint.ts); `quantize`
 * quantizes an f32/f16/bf16 model while it loads. Saving as F16 refuses a weight past F16's range
 * (by name) rather than storing inf. Every failure names the directory or file and
 * what was expected. Deliberately not: downloading from a hub, pytorch_model.bin.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelConfig, parseConfig, configToHf, GenerationDefaults, DEFAULT_GENERATION, parseGenerationConfig, generationConfigToHf } from '../config';
import { ModelWeights, Weight, hfToInternal, internalToHf } from '../weights';
import type { QuantFormat } from '../quant/formats';
import { quantizeModelWeights } from '../quant/quantize-model';
import { quantizationConfigOf, quantizationOf, restoreQuantized, storedTensor, type QuantizationConfig } from './quantized-checkpoint';
import { isGgufPath, loadGguf, loadGgufConfig, loadGgufTokenizer } from '../gguf/load-gguf';
import type { EmbeddedTokenizer } from '../gguf/tokenizer-from-gguf';
import { assertFitsF16 } from './dtype';
import { StoredDType, encodeSafetensors, readSafetensors, type SafeTensor } from './safetensors';

export interface LoadedModel {
  dir: string;
  config: ModelConfig;
  /** generation_config.json, or greedy defaults when absent */
  generation: GenerationDefaults;
  /** internal naming, f32, [out, in] linear layout; lm_head aliases embed_tokens when tied */
  weights: ModelWeights;
  /** path of tokenizer.json when present */
  tokenizerPath: string | null;
  /** checkpoint tensors the architecture does not use (e.g. rotary inv_freq buffers) */
  unusedTensors: string[];
  /** How the weights are quantized (absent or null: f32 values throughout). */
  quantization?: QuantizationConfig | null;
  /** A GGUF file's embedded tokenizer (tokenizer.json and tokenizer_config.json content). */
  embeddedTokenizer?: EmbeddedTokenizer | null;
}

export interface LoadOptions {
  /** Quantize the linear layers (and the LM head, in Q8_0) while loading. */
  quantize?: QuantFormat;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and normalises `dir/config.json` (or a GGUF file's metadata). */
export function loadConfig(dir: string): ModelConfig {
  if (isGgufPath(dir)) return loadGgufConfig(dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`model dir ${dir} does not exist (expected a Hugging Face model directory)`);
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`model dir ${dir} has no config.json (expected a Hugging Face model directory)`);
  return parseConfig(readJson(path), path);
}

/** The checkpoint's tensors with HF names, and which file each came from (rawU8: U8 tensors as bytes). */
function readCheckpoint(dir: string, rawU8: boolean): { tensors: Record<string, SafeTensor>; origin: Map<string, string>; source: string } {
  const indexPath = join(dir, 'model.safetensors.index.json');
  const single = join(dir, 'model.safetensors');
  const origin = new Map<string, string>();
  if (existsSync(indexPath)) {
    const index = readJson(indexPath) as { weight_map?: Record<string, string> };
    const map = index?.weight_map;
    if (!map || typeof map !== 'object') throw new Error(`${indexPath}: missing "weight_map" (expected {"weight_map": {tensor: shard file}})`);
    const tensors: Record<string, SafeTensor> = {};
    for (const shard of [...new Set(Object.values(map))]) {
      const shardPath = join(dir, shard);
      if (!existsSync(shardPath)) throw new Error(`${indexPath}: shard ${shard} does not exist in ${dir}`);
      const read = readSafetensors(shardPath, { rawU8 });
      for (const [name, t] of Object.entries(read)) {
        tensors[name] = t;
        origin.set(name, shardPath);
      }
    }
    for (const [name, shard] of Object.entries(map)) {
      if (origin.get(name) !== join(dir, shard)) throw new Error(`${indexPath}: maps "${name}" to ${shard}, which does not contain it`);
    }
    return { tensors, origin, source: indexPath };
  }
  if (!existsSync(single)) throw new Error(`model dir ${dir} has neither model.safetensors nor model.safetensors.index.json`);
  const tensors = readSafetensors(single, { rawU8 });
  for (const name of Object.keys(tensors)) origin.set(name, single);
  return { tensors, origin, source: single };
}

/** Loads a Hugging Face model directory or a GGUF file (optionally quantizing it on the way in). */
export async function loadModelDir(dir: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  if (isGgufPath(dir)) return loadGguf(dir, opts);
  const config = loadConfig(dir);
  const genPath = join(dir, 'generation_config.json');
  const generation = existsSync(genPath) ? parseGenerationConfig(readJson(genPath), genPath) : { ...DEFAULT_GENERATION, eosTokenIds: [...config.eosTokenIds], bosTokenId: config.bosTokenId };
  if (generation.eosTokenIds.length === 0) generation.eosTokenIds = [...config.eosTokenIds];
  const stored = quantizationOf(config.raw, join(dir, 'config.json'));
  const { tensors, origin, source } = readCheckpoint(dir, stored !== null);
  const where = (name: string) => origin.get(name) ?? source;
  const used = new Set<string>();
  let weights = hfToInternal(config, stored ? restoreQuantized(config, tensors, where) : tensors, where, used);
  const unusedTensors = Object.keys(tensors).filter((n) => !used.has(n));
  if (opts.quantize) weights = quantizeModelWeights(config, weights, { format: opts.quantize });
  const tok = join(dir, 'tokenizer.json');
  return { dir, config, generation, weights, tokenizerPath: existsSync(tok) ? tok : null, unusedTensors, quantization: quantizationConfigOf(config, weights) };
}

/** A model's tokenizer files as text: tokenizer.json and tokenizer_config.json (either may be absent). */
export interface ModelTokenizerFiles {
  tokenizerJson: string | null;
  tokenizerConfigJson: string | null;
  /** Where they came from, for error messages. */
  source: string;
}

/**
 * The tokenizer files of a model directory, or those a GGUF file embeds (its metadata only is
 * read), for services that need the tokenizer but not the weights.
 */
export function readModelTokenizerFiles(path: string): ModelTokenizerFiles {
  if (isGgufPath(path)) {
    const t = loadGgufTokenizer(path);
    return { tokenizerJson: t ? JSON.stringify(t.tokenizerJson) : null, tokenizerConfigJson: t ? JSON.stringify(t.tokenizerConfig) : null, source: `${path} (embedded tokenizer)` };
  }
  const read = (name: string) => (existsSync(join(path, name)) ? readFileSync(join(path, name), 'utf8') : null);
  return { tokenizerJson: read('tokenizer.json'), tokenizerConfigJson: read('tokenizer_config.json'), source: join(path, 'tokenizer.json') };
}

/** The tokenizer.json text of a loaded model (its file, or the GGUF's embedded one), or null. */
export function modelTokenizerJson(model: LoadedModel): string | null {
  if (model.embeddedTokenizer) return JSON.stringify(model.embeddedTokenizer.tokenizerJson);
  return model.tokenizerPath && existsSync(model.tokenizerPath) ? readFileSync(model.tokenizerPath, 'utf8') : null;
}

export interface SaveOptions {
  dtype?: StoredDType;
  /** tokenizer.json content (object or JSON text) */
  tokenizerJson?: unknown;
  generationConfig?: GenerationDefaults;
  /** split weights into shards of at most this many bytes, with model.safetensors.index.json */
  maxShardBytes?: number;
}

const TORCH_DTYPE: Record<StoredDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const BYTES: Record<StoredDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Writes config.json, model.safetensors (or shards + index), and optional tokenizer/generation config. */
export function saveModelDir(dir: string, config: ModelConfig, weights: ModelWeights, opts: SaveOptions = {}): void {
  const dtype = opts.dtype ?? 'F32';
  if (!(dtype in BYTES)) throw new Error(`dtype ${dtype} is not supported (expected F32, F16 or BF16)`);
  mkdirSync(dir, { recursive: true });
  const hf = internalToHf(config, weights);
  if (dtype === 'F16') for (const [n, w] of Object.entries(hf)) if (!w.quant) assertFitsF16(w.data, n); // before any file is written
  const hfConfig = configToHf(config, TORCH_DTYPE[dtype]);
  const quantization = quantizationConfigOf(config, weights);
  if (quantization) hfConfig.quantization_config = quantization;
  else delete hfConfig.quantization_config;
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(hfConfig, null, 2)}\n`);
  writeWeights(dir, hf, dtype, opts.maxShardBytes);
  if (opts.tokenizerJson !== undefined) {
    const text = typeof opts.tokenizerJson === 'string' ? opts.tokenizerJson : JSON.stringify(opts.tokenizerJson);
    writeFileSync(join(dir, 'tokenizer.json'), text);
  }
  if (opts.generationConfig) writeFileSync(join(dir, 'generation_config.json'), `${JSON.stringify(generationConfigToHf(opts.generationConfig), null, 2)}\n`);
}

function writeWeights(dir: string, hf: Record<string, Weight>, dtype: StoredDType, maxShardBytes?: number): void {
  const names = Object.keys(hf).sort();
  const entry = (n: string) => storedTensor(hf[n], dtype);
  if (!maxShardBytes) {
    writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(Object.fromEntries(names.map((n) => [n, entry(n)]))));
    return;
  }
  const shards: string[][] = [[]];
  let size = 0, total = 0;
  for (const n of names) {
    const q = hf[n].quant;
    const bytes = q ? q.data.length : hf[n].data.length * BYTES[dtype];
    if (size > 0 && size + bytes > maxShardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(n);
    size += bytes;
    total += bytes;
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    writeFileSync(join(dir, file), encodeSafetensors(Object.fromEntries(shard.map((n) => [n, entry(n)]))));
    for (const n of shard) weightMap[n] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
}

