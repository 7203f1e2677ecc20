/*
 * normalizeRequest: a public GenerateRequest -> the scheduler's plain request, with vLLM's
 * defaults and every bad value refused as INVALID_ARGUMENT naming the proto field
 * (`field 'sampling.temperature': must be a finite number <= 3.4e38, got 1e+308`). Unknown models
 * are NOT_FOUND. The rules themselves live in request-rules.ts, which the HTTP schemas call too.
 *
 * Defaults (vLLM SamplingParams / OpenAI API): temperature 1 (0 = greedy), top_p 1, top_k off,
 * min_p 0, penalties off, max_tokens 16, min_tokens 0, n 1, skip_special_tokens true, seed random.
 * The request id the platform keys its state by is always made here; a caller's request_id is
 * only echoed (a reused one can never select another request's stored deltas).
 * A structured-output spec becomes the EBNF the worker follows (structured-output.ts); a scored
 * prompt (prompt_logprobs) gets a cache salt of its own.
 * What it is not: the HTTP body parser (http/schemas map JSON onto this request first).
 */
import { invalidArgument, notFound } from '@llm/platform';
import { MAX_TOP_LOGPROBS } from '@llm/model';
import type { inference } from '@llm/proto';
import type { SampleSampling, StopRules } from '../scheduler/types';
import type { TraceRequest } from '../trace/trace-request';
import type { ModelFacts } from './model-facts';
import { ebnfOf, grammarSpecOf } from './structured-output';
import { clip, listProblem, numberProblem, promptCharsProblem, SAMPLING_RULES, seedProblem, TEXT_LIMITS, textProblem, type NumberRule } from './request-rules';

export interface NormalizedRequest {
  /** The platform's id of this request (unique; keys the queue job, the delta stream and sequence ids). */
  requestId: string;
  /** The caller's request_id ('' when none), echoed in responses. */
  clientRequestId: string;
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
  /** Longest prompt text (characters) tokenized at all; longer ones are refused before tokenizing. */
  maxPromptChars?: number;
  /** Why new requests are refused now (graceful shutdown), if they are. */
  admission?: () => string | undefined;
}

let requestCounter = 0;

/** A request id unique within this process (and, with the random part, across processes). */
export function newRequestId(): string {
  return `req-${Date.now().toString(36)}-${(requestCounter++).toString(36)}-${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
}

export function normalizeRequest(req: inference.GenerateRequest, facts: ModelFacts, limits: RequestLimits): NormalizedRequest {
  check('model', textProblem(req.model ?? '', TEXT_LIMITS.modelChars));
  check('request_id', textProblem(req.requestId ?? '', TEXT_LIMITS.requestIdChars));
  check('cache_salt', textProblem(req.cacheSalt ?? '', TEXT_LIMITS.cacheSaltChars));
  checkServedModel(req.model, facts);
  const promptIds = promptTokens(req, facts, limits);
  const s = req.sampling;
  const n = intIn('n', s?.n, 1, limits.maxN);
  const maxTokens = intIn('max_tokens', s?.maxTokens, 16);
  const room = facts.maxContextTokens - promptIds.length;
  if (maxTokens > room) {
    throw invalidArgument('sampling.max_tokens', `${maxTokens} is too large: the prompt has ${promptIds.length} tokens and the context is ${facts.maxContextTokens}, so at most ${room}`);
  }
  const blocksNeeded = Math.ceil((promptIds.length + maxTokens) / facts.blockSize);
  if (facts.numBlocks > 0 && blocksNeeded > facts.numBlocks - 1) {
    throw invalidArgument('sampling.max_tokens', `prompt + max_tokens = ${promptIds.length + maxTokens} tokens need ${blocksNeeded} KV blocks but the worker's pool has ${facts.numBlocks - 1}; lower max_tokens`);
  }
  const minTokens = intIn('min_tokens', s?.minTokens, 0, maxTokens);
  const logprobs = s?.logprobs ?? false;
  const structured = grammarSpecOf(req.structuredOutput);
  if (structured && !facts.supportsGrammar) throw invalidArgument(structured.field, "this model's worker cannot constrain output (its model directory has no tokenizer.json)");
  const promptLogprobs = s?.promptLogprobs === undefined ? undefined : intIn('prompt_logprobs', s.promptLogprobs, 0);
  return {
    requestId: newRequestId(),
    clientRequestId: req.requestId ?? '',
    model: facts.modelId,
    promptIds,
    sampling: samplingOf(s, facts),
    rules: {
      maxTokens,
      minTokens,
      stopTokenIds: tokenIds('sampling.stop_token_ids', s?.stopTokenIds ?? [], facts.vocabSize, TEXT_LIMITS.stopTokenIds),
      eosTokenIds: facts.eosTokenIds,
      ignoreEos: s?.ignoreEos ?? false,
      stop: stopStrings(s?.stop ?? []),
      maxContextTokens: facts.maxContextTokens,
    },
    n,
    logprobs,
    skipSpecialTokens: s?.skipSpecialTokens ?? true,
    // A scored prompt is computed in full: a salt of its own keeps other requests' cached blocks out.
    cacheSalt: promptLogprobs === undefined ? req.cacheSalt ?? '' : `prompt-logprobs:${Math.random()}:${req.cacheSalt ?? ''}`,
    grammarEbnf: structured ? ebnfOf(structured.spec, structured.field) : '',
    grammarField: structured?.field ?? '',
    promptLogprobs,
  };
}

