/*
 * InferenceService: the llm.inference.v1.Inference handlers. Thin: validate (params.ts), salt the
 * prefix cache with the caller's tenant (when API keys are on; the context carries it), hand the
 * request to the intake, map the stream back. Complete gathers Generate's deltas into choices.
 * Tokenize/Detokenize use the model's tokenizer.json in this process (no Tokenizer RPC per call).
 *
 * What it is not: the scheduler, or HTTP (http/openai-server.ts calls these same handlers).
 */
import { invalidArgument, notFound, tenantCacheSalt, tenantOf, toServerError, type CallContext, type ServiceImplementation } from '@llm/platform';
import { inference } from '@llm/proto';
import type { Intake } from '../intake/intake';
import type { ModelFacts } from './model-facts';
import { normalizeRequest, type RequestLimits } from './params';

type Impl = ServiceImplementation<inference.InferenceDefinition>;

export class InferenceService implements Impl {
  constructor(
    private readonly facts: ModelFacts,
    private readonly intake: Intake,
    private readonly limits: RequestLimits,
  ) {}

  async *generate(req: inference.GenerateRequest, ctx?: CallContext): AsyncGenerator<inference.GenerateResponse> {
    const norm = this.validate(req, ctx);
    try {
      yield* this.intake.generate(norm, ctx?.signal);
    } catch (err) {
      throw toServerError(err);
    }
  }

  async complete(req: inference.CompleteRequest, ctx?: CallContext): Promise<inference.CompleteResponse> {
    const norm = this.validate(req, ctx);
    const choices: inference.Choice[] = [];
    for (let i = 0; i < norm.n; i++) {
      choices.push({ index: i, text: '', tokenIds: [], logprobs: [], finishReason: inference.FinishReason.FINISH_REASON_UNSPECIFIED, stopReason: '' });
    }
    let usage: inference.Usage | undefined;
    try {
      for await (const d of this.intake.generate(norm, ctx?.signal)) {
        const c = choices[d.index];
        c.text += d.text;
        c.tokenIds.push(...d.tokenIds);
        c.logprobs.push(...d.logprobs);
        if (d.finishReason) {
          c.finishReason = d.finishReason;
          c.stopReason = d.stopReason;
        }
        if (d.usage) usage = d.usage;
      }
    } catch (err) {
      throw toServerError(err);
    }
    return { requestId: norm.requestId, model: norm.model, choices, usage };
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

  /** Validation shared by Generate, Complete and the HTTP endpoints; a tenant's requests get its cache salt. */
  validate(req: inference.GenerateRequest | inference.CompleteRequest, ctx?: CallContext) {
    let norm;
    try {
      norm = normalizeRequest(req, this.facts, this.limits);
    } catch (err) {
      throw toServerError(err);
    }
    const tenant = tenantOf(ctx);
    return tenant === undefined ? norm : { ...norm, cacheSalt: tenantCacheSalt(tenant, norm.cacheSalt) };
  }

  private checkModel(model: string): void {
    if (model && model !== this.facts.modelId) throw notFound(`field 'model': model '${model}' is not served here (served: ${this.facts.modelId})`);
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
    };
  }
}
