/*
 * The scheduler's metrics, read back exactly: known requests run through the real scheduler and
 * paged allocator with a fake worker that advances a fake clock by 1/64 s per step (an exact binary
 * fraction), so every counter value, histogram count, sum and bucket is worked out by hand below.
 * Each test uses its own engine label, so the process-wide registry's other series do not matter.
 */
import { KvPools } from '@llm/kv';
import { buildTokenizerJson } from '@llm/model';
import { createInProcessClient, metricsRegistry } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { loadTokenizerJson } from '@llm/tokenizer';
import { kvImplementation } from '../../bench/services';
import { Scheduler } from '../scheduler/scheduler';
import { Sequence } from '../scheduler/sequence';
import { SchedulerMetrics } from './scheduler-metrics';

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
const TICK = 1 / 64;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

async function samples(name: string, engine: string): Promise<Sample[]> {
  const m = metricsRegistry().getSingleMetric(name);
  return ((await m?.get())?.values ?? []).filter((v) => v.labels.engine === engine) as Sample[];
}

async function value(name: string, engine: string, extra: Record<string, string> = {}): Promise<number> {
  const hit = (await samples(name, engine)).find((s) => Object.entries(extra).every(([k, v]) => String(s.labels[k]) === v));
  return hit?.value ?? 0;
}

/** count, sum and the cumulative bucket counts at the given bounds. */
async function hist(name: string, engine: string, bounds: number[]): Promise<{ count: number; sum: number; buckets: number[] }> {
  const all = await samples(name, engine);
  const get = (suffix: string) => all.find((s) => s.metricName === `${name}${suffix}`)?.value ?? 0;
  const buckets = bounds.map((le) => all.find((s) => s.metricName === `${name}_bucket` && s.labels.le === le)?.value ?? 0);
  return { count: get('_count'), sum: get('_sum'), buckets };
}

function setup(engine: string, limits: { maxNumSeqs: number; maxNumBatchedTokens: number }, numBlocks = 64, during?: () => Promise<void>) {
  const pools = new KvPools();
  pools.registerPool(engine, { numBlocks, blockSize: 4 });
  let clock = 0;
  const fakeWorker = {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      await during?.();
      clock += TICK;
      return {
        outputs: req.sequences.map((s) => ({ seqId: s.seqId, sampled: s.sample, tokenId: 20, logprob: -1, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined, speculative: undefined })),
        numTokens: req.sequences.reduce((a, s) => a + s.tokenIds.length, 0), forwardNs: 0, stepNs: 0, grammarNs: 0,
      };
    },
  };
  const metrics = new SchedulerMetrics({ modelName: 'm', engine, maxModelLen: 100, now: () => clock });
  const scheduler = new Scheduler({
    poolId: engine, ownerId: 'o', ...limits, observer: metrics,
    kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)), worker: fakeWorker as never,
  });
  return { scheduler, pools };
}

function sequence(id: string, promptLen: number, maxTokens: number, onFinish: () => void, sampleIndex = 0): Sequence {
  return new Sequence({
    requestId: id, sampleIndex, promptIds: Array.from({ length: promptLen }, (_, i) => 30 + i), sampling, tokenizer, skipSpecialTokens: true, cacheSalt: id, logprobs: false,
    rules: { maxTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: false, stop: [], maxContextTokens: 100 },
    onDelta: (_s, d) => d.finishReason && onFinish(),
  });
}

async function run(scheduler: Scheduler, specs: [string, number, number][]): Promise<Sequence[]> {
  let left = specs.length;
  let resolve = () => undefined as void;
  const done = new Promise<void>((r) => (resolve = r));
  const seqs = specs.map(([id, p, m]) => sequence(id, p, m, () => --left === 0 && resolve()));
  scheduler.add(seqs);
  await done;
  return seqs;
}

