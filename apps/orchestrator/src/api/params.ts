/*
 * normalizeRequest: a public GenerateRequest -> the scheduler's plain request, with vLLM's
 * defaults and every bad value refused as INVALID_ARGUMENT naming the proto field
 * (`field 'sampling.temperature': must be >= 0, got -1`). Unknown models are NOT_FOUND.
 *
 * Defaults (vLLM SamplingParams / OpenAI API): temperature 1 (0 = greedy), top_p 1, top_k off,
 * min_p 0, penalties off, max_tokens 16, min_tokens 0, n 1, skip_special_tokens true, seed random.
 * What it is not: the HTTP body parser (http/openai-body.ts maps JSON onto this request first).
 */
import { invalidArgument, notFound } from '@llm/platform';
import { MAX_TOP_LOGPROBS } from '@llm/model';
import type { inference } from '@llm/proto';
import type { SampleSampling, StopRules } from '../scheduler/types';
import type { TraceRequest } from '../trace/trace-request';
import type { ModelFacts } from './model-facts';
import { ebnfOf, grammarSpecOf } from './structured-output';

export interface NormalizedRequest {
  requestId: string;
  model: string;
  promptIds: number[];
  sampling: SampleSampling;
  rules: StopRules;
  n: number;
  logprobs: boolean;
  skipSpecialTokens: boolean;
  cacheSalt: string;
  /** EBNF every sample's output follows (constrained decoding); empty for none. */
  grammarEbnf: string;
  /** The proto field the grammar came from (for errors at admission). */
  grammarField: string;
  /** An embedding request (Embed): the prompt is pooled, nothing is sampled. */
  embedPooling?: 'mean' | 'last';
  /** Score the prompt (alternatives per position); undefined: no. */
  promptLogprobs?: number;
  /** Record an internals trace (trace/trace-request.ts); undefined: no. */
  trace?: TraceRequest;
}

export interface RequestLimits {
  /** Most parallel samples per request. */
  maxN: number;
}

let requestCounter = 0;

/** A request id unique within this process (and, with the random part, across processes). */
export function newRequestId(): string {
  return `req-${Date.now().toString(36)}-${(requestCounter++).toString(36)}-${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
}

export function normalizeRequest(req: inference.GenerateRequest, facts: ModelFacts, limits: RequestLimits): NormalizedRequest {
  checkServedModel(req.model, facts);
  const promptIds = promptTokens(req, facts);
  const s = req.sampling;
  const n = intIn('sampling.n', s?.n, 1, 1, limits.maxN);
  const maxTokens = s?.maxTokens ?? 16;
  const room = facts.maxContextTokens - promptIds.length;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw invalidArgument('sampling.max_tokens', `must be >= 1, got ${maxTokens}`);
  if (maxTokens > room) {
    throw invalidArgument('sampling.max_tokens', `${maxTokens} is too large: the prompt has ${promptIds.length} tokens and the context is ${facts.maxContextTokens}, so at most ${room}`);
  }
  const blocksNeeded = Math.ceil((promptIds.length + maxTokens) / facts.blockSize);
  if (facts.numBlocks > 0 && blocksNeeded > facts.numBlocks - 1) {
    throw invalidArgument('sampling.max_tokens', `prompt + max_tokens = ${promptIds.length + maxTokens} tokens need ${blocksNeeded} KV blocks but the worker's pool has ${facts.numBlocks - 1}; lower max_tokens`);
  }
  const minTokens = intIn('sampling.min_tokens', s?.minTokens, 0, 0, maxTokens);
  const logprobs = s?.logprobs ?? false;
  const structured = grammarSpecOf(req.structuredOutput);
  if (structured && !facts.supportsGrammar) throw invalidArgument(structured.field, "this model's worker cannot constrain output (its model directory has no tokenizer.json)");
  return {
    requestId: req.requestId || newRequestId(),
    model: facts.modelId,
    promptIds,
    sampling: samplingOf(s, facts),
    rules: {
      maxTokens,
      minTokens,
      stopTokenIds: tokenIds('sampling.stop_token_ids', s?.stopTokenIds ?? [], facts.vocabSize),
      eosTokenIds: facts.eosTokenIds,
      ignoreEos: s?.ignoreEos ?? false,
      stop: stopStrings(s?.stop ?? []),
      maxContextTokens: facts.maxContextTokens,
    },
    n,
    logprobs,
    skipSpecialTokens: s?.skipSpecialTokens ?? true,
    // A scored prompt is computed in full: a salt of its own keeps other requests' cached blocks out.
    cacheSalt: s?.promptLogprobs === undefined ? req.cacheSalt ?? '' : `prompt-logprobs:${Math.random()}:${req.cacheSalt ?? ''}`,
    grammarEbnf: structured ? ebnfOf(structured.spec, structured.field) : '',
    promptLogprobs: s?.promptLogprobs === undefined ? undefined : intIn('sampling.prompt_logprobs', s.promptLogprobs, 0, 0, MAX_TOP_LOGPROBS),
    grammarField: structured?.field ?? '',
  };
}

