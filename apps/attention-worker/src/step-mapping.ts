/*
 * llm.worker.v1 messages <-> the ModelRunner's plain step types. Field for field; the only
 * decisions are the proto3 defaults: an absent SamplingState stays absent (the runner then needs
 * a cached state), and logit_bias's map becomes a Map of token id -> bias.
 *
 * The internals trace maps both ways: StepSequence.trace (llm.trace.v1.TraceOptions, the worker's
 * parts) in, SequenceOutput.trace (attention rows and gate probabilities as little-endian float32 bytes) out.
 *
 * What this is not: validation. The runner validates everything and names the sequence and field.
 */
import { trace, worker } from '@llm/proto';
import type { EmbedPooling, StepInput, StepOutput, StepSamplingParams, StepSamplingState, StepTraceOptions, StepTraceOut } from '@llm/model';

const POOLING: Partial<Record<worker.Pooling, EmbedPooling>> = { [worker.Pooling.POOLING_MEAN]: 'mean', [worker.Pooling.POOLING_LAST]: 'last' };

export function toStepInput(req: worker.StepRequest): StepInput {
  return {
    stepId: BigInt(req.stepId ?? 0),
    sequences: (req.sequences ?? []).map((s) => ({
      seqId: s.seqId,
      tokenIds: s.tokenIds ?? [],
      startPosition: s.startPosition ?? 0,
      blockIds: s.blockIds ?? [],
      sample: s.sample ?? false,
      state: s.state ? toSamplingState(s.state) : undefined,
      appendedOutputTokenIds: s.appendedOutputTokenIds ?? [],
      embedPooling: POOLING[s.embedPooling ?? worker.Pooling.POOLING_UNSPECIFIED],
      promptLogprobs: s.promptLogprobs ?? false,
      trace: s.trace ? toTraceOptions(s.trace) : undefined,
      numSpeculativeTokens: s.numSpeculativeTokens ?? 0,
      usePreviousToken: s.usePreviousToken ?? false,
    })),
    copies: (req.copies ?? []).map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })),
    releaseSeqIds: req.releaseSeqIds ?? [],
  };
}

function toSamplingState(state: worker.SamplingState): StepSamplingState {
  return {
    params: toSamplingParams(state.params),
    promptTokenIds: state.promptTokenIds ?? [],
    outputTokenIds: state.outputTokenIds ?? [],
    grammarEbnf: state.grammarEbnf || undefined,
  };
}

/** An absent params message is proto3's all-zero one, which the runner rejects (repetition_penalty 0). */
function toSamplingParams(p: worker.SamplingParams | undefined): StepSamplingParams {
  const bias = new Map<number, number>();
  for (const [k, v] of Object.entries(p?.logitBias ?? {})) bias.set(Number(k), v);
  return {
    temperature: p?.temperature ?? 0,
    topK: p?.topK ?? 0,
    topP: p?.topP ?? 0,
    minP: p?.minP ?? 0,
    repetitionPenalty: p?.repetitionPenalty ?? 0,
    presencePenalty: p?.presencePenalty ?? 0,
    frequencyPenalty: p?.frequencyPenalty ?? 0,
    logitBias: bias,
    seed: seedFromWire(p?.seed),
    sampleIndex: p?.sampleIndex ?? 0,
    numTopLogprobs: p?.numTopLogprobs ?? 0,
    skipLogprob: p?.skipLogprob ?? false,
  };
}

export function toStepResponse(out: StepOutput): worker.StepResponse {
  return {
    outputs: out.outputs.map((o) => ({
      seqId: o.seqId,
      sampled: o.sampled,
      tokenId: o.tokenId,
      logprob: o.logprob,
      topLogprobs: o.topLogprobs.map((t) => ({ tokenId: t.tokenId, logprob: t.logprob })),
      promptLogprobs: (o.promptLogprobs ?? []).map((e) => ({ tokenId: e.tokenId, logprob: e.logprob, topLogprobs: e.topLogprobs })),
      embeddingF32: o.embedding ? Buffer.from(o.embedding.buffer, o.embedding.byteOffset, o.embedding.byteLength) : Buffer.alloc(0), // little-endian hosts
      trace: o.trace ? toStepTraceProto(o.trace) : undefined,
      speculative: o.numDraftTokens
        ? { nextTokenIds: o.nextTokenIds ?? [], nextLogprobs: o.nextLogprobs ?? [], numDraftTokens: o.numDraftTokens, numAcceptedDraftTokens: o.numAcceptedDraftTokens ?? 0 }
        : undefined,
    })),
    numTokens: out.numTokens,
    forwardNs: Number(out.forwardNs),
    stepNs: Number(out.stepNs),
    grammarNs: Number(out.grammarNs),
  };
}

function toTraceOptions(t: trace.TraceOptions): StepTraceOptions {
  return {
    attention: t.attention ? { layers: t.attention.layers ?? [], heads: t.attention.heads ?? [] } : undefined,
    moe: t.moe ?? false,
    samplingTop: t.sampling?.top ?? 0,
  };
}

const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength); // little-endian hosts

export function toStepTraceProto(t: StepTraceOut): trace.StepTrace {
  return {
    attention: t.attention.map((r) => ({ layer: r.layer, head: r.head, kvHead: r.kvHead, queryPosition: r.queryPosition, weightsF32: f32Bytes(r.weights) })),
    moe: t.moe.map((m) => ({ layer: m.layer, position: m.position, gateProbsF32: f32Bytes(m.gateProbs), expertIds: m.expertIds, weights: m.weights, replicas: m.replicas, dropped: m.dropped })),
    sampling: t.sampling,
  };
}

/** The wire's uint64 seed (a decimal string) as the runner's bigint; anything else NaN, which validation refuses. */
export function seedFromWire(seed: string | undefined): bigint | number {
  if (seed === undefined || seed === '') return 0;
  return /^\d{1,20}$/.test(seed) ? BigInt(seed) : Number.NaN;
}
