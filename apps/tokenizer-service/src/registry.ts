/*
 * TokenizerRegistry: the tokenizers this service answers for, by name. The four tiktoken
 * encodings (loaded on first use) and, for each served model directory, its tokenizer.json,
 * tokenizer_config.json (chat template, bos/eos) and generation_config.json (eos ids); for a
 * GGUF file, the vocabulary and chat template it embeds.
 *
 * What it is not: a model loader; weights are never read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readModelTokenizerFiles } from '@llm/model';
import {
  ENCODING_NAMES,
  getEncoding,
  loadTokenizerConfig,
  loadTokenizerJson,
  TokenizerError,
  type EncodingName,
  type Tokenizer,
  type TokenizerConfig,
} from '@llm/tokenizer';

export interface ServedTokenizer {
  name: string;
  tokenizer: Tokenizer;
  /** tokenizer_config.json of a model, when it has one. */
  config: TokenizerConfig | null;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
}

export class TokenizerRegistry {
  private readonly models = new Map<string, ServedTokenizer>();
  private readonly encodings = new Map<string, ServedTokenizer>();

  /** Loads every model directory now, so a bad one fails at start-up with its path. */
  constructor(modelDirs: readonly string[]) {
    for (const dir of modelDirs) {
      const served = loadModelTokenizer(dir);
      if (this.models.has(served.name)) throw new Error(`two model directories share the id ${served.name} (${dir})`);
      this.models.set(served.name, served);
    }
  }

  /** Model ids served (directory names). */
  get modelIds(): string[] {
    return [...this.models.keys()];
  }

  /** The tokenizer named `name`: an encoding or a model id. */
  get(name: string): ServedTokenizer {
    const model = this.models.get(name);
    if (model) return model;
    if ((ENCODING_NAMES as readonly string[]).includes(name)) {
      let enc = this.encodings.get(name);
      if (!enc) {
        const tokenizer = getEncoding(name as EncodingName);
        const eot = tokenizer.specialTokens.get('<|endoftext|>');
        enc = { name, tokenizer, config: null, bosTokenId: undefined, eosTokenIds: eot === undefined ? [] : [eot] };
        this.encodings.set(name, enc);
      }
      return enc;
    }
    const known = [...ENCODING_NAMES, ...this.models.keys()].join(', ');
    throw new TokenizerError(`unknown tokenizer ${JSON.stringify(name)} (expected one of ${known})`, 'NOT_FOUND');
  }
}

function loadModelTokenizer(dir: string): ServedTokenizer {
  const files = readModelTokenizerFiles(dir); // a directory's tokenizer files, or a GGUF file's embedded vocabulary
  if (files.tokenizerJson === null) throw new Error(`model ${dir} has no tokenizer.json (expected a Hugging Face model directory or a GGUF file with a vocabulary)`);
  const { tokenizerJson, tokenizerConfigJson, source } = files;
  const tokenizer = named(source, () => loadTokenizerJson(tokenizerJson, source));
  const cfgSource = source === join(dir, 'tokenizer.json') ? join(dir, 'tokenizer_config.json') : source;
  const config = tokenizerConfigJson !== null ? named(cfgSource, () => loadTokenizerConfig(tokenizerConfigJson)) : null;
  const idOf = (t: string | null | undefined) => (t ? tokenizer.tokenToId(t) : undefined);
  const eos = new Set<number>();
  const cfgEos = idOf(config?.eosToken);
  if (cfgEos !== undefined) eos.add(cfgEos);
  for (const id of generationEosIds(dir)) eos.add(id);
  return { name: basename(resolve(dir)), tokenizer, config, bosTokenId: idOf(config?.bosToken), eosTokenIds: [...eos] };
}

/** eos_token_id of generation_config.json: a number or a list of numbers. */
function generationEosIds(dir: string): number[] {
  const path = join(dir, 'generation_config.json');
  if (!existsSync(path)) return []; // also for a GGUF file (its EOS is the tokenizer's)
  const v = (JSON.parse(readFileSync(path, 'utf8')) as { eos_token_id?: unknown }).eos_token_id;
  const ids = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  if (!ids.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
    throw new Error(`${path}: eos_token_id must be a non-negative integer or a list of them`);
  }
  return ids as number[];
}

/** Runs a file reader; its error becomes one line naming the file. */
function named<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const message = (err as Error).message.replace(/^tokenizer(_config)?\.json: /, '');
    throw new Error(message.includes(path) ? message : `${path}: ${message}`);
  }
}
