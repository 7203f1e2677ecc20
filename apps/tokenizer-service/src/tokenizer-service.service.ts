/*
 * The llm.tokenizer.v1 Tokenizer handlers: thin. Each resolves the named tokenizer (an
 * encoding or a served model), calls @llm/tokenizer, and maps the result back; the
 * library's typed errors (code INVALID_ARGUMENT / NOT_FOUND, message naming the input)
 * become the same gRPC status through toServerError.
 *
 * DecodeStream keeps one StreamDecoder per call, so text deltas leave only as complete
 * UTF-8. Train delegates to the TrainRunner (in-process, or BullMQ in distributed mode).
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { encodeObserver, invalidArgument, toServerError, type EncodeObserver, type ServiceImplementation } from '@llm/platform';
import { tokenizer as pb } from '@llm/proto';
import { applyChatTemplate, CHATML_TEMPLATE, StreamDecoder, type EncodeOptions, type Explanation } from '@llm/tokenizer';
import type { ServedTokenizer, TokenizerRegistry } from './registry';
import type { TrainRunner } from './training';

export const TOKENIZER_REGISTRY = Symbol('TOKENIZER_REGISTRY');
export const TRAIN_RUNNER = Symbol('TRAIN_RUNNER');

/** Encode metrics per tokenizer (time, tokens, bytes: libs/platform's encodeObserver). */
const observers = new Map<string, EncodeObserver>();
function observed(name: string): EncodeObserver {
  let o = observers.get(name);
  if (!o) observers.set(name, (o = encodeObserver(name)));
  return o;
}

/** Runs a handler body, turning library errors into gRPC statuses. */
function handle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(toServerError(err));
  }
}

/** The proto's special-token policy as library options; absent = the tokenizer's defaults. */
function encodeOptions(policy: pb.SpecialTokenPolicy | undefined, addSpecialTokens: boolean): EncodeOptions {
  const opts: EncodeOptions = { addSpecialTokens };
  if (policy) {
    opts.allowedSpecial = policy.allowAllSpecial ? 'all' : policy.allowedSpecial;
    if (policy.encodeDisallowedAsText) opts.disallowedSpecial = [];
  }
  return opts;
}

@Injectable()
export class TokenizerService implements ServiceImplementation<typeof pb.TokenizerDefinition>, OnApplicationShutdown {
  constructor(
    @Inject(TOKENIZER_REGISTRY) readonly registry: TokenizerRegistry,
    @Inject(TRAIN_RUNNER) private readonly trainer: TrainRunner,
  ) {}

  private served(name: string, field = 'tokenizer'): ServedTokenizer {
    if (!name) throw invalidArgument(field, 'required: a tiktoken encoding name or a served model id');
    return this.registry.get(name);
  }

  encode(req: pb.EncodeRequest): Promise<pb.EncodeResponse> {
    return handle(() => {
      const s = this.served(req.tokenizer);
      const tokenIds = observed(s.name)(req.text, () => s.tokenizer.encode(req.text, encodeOptions(req.special, req.addSpecialTokens)));
      return { tokenIds };
    });
  }

  encodeBatch(req: pb.EncodeBatchRequest): Promise<pb.EncodeBatchResponse> {
    return handle(() => {
      const s = this.served(req.tokenizer);
      const opts = encodeOptions(req.special, req.addSpecialTokens);
      const observe = observed(s.name);
      const results = req.texts.map((text, i) => {
        try {
          return { tokenIds: observe(text, () => s.tokenizer.encode(text, opts)) };
        } catch (err) {
          throw Object.assign(new Error(`texts[${i}]: ${(err as Error).message}`), { code: (err as { code?: string }).code });
        }
      });
      return { results };
    });
  }

  decode(req: pb.DecodeRequest): Promise<pb.DecodeResponse> {
    return handle(() => ({ text: this.served(req.tokenizer).tokenizer.decode(req.tokenIds, { skipSpecialTokens: req.skipSpecialTokens }) }));
  }

