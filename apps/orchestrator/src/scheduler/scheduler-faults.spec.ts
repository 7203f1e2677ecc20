/*
 * The scheduler when its dependencies fail (issue 16: no accepted request is lost; one bad request
 * never fails its neighbours). A fake worker whose "model" is a fixed function of the position
 * (token = 10 + (p + 1) % 50, so outputs are known by hand) keeps per-sequence state like the real
 * one and can be taken down, restarted (state lost) or made to refuse one sequence; the kv-manager
 * is the real allocator and can be restarted (pool lost until the worker registers it again).
 */
import { KvPools } from '@llm/kv';
import { buildTokenizerJson } from '@llm/model';
import { createInProcessClient, Status } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { loadTokenizerJson } from '@llm/tokenizer';
import { ClientError } from 'nice-grpc-common';
import { kvImplementation } from '../../bench/services';
import { Scheduler } from './scheduler';
import { Sequence } from './sequence';
import type { SampleDelta } from './types';

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
const next = (position: number) => 10 + ((position + 1) % 50);
const PATH = '/llm.worker.v1.Worker/Step';

class FakeWorker {
  down = false;
  refuse: ((seqId: string) => boolean) | undefined;
  readonly known = new Set<string>();
  numSteps = 0;

  restart(): void {
    this.known.clear();
  }

  async step(req: worker.StepRequest): Promise<worker.StepResponse> {
    await new Promise((r) => setTimeout(r, 2)); // a step takes time, so a test can act mid-request
    if (this.down) throw new ClientError(PATH, Status.UNAVAILABLE, 'connect ECONNREFUSED 127.0.0.1:1');
    for (const s of req.sequences) {
      if (this.refuse?.(s.seqId)) throw new ClientError(PATH, Status.INVALID_ARGUMENT, `sequence ${JSON.stringify(s.seqId)}: state.params.temperature = Infinity (expected >= 0)`);
      if (!s.state && !this.known.has(s.seqId)) throw new ClientError(PATH, Status.FAILED_PRECONDITION, `sequence ${JSON.stringify(s.seqId)}: the worker has no sampling state for it`);
    }
    this.numSteps++;
    for (const id of req.releaseSeqIds) this.known.delete(id);
    for (const s of req.sequences) this.known.add(s.seqId);
    return {
      outputs: req.sequences.map((s) => ({ seqId: s.seqId, sampled: s.sample, tokenId: next(s.startPosition + s.tokenIds.length - 1), logprob: -1, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined, speculative: undefined })),
      numTokens: 0, forwardNs: 0, stepNs: 0, grammarNs: 0,
    };
  }
}

/** A kv-manager whose process can be "restarted": a fresh allocator without the worker's pool until it is registered again. */
class RestartableKv {
  pools = new KvPools();
  private impl = kvImplementation(this.pools);
  down = false;

  constructor() {
    this.pools.registerPool('w', { numBlocks: 64, blockSize: 4 });
  }

  restart(): void {
    this.pools = new KvPools();
    this.impl = kvImplementation(this.pools);
  }

  client() {
    const call = <K extends keyof typeof this.impl>(k: K) => (req: never) => {
      if (this.down) return Promise.reject(new ClientError(`/llm.kv.v1.KvManager/${String(k)}`, Status.UNAVAILABLE, 'connect ECONNREFUSED'));
      return (createInProcessClient(kv.KvManagerDefinition, this.impl)[k as 'free'] as (r: never) => Promise<unknown>)(req);
    };
    return { allocateSlots: call('allocateSlots'), free: call('free') } as never;
  }
}

function request(id: string, prompt: number[], maxTokens: number, deltas: SampleDelta[] = []): Sequence {
  return new Sequence({
    requestId: id, sampleIndex: 0, promptIds: prompt, sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: true, stop: [], maxContextTokens: 100 },
    onDelta: (_s, d) => deltas.push(d),
  });
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function expected(promptLength: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => next(promptLength - 1 + k));
}

