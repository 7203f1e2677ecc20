/*
 * Embed: each input becomes one embedding request through the same intake as Generate (so the
 * scheduler batches its prompt like any prefill, embedded or over BullMQ); the worker pools the
 * final-norm hidden states (mean or last token, per model) and returns one vector of C floats.
 * Here the vectors are L2-normalised (unless asked not to) and put in input order.
 *
 * Each input gets its own prefix-cache salt: a pooled sequence must compute every token itself.
 * As for Generate (params.ts), the ids the platform keys its state by are always made here (a
 * caller's request_id selects nothing), text inputs longer than the prompt limit are refused
 * before tokenizing, and the strings and lists have the same bounds (request-rules.ts).
 * What it is not: the HTTP shape (http/embeddings.ts) or the pooling math (libs/model's runner).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, toServerError, type CallContext } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { Intake } from '../intake/intake';
import type { ModelFacts } from './model-facts';
import { checkServedModel, newRequestId, type NormalizedRequest, type RequestLimits } from './params';
import { listProblem, promptCharsProblem, TEXT_LIMITS, textProblem } from './request-rules';

/** Mean pooling unless the model directory's sentence-transformers config asks for the last token. */
export function poolingOf(modelDir: string): 'mean' | 'last' {
  const p = join(modelDir, '1_Pooling', 'config.json');
  if (!existsSync(p)) return 'mean';
  const cfg = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  return cfg.pooling_mode_lasttoken === true ? 'last' : 'mean';
}

/** The inputs as token lists, each checked against the vocabulary and the context. */
function inputsOf(req: inference.EmbedRequest, facts: ModelFacts, limits: RequestLimits): number[][] {
  let lists: number[][];
  const many = listProblem(Math.max(req.input.length, req.inputTokenIds.length), TEXT_LIMITS.embeddingInputs);
  if (many) throw invalidArgument(req.inputTokenIds.length > 0 ? 'input_token_ids' : 'input', many);
  if (req.inputTokenIds.length > 0) {
    lists = req.inputTokenIds.map((t, i) => {
      t.tokenIds.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0 || id >= facts.vocabSize) throw invalidArgument(`input_token_ids[${i}][${j}]`, `token id ${id} is outside the vocabulary [0, ${facts.vocabSize})`);
      });
      return [...t.tokenIds];
    });
  } else {
    if (req.input.length === 0) throw invalidArgument('input', 'must hold at least one text (or send input_token_ids)');
    req.input.forEach((s, i) => {
      const tooLong = promptCharsProblem(s.length, limits.maxPromptChars ?? Infinity); // before tokenizing
      if (tooLong) throw invalidArgument(`input[${i}]`, tooLong);
    });
    lists = req.input.map((s) => facts.tokenizer.encode(s));
  }
  lists.forEach((ids, i) => {
    if (ids.length === 0) throw invalidArgument(`input[${i}]`, 'is empty');
    if (ids.length > facts.maxContextTokens) throw invalidArgument(`input[${i}]`, `has ${ids.length} tokens but the model's context is ${facts.maxContextTokens}`);
    if (facts.numBlocks > 0 && Math.ceil(ids.length / facts.blockSize) > facts.numBlocks - 1) throw invalidArgument(`input[${i}]`, `needs more KV blocks than the worker's pool has`);
  });
  return lists;
}

export async function embed(req: inference.EmbedRequest, facts: ModelFacts, intake: Intake, pooling: 'mean' | 'last', limits: RequestLimits, ctx?: CallContext): Promise<inference.EmbedResponse> {
  const texts: Array<[string, string | undefined, number]> = [['model', req.model, TEXT_LIMITS.modelChars], ['request_id', req.requestId, TEXT_LIMITS.requestIdChars]];
  for (const [field, v, max] of texts) {
    const bad = textProblem(v ?? '', max);
    if (bad) throw invalidArgument(field, bad);
  }
  checkServedModel(req.model, facts);
  if (req.dimensions !== undefined && req.dimensions !== facts.hiddenSize) {
    throw invalidArgument('dimensions', `${req.dimensions} is not supported: this model's embeddings have ${facts.hiddenSize} dimensions (omit dimensions)`);
  }
  const lists = inputsOf(req, facts, limits);
  const requestId = newRequestId();
  try {
    const data = await Promise.all(lists.map((ids, index) => embedOne(ids, index, `${requestId}.${index}`, facts, intake, pooling, req.normalize ?? true, ctx)));
    return { model: facts.modelId, data, usage: { promptTokens: lists.reduce((a, l) => a + l.length, 0), completionTokens: 0, cachedPromptTokens: 0 }, pooling };
  } catch (err) {
    throw toServerError(err);
  }
}

async function embedOne(ids: number[], index: number, requestId: string, facts: ModelFacts, intake: Intake, pooling: 'mean' | 'last', normalize: boolean, ctx?: CallContext): Promise<inference.Embedding> {
  const request: NormalizedRequest = {
    requestId, clientRequestId: '', model: facts.modelId, promptIds: ids, n: 1, logprobs: false, skipSpecialTokens: true,
    cacheSalt: `embed:${requestId}:${Math.random()}`,
    sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 },
    rules: { maxTokens: 1, minTokens: 0, stopTokenIds: [], eosTokenIds: [], ignoreEos: true, stop: [], maxContextTokens: facts.maxContextTokens + 1 },
    grammarEbnf: '', grammarField: '', embedPooling: pooling,
  };
  let bytes: Uint8Array | undefined;
  for await (const d of intake.generate(request, ctx?.signal)) if (d.embeddingF32 && d.embeddingF32.length > 0) bytes = d.embeddingF32;
  if (!bytes) throw new Error(`input ${index} produced no embedding`);
  const v = new Float32Array(Uint8Array.from(bytes).buffer); // (C)
  if (normalize) {
    let sq = 0;
    for (const x of v) sq += x * x;
    const norm = Math.sqrt(sq) || 1;
    for (let c = 0; c < v.length; c++) v[c] /= norm; // v / ||v||_2
  }
  return { index, embeddingF32: Buffer.from(v.buffer), numTokens: ids.length };
}
