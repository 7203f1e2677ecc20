/*
 * A minimal scheduler for the worker's tests: it owns each sequence's tokens, places its KV
 * blocks at random free physical ids (never the null block 0), splits each prompt into uneven
 * prefill chunks, sends the full sampling state on a sequence's first step, then decodes one
 * token per step, and decides when a sequence is finished (max tokens) - as the orchestrator does,
 * so the worker is driven exactly through its public Step contract.
 *
 * What this is not: the orchestrator's scheduler (no token budget, no preemption, no prefix cache).
 */
import type { Client } from 'nice-grpc';
import type { worker } from '@llm/proto';

export type WorkerClient = Client<typeof worker.WorkerDefinition, { deadline?: Date | number }>;

export interface TestSequence {
  id: string;
  prompt: number[];
  chunks: number[]; // prefill chunk sizes, summing to prompt.length
  maxTokens: number;
  params?: Partial<worker.SamplingParams>;
}

interface Running {
  seq: TestSequence;
  blocks: number[];
  numComputed: number;
  chunkIndex: number;
  output: number[];
  logprobs: number[];
  sentState: boolean;
}

export const GREEDY: worker.SamplingParams = {
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0,
  logitBias: {}, seed: 0, sampleIndex: 0, numTopLogprobs: 0,
};

export class TestScheduler {
  private readonly free: number[];
  stepsRun = 0;

  constructor(
    private readonly client: WorkerClient,
    private readonly blockSize: number,
    numBlocks: number,
    private readonly rand: () => number,
  ) {
    this.free = Array.from({ length: numBlocks - 1 }, (_, i) => i + 1);
  }

  /** Runs all sequences to maxTokens together, one Step per iteration; returns each one's output tokens. */
  async generate(seqs: TestSequence[]): Promise<Map<string, { tokens: number[]; logprobs: number[] }>> {
    const running = seqs.map((seq): Running => ({ seq, blocks: [], numComputed: 0, chunkIndex: 0, output: [], logprobs: [], sentState: false }));
    const done = new Map<string, { tokens: number[]; logprobs: number[] }>();
    let active = running;
    while (active.length > 0) {
      const work = active.map((r) => this.nextWork(r));
      const res = await this.client.step({ stepId: this.stepsRun++, sequences: work.map((w) => w.message), copies: [], releaseSeqIds: [] });
      active.forEach((r, i) => {
        r.numComputed += work[i].message.tokenIds.length;
        const out = res.outputs[i];
        if (out.seqId !== r.seq.id) throw new Error(`output ${i} is for ${out.seqId}, expected ${r.seq.id}`);
        if (work[i].message.sample) {
          if (!out.sampled) throw new Error(`${r.seq.id}: expected a sampled token`);
          r.output.push(out.tokenId);
          r.logprobs.push(out.logprob);
        }
      });
      const finished = active.filter((r) => r.output.length >= r.seq.maxTokens);
      for (const r of finished) {
        done.set(r.seq.id, { tokens: r.output, logprobs: r.logprobs });
        this.free.push(...r.blocks);
      }
      if (finished.length > 0) {
        await this.client.step({ stepId: this.stepsRun++, sequences: [], copies: [], releaseSeqIds: finished.map((r) => r.seq.id) });
      }
      active = active.filter((r) => r.output.length < r.seq.maxTokens);
    }
    return done;
  }

  /** The sequence's next chunk (prefill) or its last sampled token (decode), with blocks allocated for it. */
  private nextWork(r: Running): { message: worker.StepSequence } {
    const prefill = r.chunkIndex < r.seq.chunks.length;
    const tokenIds = prefill
      ? r.seq.prompt.slice(r.numComputed, r.numComputed + r.seq.chunks[r.chunkIndex])
      : [r.output[r.output.length - 1]];
    if (prefill) r.chunkIndex++;
    const contextLen = r.numComputed + tokenIds.length;
    while (r.blocks.length * this.blockSize < contextLen) r.blocks.push(this.takeRandomBlock());
    const message: worker.StepSequence = {
      seqId: r.seq.id,
      tokenIds,
      startPosition: r.numComputed,
      blockIds: [...r.blocks],
      sample: !prefill || r.chunkIndex === r.seq.chunks.length,
      state: r.sentState ? undefined : { params: { ...GREEDY, ...r.seq.params }, promptTokenIds: r.seq.prompt, outputTokenIds: [] },
      appendedOutputTokenIds: [],
    };
    r.sentState = true;
    return { message };
  }

  private takeRandomBlock(): number {
    if (this.free.length === 0) throw new Error('test scheduler: out of KV blocks (raise the pool budget)');
    const i = Math.floor(this.rand() * this.free.length);
    const [b] = this.free.splice(i, 1);
    return b;
  }
}

/** Splits n tokens into 3 uneven chunks (sizes differ when n allows). */
export function unevenChunks(n: number): number[] {
  if (n < 3) return [n];
  const a = Math.max(1, Math.floor(n / 5));
  const b = Math.max(1, Math.floor((n - a) * 0.6));
  return [a, b, n - a - b];
}