/** NOT_FOUND unless `model` is empty, the served id, or one of its aliases. */
export function checkServedModel(model: string | undefined, facts: ModelFacts): void {
  if (!model || model === facts.modelId || facts.aliases.includes(model)) return;
  throw notFound(`field 'model': model '${clip(model)}' is not served here (served: ${[facts.modelId, ...facts.aliases].join(', ')})`);
}

/** Throws INVALID_ARGUMENT naming the field when `problem` is set. */
function check(field: string, problem: string | null): void {
  if (problem) throw invalidArgument(field, problem);
}

function promptTokens(req: inference.GenerateRequest, facts: ModelFacts, limits: RequestLimits): number[] {
  let ids: number[];
  if (req.promptTokenIds && req.promptTokenIds.length > 0) {
    if (req.promptTokenIds.length >= facts.maxContextTokens) return tooLong('prompt_token_ids', req.promptTokenIds.length, facts);
    ids = tokenIds('prompt_token_ids', req.promptTokenIds, facts.vocabSize, Infinity);
  } else {
    if (typeof req.prompt !== 'string' || !req.prompt) throw invalidArgument('prompt', 'must not be empty (send prompt text or prompt_token_ids)');
    check('prompt', promptCharsProblem(req.prompt.length, limits.maxPromptChars ?? Infinity)); // before tokenizing
    ids = facts.tokenizer.encode(req.prompt);
    if (ids.length === 0) throw invalidArgument('prompt', 'encodes to no tokens');
  }
  if (ids.length >= facts.maxContextTokens) return tooLong(req.promptTokenIds?.length ? 'prompt_token_ids' : 'prompt', ids.length, facts);
  return ids;
}

function tooLong(field: string, numTokens: number, facts: ModelFacts): never {
  throw invalidArgument(field, `has ${numTokens} tokens but the model's context is ${facts.maxContextTokens} (at most ${facts.maxContextTokens - 1} leave room for one new token)`);
}

function samplingOf(s: inference.SamplingParams | undefined, facts: ModelFacts): SampleSampling {
  const topK = intIn('top_k', s?.topK, 0);
  const bias = Object.entries(s?.logitBias ?? {});
  check('sampling.logit_bias', listProblem(bias.length, TEXT_LIMITS.logitBiasEntries));
  const logitBias: Record<number, number> = {};
  for (const [k, v] of bias) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || id >= facts.vocabSize) throw invalidArgument('sampling.logit_bias', `token id ${clip(k)} is outside the vocabulary [0, ${facts.vocabSize})`);
    logitBias[id] = numIn(`logit_bias[${id}]`, v, 0, SAMPLING_RULES.logit_bias);
  }
  return {
    temperature: numIn('temperature', s?.temperature, 1),
    topP: numIn('top_p', s?.topP, 1),
    topK: topK <= 0 ? 0 : Math.min(topK, facts.vocabSize),
    minP: numIn('min_p', s?.minP, 0),
    repetitionPenalty: numIn('repetition_penalty', s?.repetitionPenalty, 1),
    presencePenalty: numIn('presence_penalty', s?.presencePenalty, 0),
    frequencyPenalty: numIn('frequency_penalty', s?.frequencyPenalty, 0),
    logitBias,
    seed: seedOf(s?.seed),
    numTopLogprobs: s?.logprobs ? intIn('top_logprobs', s?.topLogprobs, 0, MAX_TOP_LOGPROBS) : 0,
    skipLogprob: !s?.logprobs, // nobody reads the chosen token's logprob: the worker's greedy path skips it
  };
}

/** The seed as a decimal uint64 string (a random 32-bit one when absent). */
function seedOf(seed: string | number | undefined): string {
  if (seed === undefined) return String(Math.floor(Math.random() * 2 ** 32));
  check('sampling.seed', seedProblem(seed));
  return typeof seed === 'string' ? BigInt(seed).toString() : String(seed);
}

type RuleName = 'temperature' | 'top_p' | 'min_p' | 'repetition_penalty' | 'presence_penalty' | 'frequency_penalty';

/** A float sampling field under its rule (`logit_bias[id]` passes the rule itself). */
function numIn(field: RuleName | string, v: number | undefined, def: number, rule: NumberRule = SAMPLING_RULES[field as RuleName]): number {
  if (v === undefined) return def;
  check(`sampling.${field}`, numberProblem(rule, v));
  return v;
}

function intIn(field: 'n' | 'max_tokens' | 'min_tokens' | 'top_k' | 'top_logprobs' | 'prompt_logprobs', v: number | undefined, def: number, max?: number): number {
  if (v === undefined) return def;
  check(`sampling.${field}`, numberProblem(SAMPLING_RULES[field], v, max));
  return v;
}

function tokenIds(field: string, ids: readonly number[], vocabSize: number, maxLength: number): number[] {
  check(field, listProblem(ids.length, maxLength));
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw invalidArgument(`${field}[${i}]`, `token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  });
  return [...ids];
}

function stopStrings(stop: readonly string[]): string[] {
  check('sampling.stop', listProblem(stop.length, TEXT_LIMITS.stopStrings));
  stop.forEach((s, i) => check(`sampling.stop[${i}]`, textProblem(s, TEXT_LIMITS.stopChars, { nonEmpty: true })));
  return [...stop];
}