/** NOT_FOUND unless `model` is empty, the served id, or one of its aliases. */
export function checkServedModel(model: string | undefined, facts: ModelFacts): void {
  if (!model || model === facts.modelId || facts.aliases.includes(model)) return;
  throw notFound(`field 'model': model '${model}' is not served here (served: ${[facts.modelId, ...facts.aliases].join(', ')})`);
}

function promptTokens(req: inference.GenerateRequest, facts: ModelFacts): number[] {
  let ids: number[];
  if (req.promptTokenIds && req.promptTokenIds.length > 0) {
    ids = tokenIds('prompt_token_ids', req.promptTokenIds, facts.vocabSize);
  } else {
    if (!req.prompt) throw invalidArgument('prompt', 'must not be empty (send prompt text or prompt_token_ids)');
    ids = facts.tokenizer.encode(req.prompt);
    if (ids.length === 0) throw invalidArgument('prompt', 'encodes to no tokens');
  }
  if (ids.length >= facts.maxContextTokens) {
    throw invalidArgument(req.promptTokenIds?.length ? 'prompt_token_ids' : 'prompt', `has ${ids.length} tokens but the model's context is ${facts.maxContextTokens} (at most ${facts.maxContextTokens - 1} leave room for one new token)`);
  }
  return ids;
}

function samplingOf(s: inference.SamplingParams | undefined, facts: ModelFacts): SampleSampling {
  const topK = s?.topK ?? 0;
  if (!Number.isInteger(topK) || topK < -1) throw invalidArgument('sampling.top_k', `must be -1, 0 (off) or a positive integer, got ${topK}`);
  const logitBias: Record<number, number> = {};
  for (const [k, v] of Object.entries(s?.logitBias ?? {})) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || id >= facts.vocabSize) throw invalidArgument('sampling.logit_bias', `token id ${k} is outside the vocabulary [0, ${facts.vocabSize})`);
    logitBias[id] = numIn(`sampling.logit_bias[${k}]`, v, 0, -100, 100);
  }
  return {
    temperature: numIn('sampling.temperature', s?.temperature, 1, 0, Infinity),
    topP: numIn('sampling.top_p', s?.topP, 1, 0, 1, true),
    topK: topK <= 0 ? 0 : Math.min(topK, facts.vocabSize),
    minP: numIn('sampling.min_p', s?.minP, 0, 0, 1),
    repetitionPenalty: numIn('sampling.repetition_penalty', s?.repetitionPenalty, 1, 0, Infinity, true),
    presencePenalty: numIn('sampling.presence_penalty', s?.presencePenalty, 0, -2, 2),
    frequencyPenalty: numIn('sampling.frequency_penalty', s?.frequencyPenalty, 0, -2, 2),
    logitBias,
    seed: seedOf(s?.seed),
    numTopLogprobs: s?.logprobs ? intIn('sampling.top_logprobs', s?.topLogprobs, 0, 0, MAX_TOP_LOGPROBS) : 0,
  };
}

function seedOf(seed: number | undefined): number {
  if (seed === undefined) return Math.floor(Math.random() * 2 ** 32);
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalidArgument('sampling.seed', `must be an integer in [0, 2^53), got ${seed}`);
  return seed;
}

function numIn(field: string, v: number | undefined, def: number, lo: number, hi: number, loOpen = false): number {
  if (v === undefined) return def;
  const ok = Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
  if (!ok) throw invalidArgument(field, `must be ${loOpen ? '>' : '>='} ${lo}${hi === Infinity ? '' : ` and <= ${hi}`}, got ${v}`);
  return v;
}

function intIn(field: string, v: number | undefined, def: number, lo: number, hi: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < lo || v > hi) throw invalidArgument(field, `must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

function tokenIds(field: string, ids: readonly number[], vocabSize: number): number[] {
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw invalidArgument(`${field}[${i}]`, `token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  });
  return [...ids];
}

function stopStrings(stop: readonly string[]): string[] {
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw invalidArgument(`sampling.stop[${i}]`, 'must be a non-empty string');
  });
  return [...stop];
}
