/*
 * Deterministic replay of a recorded agent run. The trace's `model` events become a recorded
 * model: its n-th chat call returns the n-th recorded assistant message, after checking that the
 * request it got (messages and tools) hashes to what was recorded. The agent loop then runs again
 * with the real tools; if a tool now answers differently, the next request differs and replay
 * stops at that step with a message saying so. A faithful replay ends with the same answer.
 *
 * What it is not: a mock for new conversations (a request beyond the recording is an error).
 * Reference: record/replay testing as in VCR; Inspect's log replay.
 */
import { runAgent, type AgentOptions, type AgentResult } from '../agent/loop';
import type { CallOptions, ChatRequest, ChatResult, CompletionResult, ModelClient, ModelInfo, TokenizeResult } from '../client/types';
import { readTrace, requestHash, type ModelEvent, type RunStartEvent, type TraceEvent } from './trace';

export class ReplayDivergenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayDivergenceError';
  }
}

export class RecordedModel implements ModelClient {
  readonly endpoint: string;
  private next = 0;

  constructor(
    private readonly steps: ModelEvent[],
    endpoint = 'recorded',
  ) {
    this.endpoint = `replay of ${endpoint}`;
  }

  get remaining(): number {
    return this.steps.length - this.next;
  }

  async chat(req: ChatRequest, _opts?: CallOptions): Promise<ChatResult> {
    const rec = this.steps[this.next];
    if (!rec) throw new ReplayDivergenceError(`replay: the agent made a model call at step ${this.next + 1}, but the recording has only ${this.steps.length}`);
    const hash = requestHash(req.messages, req.tools);
    if (hash !== rec.request_hash) {
      throw new ReplayDivergenceError(`replay: the request at step ${rec.step} differs from the recorded one (a tool result or the context changed since the recording)`);
    }
    this.next++;
    return { message: structuredClone(rec.response), finish_reason: rec.finish_reason, usage: { ...rec.usage }, latency_ms: rec.latency_ms };
  }

  complete(): Promise<CompletionResult> {
    return Promise.reject(new Error('replay: a recorded agent run has no text completions'));
  }

  embed(): Promise<number[][]> {
    return Promise.reject(new Error('replay: a recorded agent run has no embeddings'));
  }

  tokenize(): Promise<TokenizeResult> {
    return Promise.reject(new Error('replay: a recorded agent run has no tokenizer'));
  }

  async models(): Promise<ModelInfo[]> {
    return [];
  }
}

export interface ReplayedRun {
  run: string;
  recordedAnswer: string | null;
  result: AgentResult;
  same: boolean;
}

/**
 * Replays every run of a trace (a file or its events) with the given tools and options (no
 * client: the recording answers). The runs' input messages come from the trace.
 */
export async function replayTrace(source: string | TraceEvent[], opts: Omit<AgentOptions, 'client' | 'system'>): Promise<ReplayedRun[]> {
  const events = typeof source === 'string' ? readTrace(source) : source;
  const starts = events.filter((e): e is RunStartEvent => e.type === 'run_start');
  if (starts.length === 0) throw new Error('replay: the trace has no run_start event');
  const out: ReplayedRun[] = [];
  for (const start of starts) {
    const mine = events.filter((e) => e.run === start.run);
    const model = new RecordedModel(mine.filter((e): e is ModelEvent => e.type === 'model'), start.endpoint);
    const end = mine.find((e) => e.type === 'run_end');
    const result = await runAgent(start.input, { ...opts, client: model, model: start.model, sampling: start.sampling, runId: start.run });
    const recordedAnswer = end && end.type === 'run_end' ? end.answer : null;
    out.push({ run: start.run, recordedAnswer, result, same: result.stopReason !== 'error' && result.answer === recordedAnswer && model.remaining === 0 });
  }
  return out;
}
