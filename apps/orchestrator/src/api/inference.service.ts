/*
 * InferenceService: the llm.inference.v1.Inference handlers. Thin: validate (params.ts), salt the
 * prefix cache with the caller's tenant (when API keys are on; the context carries it), hand the
 * request to the intake, map the stream back. Complete gathers Generate's deltas into choices.
 * Tokenize/Detokenize use the model's tokenizer.json in this process (no Tokenizer RPC per call).
 *
 * What it is not: the scheduler, or HTTP (http/openai-server.ts calls these same handlers).
 */
import { invalidArgument, tenantCacheSalt, tenantOf, toServerError, unavailable, type CallContext, type ServiceImplementation } from '@llm/platform';
import { inference } from '@llm/proto';
import type { Intake } from '../intake/intake';
import { chatRequestOf, chatStream } from './chat';
import { embed } from './embeddings';
import type { ModelFacts } from './model-facts';
import { checkServedModel, normalizeRequest, type NormalizedRequest, type RequestLimits } from './params';
import type { GrammarAdmission } from './structured-output';
import { traceRequestOf, type TracePolicy } from '../trace/trace-request';

type Impl = ServiceImplementation<inference.InferenceDefinition>;

export class InferenceService implements Impl {
  constructor(
    private readonly facts: ModelFacts,
    private readonly intake: Intake,
    private readonly limits: RequestLimits,
    private readonly grammars?: GrammarAdmission,
    private readonly pooling: 'mean' | 'last' = 'mean',
    private readonly tracing?: TracePolicy,
  ) {}

  /** Generate and Complete calls in flight (graceful shutdown waits for them). */
  numActive = 0;

  async *generate(req: inference.GenerateRequest, ctx?: CallContext): AsyncGenerator<inference.GenerateResponse> {
    if ((req.sampling?.bestOf ?? 0) > (req.sampling?.n ?? 1)) throw invalidArgument('sampling.best_of', 'needs Complete: the best samples are known only when all have finished (stream off)');
    const norm = await this.validate(req, ctx);
    this.numActive++;
    try {
      yield* this.intake.generate(norm, ctx?.signal);
    } catch (err) {
      throw toServerError(err);
    } finally {
      this.numActive--;
    }
  }

  async complete(req: inference.CompleteRequest, ctx?: CallContext): Promise<inference.CompleteResponse> {
    const n = req.sampling?.n ?? 1;
    const bestOf = req.sampling?.bestOf;
    if (bestOf !== undefined && (!Number.isInteger(bestOf) || bestOf < n || bestOf > this.limits.maxN)) {
      throw invalidArgument('sampling.best_of', `must be an integer in [n = ${n}, ${this.limits.maxN}], got ${bestOf}`);
    }
    if (bestOf !== undefined && bestOf > n) return this.completeBestOf(req, n, bestOf, ctx);
    const norm = await this.validate(req, ctx);
    const choices: inference.Choice[] = [];
    for (let i = 0; i < norm.n; i++) {
      choices.push({ index: i, text: '', tokenIds: [], logprobs: [], finishReason: inference.FinishReason.FINISH_REASON_UNSPECIFIED, stopReason: '', stopTokenId: undefined });
    }
    let usage: inference.Usage | undefined;
    let promptLogprobs: inference.TokenLogprob[] = [];
    let trace: inference.CompleteResponse['trace'];
    this.numActive++;
    try {
      for await (const d of this.intake.generate(norm, ctx?.signal)) {
        const c = choices[d.index];
        c.text += d.text;
        c.tokenIds.push(...d.tokenIds);
        c.logprobs.push(...d.logprobs);
        if (d.promptLogprobs.length > 0) promptLogprobs = d.promptLogprobs;
        if (d.finishReason) {
          c.finishReason = d.finishReason;
          c.stopReason = d.stopReason;
          c.stopTokenId = d.stopTokenId;
        }
        if (d.usage) usage = d.usage;
        if (d.trace) trace = d.trace;
      }
    } catch (err) {
      throw toServerError(err);
    } finally {
      this.numActive--;
    }
    return { requestId: norm.clientRequestId || norm.requestId, model: norm.model, choices, usage, promptLogprobs, trace };
  }

