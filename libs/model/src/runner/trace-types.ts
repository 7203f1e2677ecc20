/*
 * The internals trace as the worker engine records it: plain data mirroring llm.trace.v1 (the
 * worker's parts of it: attention rows, MoE routing, sampling candidates), and what a backend is
 * asked to record during one forward.
 *
 * What this is not: the orchestrator's whole trace (tokenizer, KV and scheduler parts are recorded
 * there) or the proto. Nothing here is computed for a step that asks for no trace.
 */

/** What a step records for one sequence (llm.trace.v1.TraceOptions, the worker's parts). */
export interface StepTraceOptions {
  /** Attention rows of these layers and query heads (an empty list means all); absent: none. */
  attention?: { layers: readonly number[]; heads: readonly number[] };
  /** The MoE routing of the sequence's tokens in every MoE layer. */
  moe?: boolean;
  /** Candidates per sampled token (0 or absent: none). */
  samplingTop?: number;
}

/** softmax over key positions 0..queryPosition of one (layer, query head, query position). */
export interface AttentionRowTrace {
  layer: number;
  head: number;
  kvHead: number; // head / (NH / NKV)
  queryPosition: number;
  weights: Float32Array; // (queryPosition + 1), sums to 1
}

/** One token's routing in one MoE layer. */
export interface TokenRoutingTrace {
  layer: number;
  position: number; // absolute position in the sequence (an executor reports the row index)
  gateProbs: Float32Array; // (E)
  expertIds: number[]; // (k) best first
  weights: number[]; // (k) combine weights
  replicas: string[]; // (k) replica that ran each expert
  dropped: boolean[]; // (k) dropped by the capacity limit
}

export interface SamplingCandidateTrace {
  tokenId: number;
  prob: number;
  allowed: boolean;
}

/** One draw: the distribution's top candidates, and with a grammar the unmasked ones too. */
export interface TokenSamplingTrace {
  position: number;
  tokenId: number;
  candidates: SamplingCandidateTrace[];
  unmasked: SamplingCandidateTrace[];
  numAllowed: number;
  masked: boolean;
}

/** What a step recorded for one traced sequence (SequenceOutput.trace). */
export interface StepTraceOut {
  attention: AttentionRowTrace[];
  moe: TokenRoutingTrace[];
  sampling?: TokenSamplingTrace;
}

/** Per traced sequence of a forward: what to record. */
export interface ForwardTraceSelect {
  /** Layers whose attention rows are recorded (null: none). */
  layers: ReadonlySet<number> | null;
  /** Query heads recorded in those layers. */
  heads: readonly number[];
  /** Record MoE routing. */
  moe: boolean;
}

/** ForwardExtras.trace: the backend fills attention and moe for the selected sequences. */
export interface ForwardTrace {
  /** Keyed by the step-sequence index (FlatSeq.seqIndex). */
  select: ReadonlyMap<number, ForwardTraceSelect>;
  attention: Array<AttentionRowTrace & { seqIndex: number }>;
  moe: Array<TokenRoutingTrace & { seqIndex: number }>;
}

/** Asks an MoE executor for the routing of some of its rows (the internals trace). */
export interface MoeRoutingRequest {
  /** Row indices into the call's hidden (T, C), ascending. */
  rows: Int32Array;
  /** Filled by the executor: one entry per row, in order, position = the row index. */
  out: TokenRoutingTrace[];
}