describe('SchedulerMetrics', () => {
  it('counts tokens, finishes and steps, and times each interval of two concurrent requests', async () => {
    const { scheduler } = setup('e-two', { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
    // a: 5-token prompt, 3 tokens; b: 3-token prompt, 2 tokens. Steps: [a5 + b3] -> first tokens at 1 tick,
    // [a1 + b1] -> b done at 2 ticks, [a1] -> a done at 3 ticks. Both scheduled at 0 (arrival 0).
    await run(scheduler, [['a', 5, 3], ['b', 3, 2]]);
    const e = 'e-two';
    expect(await value('llm_generation_tokens_total', e)).toBe(5);
    expect(await value('llm_prompt_tokens_total', e)).toBe(8);
    expect(await value('llm_request_success_total', e, { finished_reason: 'length' })).toBe(2);
    expect(await value('llm_request_success_total', e, { finished_reason: 'stop' })).toBe(0);
    expect(await value('llm_request_success_total', e, { finished_reason: 'abort' })).toBe(0);
    expect(await value('llm_num_requests_running', e)).toBe(0);
    expect(await value('llm_num_requests_waiting', e)).toBe(0);
    // Token counts: prompts 5 and 3 (<= 5), outputs 3 and 2 (2 <= 2, 3 <= 5); max_tokens 3 and 2.
    expect(await hist('llm_request_prompt_tokens', e, [1, 2, 5, 10])).toEqual({ count: 2, sum: 8, buckets: [0, 0, 2, 2] });
    expect(await hist('llm_request_generation_tokens', e, [1, 2, 5])).toEqual({ count: 2, sum: 5, buckets: [0, 1, 2] });
    expect(await hist('llm_request_params_max_tokens', e, [1, 2, 5])).toEqual({ count: 2, sum: 5, buckets: [0, 1, 2] });
    // Steps computed 8, 2 and 1 tokens.
    expect(await hist('llm_iteration_tokens', e, [1, 8, 16])).toEqual({ count: 3, sum: 11, buckets: [1, 3, 3] });
    expect(await hist('llm_scheduler_step_seconds', e, [0.01, 0.025])).toEqual({ count: 3, sum: 3 * TICK, buckets: [0, 3] });
    // Intervals: queue 0, 0; prefill 1, 1 ticks; decode a 2, b 1 ticks; inference a 3, b 2 ticks; ITL a 1, 1, b 1 tick.
    expect(await hist('llm_request_queue_time_seconds', e, [0.001])).toEqual({ count: 2, sum: 0, buckets: [2] });
    expect(await hist('llm_request_prefill_time_seconds', e, [0.01, 0.025])).toEqual({ count: 2, sum: 2 * TICK, buckets: [0, 2] });
    expect(await hist('llm_request_decode_time_seconds', e, [0.01, 0.025, 0.05])).toEqual({ count: 2, sum: 3 * TICK, buckets: [0, 1, 2] });
    expect(await hist('llm_request_inference_time_seconds', e, [0.025, 0.05])).toEqual({ count: 2, sum: 5 * TICK, buckets: [0, 2] });
    expect(await hist('llm_inter_token_latency_seconds', e, [0.01, 0.025])).toEqual({ count: 3, sum: 3 * TICK, buckets: [0, 3] });
    await scheduler.close();
  });

  it('times the queue of a request that waits for a free slot', async () => {
    // One sequence at a time: a takes 3 steps (prefill, 2 decodes), b is scheduled at the 4th, 3 ticks after arrival.
    const { scheduler } = setup('e-queue', { maxNumSeqs: 1, maxNumBatchedTokens: 64 });
    await run(scheduler, [['a', 4, 3], ['b', 4, 1]]);
    expect(await hist('llm_request_queue_time_seconds', 'e-queue', [0.001, 0.05])).toEqual({ count: 2, sum: 3 * TICK, buckets: [1, 2] });
    // b decodes nothing: its decode time is 0 and it adds no inter-token gap.
    expect(await hist('llm_request_decode_time_seconds', 'e-queue', [0.001])).toEqual({ count: 2, sum: 2 * TICK, buckets: [1] });
    expect(await hist('llm_inter_token_latency_seconds', 'e-queue', [0.025])).toEqual({ count: 2, sum: 2 * TICK, buckets: [2] });
    await scheduler.close();
  });

  it('counts preemptions and shows the running, waiting and preempted queues at the event', async () => {
    // 8 usable blocks of 4 tokens; three requests of 4 + 8 tokens need 3 blocks each: the newest is preempted.
    const seen: number[][] = [];
    const e = 'e-preempt';
    const { scheduler } = setup(e, { maxNumSeqs: 8, maxNumBatchedTokens: 64 }, 9, async () => {
      seen.push([await value('llm_num_requests_running', e), await value('llm_num_requests_waiting', e), await value('llm_num_requests_preempted', e)]);
    });
    const seqs = await run(scheduler, [['a', 4, 8], ['b', 4, 8], ['c', 4, 8]]);
    const numPreemptions = seqs.reduce((a, s) => a + s.numPreemptions, 0);
    expect(numPreemptions).toBeGreaterThan(0);
    expect(await value('llm_num_preemptions_total', e)).toBe(numPreemptions);
    expect(await value('llm_num_preemptions_total', e)).toBe(scheduler.stats.numPreemptions);
    expect(seen[0]).toEqual([0, 3, 0]); // before the first step: all three arrived and wait
    expect(seen.some(([, , preempted]) => preempted > 0)).toBe(true);
    for (const [running, waiting, preempted] of seen) {
      expect(running + waiting).toBeLessThanOrEqual(3);
      expect(preempted).toBeLessThanOrEqual(waiting);
    }
    expect(await value('llm_generation_tokens_total', e)).toBe(24); // a recompute samples no token twice
    expect(await value('llm_request_success_total', e, { finished_reason: 'length' })).toBe(3);
    await scheduler.close();
  });

  it('counts a cancelled request as abort and times none of its intervals', async () => {
    const e = 'e-abort';
    const { scheduler } = setup(e, { maxNumSeqs: 4, maxNumBatchedTokens: 16 });
    let aborted = false;
    const s = new Sequence({
      requestId: 'x', sampleIndex: 0, promptIds: [1, 2, 3], sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
      rules: { maxTokens: 50, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: true, stop: [], maxContextTokens: 100 },
      onDelta: (seq, d) => {
        if (seq.outputIds.length === 2 && !seq.cancelled) scheduler.cancel([seq]);
        if (d.finishReason === 'abort') aborted = true;
      },
    });
    scheduler.add([s]);
    while (!aborted) await new Promise((r) => setTimeout(r, 5));
    expect(await value('llm_request_success_total', e, { finished_reason: 'abort' })).toBe(1);
    expect(await value('llm_generation_tokens_total', e)).toBe(2);
    expect((await hist('llm_request_inference_time_seconds', e, [])).count).toBe(0);
    expect((await hist('llm_request_generation_tokens', e, [])).count).toBe(0);
    await scheduler.close();
  });
});
