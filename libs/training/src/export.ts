/*
 * Export of a trained model as a Hugging Face model directory (config.json,
 * model.safetensors, tokenizer.json, generation_config.json) through the model library's
 * saveModelDir, so `llm generate`, `llm serve` and the worker load it unchanged; and the
 * reverse, a directory as the starting point of training (`llm train --init DIR`).
 *
 * Not writing training state: checkpoints (optimiser moments, data position) are separate.
 */
import { DEFAULT_GENERATION, loadModelDir, type ModelConfig, saveModelDir } from '@llm/model';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTrainable } from './model/config';
import { type ParamMap, paramsFromWeights, paramsToWeights } from './model/params';

export interface ExportOptions {
  /** tokenizer.json content (object or JSON text). */
  tokenizerJson: unknown;
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Generation stops at this id (written to generation_config.json). */
  eosTokenId: number | null;
  /** Further ids generation stops at (e.g. <|endoftext|> beside a chat model's <|im_end|>). */
  extraEosTokenIds?: number[];
  bosTokenId?: number | null;
  /** tokenizer_config.json content (chat template, token names), written when given. */
  tokenizerConfig?: Record<string, unknown>;
}

export function exportModelDir(dir: string, cfg: ModelConfig, params: ParamMap, opts: ExportOptions): void {
  const eos = opts.eosTokenId === null ? [] : [opts.eosTokenId, ...(opts.extraEosTokenIds ?? [])];
  const config: ModelConfig = { ...cfg, eosTokenIds: eos, bosTokenId: opts.bosTokenId ?? cfg.bosTokenId };
  saveModelDir(dir, config, paramsToWeights(config, params), {
    dtype: opts.dtype ?? 'F32',
    tokenizerJson: opts.tokenizerJson,
    generationConfig: { ...DEFAULT_GENERATION, eosTokenIds: eos, bosTokenId: config.bosTokenId },
  });
  if (opts.tokenizerConfig) writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(opts.tokenizerConfig, null, 2)}\n`);
}

export interface InitialModel {
  config: ModelConfig;
  params: ParamMap;
  /** tokenizer.json text of the directory, when it has one. */
  tokenizerJson: string | null;
}

/** A model directory as trainable float32 parameters (any supported architecture). */
export async function loadInitialModel(dir: string): Promise<InitialModel> {
  const m = await loadModelDir(dir);
  checkTrainable(m.config);
  return {
    config: m.config,
    params: paramsFromWeights(m.config, m.weights),
    tokenizerJson: m.tokenizerPath ? readFileSync(m.tokenizerPath, 'utf8') : null,
  };
}
