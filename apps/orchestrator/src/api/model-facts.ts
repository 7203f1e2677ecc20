/*
 * ModelFacts: what the orchestrator knows about the served model and the worker's pool, read once
 * at start-up (the worker's GetModelInfo, the model directory's tokenizer.json,
 * tokenizer_config.json and config.json, or what a GGUF file embeds). Requests are validated against these numbers.
 *
 * What it is not: a model loader. Only the tokenizer and small JSON files are read; the weights
 * stay with the worker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isGgufPath, loadConfig as loadModelConfig, readModelTokenizerFiles } from '@llm/model';
import type { worker } from '@llm/proto';
import { loadTokenizerConfig, loadTokenizerJson, type Tokenizer, type TokenizerConfig } from '@llm/tokenizer';

export interface ModelFacts {
  modelId: string;
  architecture: string;
  vocabSize: number; // V
  maxContextTokens: number;
  numLayers: number; // L
  hiddenSize: number; // C
  numHeads: number; // NH
  numKvHeads: number; // NKV
  numExperts: number; // E
  eosTokenIds: number[];
  bosTokenId: number | undefined;
  /** Physical blocks of the worker's pool (the null block included). */
  numBlocks: number;
  blockSize: number;
  workerId: string;
  tokenizer: Tokenizer;
  /** tokenizer_config.json, when the model directory has one. */
  tokenizerConfig: TokenizerConfig | null;
  /** Characters in the vocabulary's longest token text (bounds how much text one token covers). */
  maxTokenChars: number;
  /** Other names clients may use (--served-model-name beyond the first). */
  aliases: string[];
  /** Whether the worker follows grammars (constrained decoding). */
  supportsGrammar: boolean;
}

/** The longest prompt text that could still fit the context: context x the longest token's characters. */
export function derivedMaxPromptChars(facts: Pick<ModelFacts, 'maxContextTokens' | 'maxTokenChars'>): number {
  return facts.maxContextTokens * Math.max(1, facts.maxTokenChars);
}

function longestTokenChars(tokenizer: Tokenizer): number {
  let max = 1;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const t = tokenizer.idToToken(id);
    if (t !== undefined && t.length > max) max = t.length;
  }
  return max;
}

/** Reads the model directory's tokenizer files and merges them with the worker's description. */
export function loadModelFacts(modelDir: string, modelId: string, info: worker.GetModelInfoResponse, aliases: string[] = []): ModelFacts {
  const files = readModelTokenizerFiles(modelDir); // a directory's files, or a GGUF file's embedded vocabulary
  if (files.tokenizerJson === null) {
    throw new Error(`model dir ${modelDir} has no tokenizer.json (expected a Hugging Face model directory or a GGUF file; pass --model <path>)`);
  }
  const tokenizer = named(files.source, () => loadTokenizerJson(files.tokenizerJson as string, files.source));
  const cfgSource = files.source === join(modelDir, 'tokenizer.json') ? join(modelDir, 'tokenizer_config.json') : files.source;
  const tokenizerConfig = files.tokenizerConfigJson !== null ? named(cfgSource, () => loadTokenizerConfig(files.tokenizerConfigJson as string)) : null;
  const numExperts = isGgufPath(modelDir) || existsSync(join(modelDir, 'config.json')) ? loadModelConfig(modelDir).numExperts : 0;
  return {
    modelId: modelId || info.modelId,
    architecture: info.architecture,
    vocabSize: info.vocabSize,
    maxContextTokens: info.maxPositionEmbeddings,
    numLayers: info.numLayers,
    hiddenSize: info.hiddenSize,
    numHeads: info.numAttentionHeads,
    numKvHeads: info.numKeyValueHeads,
    numExperts,
    eosTokenIds: [...info.eosTokenIds],
    bosTokenId: info.bosTokenId,
    numBlocks: info.numBlocks,
    blockSize: info.blockSizeTokens,
    workerId: info.workerId,
    tokenizer,
    tokenizerConfig,
    maxTokenChars: longestTokenChars(tokenizer),
    aliases: aliases.filter((a) => a && a !== (modelId || info.modelId)),
    supportsGrammar: info.supportsGrammar,
  };
}

/** Runs a file reader and prefixes its error with the file's path (one line naming the file). */
function named<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(message.includes(path) ? message : `${path}: ${message}`);
  }
}
