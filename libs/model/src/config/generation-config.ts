/**
 * generation_config.json -> sampling defaults, following transformers' GenerationConfig:
 * `do_sample: false` (the default) means greedy decoding whatever temperature says; absent keys
 * take GenerationConfig's defaults (temperature 1, top_k 50, top_p 1, repetition_penalty 1).
 */
import { ConfigReader } from './model-config';

export interface GenerationDefaults {
  doSample: boolean;
  /** 0 when greedy */
  temperature: number;
  /** 0 = off */
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  maxNewTokens: number | null;
  eosTokenIds: number[];
  bosTokenId: number | null;
  padTokenId: number | null;
}

export const DEFAULT_GENERATION: GenerationDefaults = {
  doSample: false, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1,
  maxNewTokens: null, eosTokenIds: [], bosTokenId: null, padTokenId: null,
};

function optNumber(r: ConfigReader, key: string, fallback: number, min: number, max = Infinity): number {
  const v = r.json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !(v >= min && v <= max)) r.fail(key, `a number in [${min}, ${max}]`);
  return v;
}

export function parseGenerationConfig(json: unknown, source = 'generation_config.json'): GenerationDefaults {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const r = new ConfigReader(source, json as Record<string, unknown>);
  const doSample = r.bool('do_sample', false);
  const maxNew = r.json.max_new_tokens;
  return {
    doSample,
    temperature: doSample ? optNumber(r, 'temperature', 1, 0) : 0,
    topK: doSample ? Math.floor(optNumber(r, 'top_k', 50, 0)) : 0,
    topP: doSample ? optNumber(r, 'top_p', 1, 0, 1) : 1,
    minP: doSample ? optNumber(r, 'min_p', 0, 0, 1) : 0,
    repetitionPenalty: optNumber(r, 'repetition_penalty', 1, Number.MIN_VALUE),
    maxNewTokens: maxNew === undefined || maxNew === null ? null : r.int('max_new_tokens'),
    eosTokenIds: r.ids('eos_token_id'),
    bosTokenId: r.optId('bos_token_id'),
    padTokenId: r.optId('pad_token_id'),
  };
}

/** GenerationDefaults -> generation_config.json object. */
export function generationConfigToHf(g: GenerationDefaults): Record<string, unknown> {
  const out: Record<string, unknown> = { do_sample: g.doSample };
  if (g.doSample) Object.assign(out, { temperature: g.temperature, top_k: g.topK, top_p: g.topP, min_p: g.minP });
  if (g.repetitionPenalty !== 1) out.repetition_penalty = g.repetitionPenalty;
  if (g.maxNewTokens !== null) out.max_new_tokens = g.maxNewTokens;
  if (g.eosTokenIds.length) out.eos_token_id = g.eosTokenIds.length === 1 ? g.eosTokenIds[0] : g.eosTokenIds;
  if (g.bosTokenId !== null) out.bos_token_id = g.bosTokenId;
  if (g.padTokenId !== null) out.pad_token_id = g.padTokenId;
  return out;
}