  /** best_of > n: best_of samples, the n with the highest total logprob, re-indexed 0..n-1. */
  private async completeBestOf(req: inference.CompleteRequest, n: number, bestOf: number, ctx?: CallContext): Promise<inference.CompleteResponse> {
    const wantLogprobs = req.sampling?.logprobs ?? false;
    const all = await this.complete({ ...req, sampling: { ...(req.sampling as inference.SamplingParams), n: bestOf, bestOf: undefined, logprobs: true, topLogprobs: req.sampling?.topLogprobs ?? 0 } }, ctx);
    const total = (c: inference.Choice) => c.logprobs.reduce((a, l) => a + l.logprob, 0);
    const best = [...all.choices].sort((a, b) => total(b) - total(a) || a.index - b.index).slice(0, n);
    return { ...all, choices: best.map((c, i) => ({ ...c, index: i, logprobs: wantLogprobs ? c.logprobs : [] })) };
  }

  async tokenize(req: inference.TokenizeRequest): Promise<inference.TokenizeResponse> {
    this.checkModel(req.model);
    if (typeof req.text !== 'string') throw invalidArgument('text', 'must be a string');
    const ids = this.facts.tokenizer.encode(req.text, { addSpecialTokens: req.addSpecialTokens });
    return { tokenIds: ids, tokens: ids.map((id) => this.facts.tokenizer.idToToken(id) ?? '') };
  }

  async detokenize(req: inference.DetokenizeRequest): Promise<inference.DetokenizeResponse> {
    this.checkModel(req.model);
    req.tokenIds.forEach((id, i) => {
      if (id >= this.facts.vocabSize) throw invalidArgument(`token_ids[${i}]`, `token id ${id} is outside the vocabulary [0, ${this.facts.vocabSize})`);
    });
    return { text: this.facts.tokenizer.decode(req.tokenIds, { skipSpecialTokens: req.skipSpecialTokens }) };
  }

  async listModels(): Promise<inference.ListModelsResponse> {
    return { models: [this.info()] };
  }

  async getModelInfo(req: inference.GetModelInfoRequest): Promise<inference.GetModelInfoResponse> {
    this.checkModel(req.model);
    return this.info();
  }

  async *chat(req: inference.ChatRequest, ctx?: CallContext): AsyncGenerator<inference.ChatResponse> {
    let prepared;
    try {
      prepared = chatRequestOf(this.facts, req, this.limits);
    } catch (err) {
      throw toServerError(err);
    }
    yield* chatStream(this.generate(prepared.generate, ctx), prepared.family);
  }

  async embed(req: inference.EmbedRequest, ctx?: CallContext): Promise<inference.EmbedResponse> {
    this.admit();
    this.numActive++;
    try {
      return await embed(req, this.facts, this.intake, this.pooling, this.limits, ctx);
    } finally {
      this.numActive--;
    }
  }

  /** Refuses new work while the process drains (graceful shutdown): UNAVAILABLE, retriable elsewhere. */
  private admit(): void {
    const refused = this.limits.admission?.();
    if (refused) throw unavailable(`not accepting requests now: ${refused}; retry on another replica or later`);
  }

  /**
   * Validation shared by Generate, Complete and the HTTP endpoints: a grammar is compiled once here,
   * off the scheduling loop, and a tenant's requests get its prefix-cache salt.
   */
  async validate(req: inference.GenerateRequest | inference.CompleteRequest, ctx?: CallContext): Promise<NormalizedRequest> {
    this.admit();
    let norm: NormalizedRequest;
    try {
      norm = normalizeRequest(req, this.facts, this.limits);
      norm.trace = traceRequestOf(req, norm, this.facts, this.tracing);
      if (norm.grammarEbnf && this.grammars) await this.grammars.check(norm.grammarEbnf, norm.grammarField);
    } catch (err) {
      throw toServerError(err);
    }
    const tenant = tenantOf(ctx);
    return tenant === undefined ? norm : { ...norm, cacheSalt: tenantCacheSalt(tenant, norm.cacheSalt) };
  }

  private checkModel(model: string): void {
    checkServedModel(model, this.facts);
  }

  private info(): inference.GetModelInfoResponse {
    const f = this.facts;
    return {
      model: f.modelId,
      architecture: f.architecture,
      vocabSize: f.vocabSize,
      maxContextTokens: f.maxContextTokens,
      numLayers: f.numLayers,
      hiddenSize: f.hiddenSize,
      numAttentionHeads: f.numHeads,
      numKeyValueHeads: f.numKvHeads,
      numExperts: f.numExperts,
      hasChatTemplate: true,
      aliases: f.aliases,
      embeddingDimensions: f.hiddenSize,
    };
  }
}