describe('Scheduler under dependency faults', () => {
  it('a worker that goes down and comes back (its state lost) delays requests, and each ends with exactly its tokens', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const events: string[] = [];
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: k.client(), worker: w as never, onDependency: (s) => events.push(s) });
    const deltas: SampleDelta[][] = [[], [], []];
    const seqs = ['a', 'b', 'c'].map((id, i) => request(id, [1 + i, 2, 3], 20, deltas[i]));
    scheduler.add(seqs);
    await until(() => seqs.every((s) => s.outputIds.length >= 3));
    w.down = true;
    await until(() => scheduler.dependencyDown);
    await new Promise((r) => setTimeout(r, 300));
    w.restart(); // a new worker process: no sequence state
    w.down = false;
    await until(() => seqs.every((s) => s.isFinished));
    for (const [i, s] of seqs.entries()) {
      expect(s.finishReason).toBe('length');
      expect(s.outputIds).toEqual(expected(3, 20));
      // The client's stream: offsets without gap or duplicate.
      expect(deltas[i].map((d) => d.tokenOffset)).toEqual(Array.from({ length: 20 }, (_, j) => j));
    }
    expect(events).toEqual(['down', 'up']);
    expect(scheduler.stats.numDependencyFailures).toBeGreaterThan(0);
    await scheduler.close();
    expect(k.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a kv-manager restart (pool lost until the worker registers it again) is survived the same way', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: k.client(), worker: w as never });
    const seqs = ['a', 'b'].map((id, i) => request(id, [4 + i, 5, 6, 7], 16));
    scheduler.add(seqs);
    await until(() => seqs.every((s) => s.outputIds.length >= 2));
    k.down = true;
    await new Promise((r) => setTimeout(r, 150));
    k.restart();
    k.down = false; // answers NOT_FOUND for the pool for a while
    await new Promise((r) => setTimeout(r, 250));
    k.pools.registerPool('w', { numBlocks: 64, blockSize: 4 });
    await until(() => seqs.every((s) => s.isFinished));
    for (const s of seqs) expect(s.outputIds).toEqual(expected(4, 16));
    await scheduler.close();
    expect(k.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a dependency down for longer than dependencyWaitMs fails the held requests with UNAVAILABLE, then frees everything', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: k.client(), worker: w as never, dependencyWaitMs: 400 });
    const deltas: SampleDelta[] = [];
    const s = request('a', [1, 2, 3], 30, deltas);
    w.down = true;
    const t0 = Date.now();
    scheduler.add([s]);
    await until(() => s.isFinished, 5000);
    expect(Date.now() - t0).toBeLessThan(400 + 2500);
    expect(s.finishReason).toBe('abort');
    const last = deltas[deltas.length - 1];
    expect((last.error as { code?: number }).code).toBe(Status.UNAVAILABLE);
    expect(last.error?.message).toMatch(/unavailable for 0 s|unavailable for \d+ s/);
    expect(scheduler.stats.numFinished.abort).toBe(1);
    w.down = false;
    const again = request('b', [1, 2, 3], 5);
    scheduler.add([again]);
    await until(() => again.isFinished);
    expect(again.outputIds).toEqual(expected(3, 5));
    await scheduler.close();
    expect(k.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a request the worker refuses fails alone; its batch neighbours finish with their tokens', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: k.client(), worker: w as never });
    w.refuse = (id) => id.includes('bad/');
    const badDeltas: SampleDelta[] = [];
    const good = ['g1', 'g2', 'g3'].map((id) => request(id, [7, 8, 9], 10));
    const bad = request('bad', [7, 8, 9], 10, badDeltas);
    scheduler.add([good[0], bad, good[1], good[2]]);
    await until(() => [...good, bad].every((s) => s.isFinished));
    expect(bad.finishReason).toBe('abort');
    expect((badDeltas[badDeltas.length - 1].error as { code?: number }).code).toBe(Status.INVALID_ARGUMENT);
    for (const s of good) {
      expect(s.finishReason).toBe('length');
      expect(s.outputIds).toEqual(expected(3, 10));
    }
    expect(scheduler.stats.numFinished).toEqual({ stop: 0, length: 3, abort: 1 });
    await scheduler.close();
    expect(k.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a cancel that arrives while the loop awaits a Free is not lost (the sequence is reaped, not left holding blocks)', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const inner = k.client() as { allocateSlots: (r: never) => Promise<unknown>; free: (r: never) => Promise<unknown> };
    let releaseFree: () => void = () => undefined;
    let freeStarted = false;
    const kvClient = {
      allocateSlots: inner.allocateSlots,
      free: async (req: never) => {
        if (!freeStarted) {
          freeStarted = true;
          await new Promise<void>((r) => (releaseFree = r)); // only the first Free is slow
        }
        return inner.free(req);
      },
    };
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: kvClient as never, worker: w as never });
    const short = request('short', [1, 2, 3], 1); // finishes at once: its Free is the slow call
    const long = request('long', [4, 5, 6], 60);
    scheduler.add([short, long]);
    await until(() => freeStarted);
    scheduler.cancel([long]); // while the loop awaits the Free
    releaseFree();
    await until(() => long.isFinished, 3000);
    expect(long.finishReason).toBe('abort');
    await until(() => k.pools.stats('w').numSequences === 0, 3000);
    await scheduler.close();
  });

  it('a Free batch that also names a sequence the kv-manager does not know frees the others (no leak)', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const inner = k.client() as { allocateSlots: (r: never) => Promise<unknown>; free: (r: { poolId: string; seqIds: string[] }) => Promise<unknown> };
    // Every Free also names an id the kv-manager never saw, as after a pool reset: the allocator refuses the batch whole.
    const kvClient = { allocateSlots: inner.allocateSlots, free: (req: { poolId: string; seqIds: string[] }) => inner.free({ ...req, seqIds: req.seqIds.length > 1 || req.seqIds[0] === 'ghost' ? [...req.seqIds, 'ghost'] : req.seqIds }) };
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: kvClient as never, worker: w as never });
    const seqs = ['a', 'b', 'c'].map((id, i) => request(id, [1 + i, 2, 3], 4));
    scheduler.add(seqs);
    await until(() => seqs.every((s) => s.isFinished));
    await until(() => k.pools.stats('w').numSequences === 0, 3000);
    await scheduler.close();
  });

  it('after a kv-manager restart the lease is renewed before the first allocation, so a scheduler that dies then leaks nothing', async () => {
    const w = new FakeWorker();
    const k = new RestartableKv();
    const inner = k.client() as { allocateSlots: (r: never) => Promise<unknown>; free: (r: never) => Promise<unknown> };
    let restarted = false;
    const leaseAtFirstAllocation: Array<number | undefined> = [];
    const kvClient = {
      free: inner.free,
      allocateSlots: async (req: never) => {
        const res = await inner.allocateSlots(req);
        if (restarted && leaseAtFirstAllocation.length === 0) leaseAtFirstAllocation.push(k.pools.leaseExpiry('o'));
        return res;
      },
    };
    const renewLease = async () => {
      if (k.down) throw new ClientError('/llm.kv.v1.KvManager/RenewLease', Status.UNAVAILABLE, 'connect ECONNREFUSED');
      k.pools.renewLease('o', 5000);
    };
    const scheduler = new Scheduler({ poolId: 'w', ownerId: 'o', maxNumSeqs: 8, maxNumBatchedTokens: 64, kv: kvClient as never, worker: w as never, renewLease });
    const seqs = ['a', 'b'].map((id, i) => request(id, [4 + i, 5, 6, 7], 40));
    scheduler.add(seqs);
    await until(() => seqs.every((s) => s.outputIds.length >= 2));
    k.down = true;
    await new Promise((r) => setTimeout(r, 100));
    k.restart(); // the new kv-manager knows no lease
    k.pools.registerPool('w', { numBlocks: 64, blockSize: 4 });
    restarted = true;
    k.down = false;
    await until(() => leaseAtFirstAllocation.length > 0);
    expect(leaseAtFirstAllocation[0]).toBeDefined();
    await until(() => seqs.every((s) => s.isFinished));
    await scheduler.close();
  });
});
