/*
 * The OpenAI-compatible routes beyond completions: POST /v1/embeddings (float or base64 vectors),
 * GET /v1/models/{id}, and vLLM's POST /tokenize and POST /detokenize. Each goes through the same
 * InferenceService as gRPC (Embed, GetModelInfo, Tokenize, Detokenize), so validation is shared;
 * each body is checked by its schema (./schemas/embeddings.ts).
 *
 * What it is not: the server loop (openai-server.ts) or completions.
 */
import { inference } from '@llm/proto';
import type { InferenceService } from '../api/inference.service';
import type { ModelFacts } from '../api/model-facts';
import { HttpError } from './errors';
import type { CallContext } from '@llm/platform';
import { detokenizeRequestSchema, embeddingsRequestSchema, parseWith, tokenizeRequestSchema } from './schemas';

/** The OpenAI model object of the served model under `id`. */
export function modelObject(facts: ModelFacts, id: string) {
  return { id, object: 'model', created: 0, owned_by: 'llm', root: facts.modelId, max_model_len: facts.maxContextTokens };
}

export function listModels(facts: ModelFacts) {
  return { object: 'list', data: [facts.modelId, ...facts.aliases].map((id) => modelObject(facts, id)) };
}

export function getModel(facts: ModelFacts, id: string) {
  if (id !== facts.modelId && !facts.aliases.includes(id)) {
    throw new HttpError(404, `model '${id}' is not served here (served: ${[facts.modelId, ...facts.aliases].join(', ')})`, 'model', 'invalid_request_error', 'model_not_found');
  }
  return modelObject(facts, id);
}

export async function embeddings(service: InferenceService, body: unknown, ctx?: CallContext, requestId = '') {
  const b = parseWith(embeddingsRequestSchema, body);
  const req = inference.EmbedRequest.fromPartial({ model: b.model ?? '', dimensions: b.dimensions ?? undefined, requestId });
  const input = b.input;
  if (typeof input === 'string') req.input = [input];
  else if (input.every((x) => typeof x === 'string')) req.input = input as string[];
  else if (input.every((x) => typeof x === 'number')) req.inputTokenIds = [{ tokenIds: input as number[] }];
  else req.inputTokenIds = (input as number[][]).map((tokenIds) => ({ tokenIds }));
  const res = await service.embed(req, ctx);
  const base64 = b.encoding_format === 'base64';
  return {
    object: 'list',
    model: b.model || res.model,
    data: res.data.map((d) => ({
      object: 'embedding',
      index: d.index,
      embedding: base64 ? Buffer.from(d.embeddingF32).toString('base64') : Array.from(new Float32Array(Uint8Array.from(d.embeddingF32).buffer)),
    })),
    usage: { prompt_tokens: res.usage?.promptTokens ?? 0, total_tokens: res.usage?.promptTokens ?? 0 },
  };
}

export async function tokenize(service: InferenceService, facts: ModelFacts, body: unknown) {
  const b = parseWith(tokenizeRequestSchema, body);
  const res = await service.tokenize({ model: b.model ?? '', text: b.prompt, addSpecialTokens: b.add_special_tokens ?? true });
  return { count: res.tokenIds.length, max_model_len: facts.maxContextTokens, tokens: res.tokenIds, ...(b.return_token_strs ? { token_strs: res.tokens } : {}) };
}

export async function detokenize(service: InferenceService, body: unknown) {
  const b = parseWith(detokenizeRequestSchema, body);
  const res = await service.detokenize({ model: b.model ?? '', tokenIds: b.tokens, skipSpecialTokens: false });
  return { prompt: res.text };
}