  async *decodeStream(requests: AsyncIterable<pb.DecodeStreamRequest>): AsyncIterable<pb.DecodeStreamResponse> {
    let decoder: StreamDecoder | null = null;
    try {
      for await (const req of requests) {
        decoder ??= new StreamDecoder(this.served(req.tokenizer).tokenizer, { skipSpecialTokens: req.skipSpecialTokens });
        let textDelta = decoder.pushMany(req.tokenIds);
        if (req.flush) textDelta += decoder.flush();
        yield { textDelta, numTokensConsumed: decoder.length };
      }
    } catch (err) {
      throw toServerError(err);
    }
  }

  explain(req: pb.ExplainRequest): Promise<pb.ExplainResponse> {
    return handle(() => {
      const tok = this.served(req.tokenizer).tokenizer;
      return toExplainResponse(tok.explain(req.text), (id) => tok.tokenText(id));
    });
  }

  async *train(req: pb.TrainRequest): AsyncIterable<pb.TrainResponse> {
    if (req.corpus.length === 0) throw invalidArgument('corpus', 'required: the training text (UTF-8)');
    const minSize = 256 + req.specialTokens.length;
    if (req.vocabSize < minSize) throw invalidArgument('vocab_size', `must be >= ${minSize} (256 bytes + special tokens), got ${req.vocabSize}`);
    const data = {
      corpus: Buffer.from(req.corpus).toString('utf8'),
      vocabSize: req.vocabSize,
      specialTokens: req.specialTokens,
      pattern: req.pattern || undefined,
    };
    try {
      for await (const ev of this.trainer.run(data)) {
        yield {
          numMergesDone: ev.numMergesDone,
          numMergesTotal: ev.numMergesTotal,
          done: ev.done,
          tokenizerJson: ev.result?.tokenizerJson ?? '',
          tiktokenRanks: ev.result?.tiktokenRanks ?? '',
          jobId: ev.jobId ?? '',
        };
      }
    } catch (err) {
      throw toServerError(err);
    }
  }

  getTokenizerInfo(req: pb.GetTokenizerInfoRequest): Promise<pb.GetTokenizerInfoResponse> {
    return handle(() => {
      const s = this.served(req.tokenizer);
      return {
        vocabSize: s.tokenizer.vocabSize,
        specialTokens: [...s.tokenizer.specialTokens].map(([content, id]) => ({ content, id })),
        bosTokenId: s.bosTokenId,
        eosTokenIds: s.eosTokenIds,
        hasChatTemplate: !!s.config?.chatTemplate,
      };
    });
  }

  applyChatTemplate(req: pb.ApplyChatTemplateRequest): Promise<pb.ApplyChatTemplateResponse> {
    return handle(() => {
      const s = this.served(req.tokenizer);
      const usedDefault = !s.config?.chatTemplate;
      const config = usedDefault
        ? { bosToken: s.config?.bosToken ?? null, eosToken: s.config?.eosToken ?? null, unkToken: null, padToken: null, chatTemplate: CHATML_TEMPLATE, namedTemplates: {} }
        : s.config!;
      const messages = req.messages.map((m) => ({ role: m.role, content: m.content }));
      return { text: applyChatTemplate(config, messages, { addGenerationPrompt: req.addGenerationPrompt }), usedDefaultTemplate: usedDefault };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.trainer.close();
  }
}

/** Library explanation -> proto; symbols are shown as text (their bytes as UTF-8). */
function toExplainResponse(ex: Explanation, text: (id: number) => string): pb.ExplainResponse {
  return {
    pieces: ex.pieces.map((p) => ({
      text: p.text,
      utf8: Buffer.from(p.text, 'utf8'),
      isSpecial: p.special,
      tokenIds: p.ids,
      merges: p.merges.map((m) => ({
        left: text(m.leftId),
        right: text(m.rightId),
        merged: text(m.mergedId),
        rank: m.rank,
        partsAfter: m.symbolIds.map(text),
      })),
    })),
  };
}
