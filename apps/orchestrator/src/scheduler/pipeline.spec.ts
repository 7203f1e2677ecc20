/*
 * Async scheduling end to end in the scheduler (pipeline.ts), over the real paged allocator and a
 * real ModelRunner (testing/real-stack.ts): the outputs of every run equal the same run one step at
 * a time (greedy and seeded sampling, under preemption, with a stop token that lands on the first
 * step of a pair, with a request arriving mid-run), pipelined steps really run (use_previous_token),
 * the worker always has the next decode step queued while nothing waits (rolling) and AllocateSlots is
 * called once per several of them (lookahead slots), no block leaks, and blocks written through pipelined steps serve a
 * later prefix-cache hit exactly. Plus pipelineStep's rules on hand-built plans.
 */
import { Status } from '@llm/platform';
import type { worker } from '@llm/proto';
import { nextSlot, pipelineLookahead, pipelineStep, rollingPlan, PIPELINE_LOOKAHEAD } from './pipeline';
import type { PlannedSequence } from './planner';
import type { Allocated } from './step-sequence';
import { BS, loop, request, run, setup } from './testing/real-stack';

const prompts = [loop([5, 17, 99, 3], 4), loop([40, 41, 42, 43, 44, 45], 3), [7, 300, 12, 7, 300, 12, 7]];

async function both(prompts: number[][], maxTokens: number, opts: Parameters<typeof run>[3] = {}, numBlocks = 64) {
  const off = setup(numBlocks, 0, { asyncScheduling: false });
  const want = await run(off.scheduler, prompts, maxTokens, opts);
  await off.scheduler.close();
  const on = setup(numBlocks, 0, { asyncScheduling: true });
  const got = await run(on.scheduler, prompts, maxTokens, opts);
  await on.scheduler.close();
  return { want, got, on, off };
}

describe('Scheduler with async scheduling', () => {
  it('gives the greedy outputs of one step at a time, with steps really pipelined and no block leaked', async () => {
    const { want, got, on, off } = await both(prompts, 30);
    expect(got).toEqual(want);
    expect(on.scheduler.stats.numPipelinedSteps).toBeGreaterThan(10);
    expect(on.scheduler.stats.numPipelinedFailures).toBe(0);
    expect(on.steps.some((r) => r.sequences.some((s) => s.usePreviousToken && s.tokenIds.length === 0))).toBe(true);
    expect(off.steps.some((r) => r.sequences.some((s) => s.usePreviousToken))).toBe(false);
    // Pipelined steps use the lookahead slots one AllocateSlots granted (up to PIPELINE_LOOKAHEAD): about one call per four decode steps.
    expect(on.allocations()).toBeLessThan(off.allocations() * 0.4);
    expect(on.scheduler.stats.numSampledTokens).toBe(90);
    expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('keeps the next decode step queued at the worker: a step is sent to an idle worker only to start (one step at a time: every step)', async () => {
    // A worker that takes 2 ms per step; `idle` counts the steps sent while no step was in flight.
    const watch = (counts: { idle: number; sent: number }) => {
      let inFlight = 0;
      return (w: { step: (r: worker.StepRequest) => Promise<worker.StepResponse> }) => ({
        step: (r: worker.StepRequest) => {
          if (r.sequences.length > 0 && inFlight === 0) counts.idle++;
          counts.sent++;
          inFlight++;
          return w.step(r).then(async (res) => {
            await new Promise((done) => setTimeout(done, 2));
            inFlight--;
            return res;
          });
        },
      });
    };
    const got: Record<string, { idle: number; sent: number; out: number[][] }> = {};
    for (const asyncScheduling of [false, true]) {
      const counts = { idle: 0, sent: 0 };
      const s = setup(64, 0, { asyncScheduling }, watch(counts));
      got[String(asyncScheduling)] = { ...counts, out: await run(s.scheduler, prompts, 30) };
      Object.assign(got[String(asyncScheduling)], counts);
      await s.scheduler.close();
      expect(s.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
    }
    expect(got.true.out).toEqual(got.false.out);
    expect(got.false.idle).toBe(got.false.sent); // one step at a time: the worker waits for every step
    expect(got.true.sent).toBeGreaterThanOrEqual(30); // 29 decode steps + the prompts'
    // The prompts' step, the first decode step (its pair goes right behind it), and at most one as the samples end.
    expect(got.true.idle).toBeLessThanOrEqual(3);
  });

  it('keeps seeded sampled outputs (counter-based draws do not depend on how steps are grouped)', async () => {
    const { want, got } = await both(prompts, 20, { sampling: { temperature: 0.9, topK: 40, seed: '11' } });
    expect(got).toEqual(want);
    expect(new Set(got.flat()).size).toBeGreaterThan(5); // really sampled, not a constant
  });

  it('keeps the outputs under preemption (a pool too small for every sequence)', async () => {
    const { want, got, on } = await both(prompts, 30, {}, 26);
    expect(got).toEqual(want);
    expect(on.scheduler.stats.numPreemptions).toBeGreaterThan(0);
    expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a stop token sampled by the first step of a pair ends the sample there; the pipelined token is dropped', async () => {
    const free = await both([prompts[0]], 12);
    // stop on each of the first tokens in turn: some land on the first step of a pair, some on the second
    for (let i = 2; i < 8; i++) {
      const stop = free.want[0][i];
      const { want, got, on } = await both([prompts[0]], 12, { rules: { stopTokenIds: [stop] } });
      expect(got).toEqual(want);
      expect(got[0]).toEqual(free.want[0].slice(0, free.want[0].indexOf(stop) + 1));
      expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
    }
  });

  it('a pipelined step that fails (the worker went away) is a failed step: its samples recompute and end as without a failure', async () => {
    const { want } = await both(prompts, 16);
    let failed = 0;
    const flaky = (w: { step: (r: worker.StepRequest) => Promise<worker.StepResponse> }) => ({
      step: (r: worker.StepRequest) => (r.sequences.some((s) => s.usePreviousToken) && failed++ === 2 ? Promise.reject(Object.assign(new Error('worker restarting'), { code: Status.UNAVAILABLE, details: 'worker restarting' })) : w.step(r)),
    });
    const on = setup(64, 0, { asyncScheduling: true, dependencyWaitMs: 10_000 }, flaky);
    expect(await run(on.scheduler, prompts, 16)).toEqual(want);
    expect(on.scheduler.stats).toMatchObject({ numPipelinedFailures: 1, numDependencyFailures: 1 });
    await on.scheduler.close();
    expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a cancel stops a sample within the pair in flight and at most one more pair (four worker steps; one step at a time: two)', async () => {
    for (const asyncScheduling of [true, false]) {
      let finished: () => void = () => undefined;
      const done = new Promise<void>((r) => (finished = r));
      const seq = request(`c${asyncScheduling}`, prompts[0], 60, () => finished());
      let sent = 0;
      let stepsAtCancel = -1;
      // The cancel arrives while the sample's 8th step is at the worker, as a client's cancel would.
      const cancelling = (w: { step: (r: worker.StepRequest) => Promise<worker.StepResponse> }) => ({
        step: (r: worker.StepRequest) => {
          if (r.sequences.length > 0 && ++sent === 8) {
            stepsAtCancel = sent;
            on.scheduler.cancel([seq]);
          }
          return w.step(r);
        },
      });
      const on = setup(64, 0, { asyncScheduling }, cancelling);
      on.scheduler.add([seq]);
      await done;
      expect(seq.finishReason).toBe('abort');
      expect(stepsAtCancel).toBe(8);
      expect(on.steps.filter((r) => r.sequences.length > 0).length - stepsAtCancel).toBeLessThanOrEqual(asyncScheduling ? 4 : 2);
      await on.scheduler.close();
      expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
    }
  });

  it('a request arriving mid-run is admitted (pipelining pauses while it waits) and gets its own output', async () => {
    const on = setup(64, 0, { asyncScheduling: true });
    const off = setup(64, 0, { asyncScheduling: false });
    const late = async (s: typeof on) => {
      const first = run(s.scheduler, [prompts[0]], 30);
      await new Promise((r) => setTimeout(r, 30));
      const second = run(s.scheduler, [prompts[2]], 10);
      return [...(await first), ...(await second)];
    };
    expect(await late(on)).toEqual(await late(off));
    await on.scheduler.close();
    await off.scheduler.close();
  });

  it('a prefix-cache hit on blocks written through pipelined steps continues as one step at a time', async () => {
    const on = setup(64, 0, { asyncScheduling: true });
    const [first] = await run(on.scheduler, [prompts[0]], 24);
    const followUp = [...prompts[0], ...first, 9, 8];
    const [got] = await run(on.scheduler, [followUp], 12);
    expect(on.pools.stats('w').numHitTokens).toBeGreaterThanOrEqual(Math.floor((prompts[0].length + 16) / BS) * BS);
    await on.scheduler.close();
    const off = setup(64, 0, { asyncScheduling: false });
    const [want] = await run(off.scheduler, [followUp], 12);
    await off.scheduler.close();
    expect(got).toEqual(want);
  });
});

describe('pipelineStep', () => {
  const seq = (over: Record<string, unknown> = {}) => {
    const s = request('x', [1, 2, 3], 10, () => undefined);
    Object.assign(s, { status: 'running', numComputedTokens: s.numTokens - 1 }, over);
    return s;
  };
  const decode = (s = seq()): PlannedSequence => ({ seq: s, numTokensToCompute: 1, isNew: false });
  const on = { asyncScheduling: true };

  it('pipelines a plan of decodes with nothing waiting, and nothing else', () => {
    expect(pipelineStep([decode(), decode()], [], on)).toBe(true);
    expect(pipelineStep([decode()], [], {})).toBe(false); // off
    expect(pipelineStep([decode()], [], { ...on, numSpeculativeTokens: 4 })).toBe(false); // speculation owns the lookahead
    expect(pipelineStep([], [], on)).toBe(false);
    expect(pipelineStep([decode(), { seq: seq({ numComputedTokens: 0 }), numTokensToCompute: 3, isNew: false }], [], on)).toBe(false); // a prefill chunk
    expect(pipelineStep([decode(), { ...decode(), isNew: true }], [], on)).toBe(false);
    const waiting = request('w', [4], 5, () => undefined);
    expect(pipelineStep([decode()], [waiting], on)).toBe(false);
    waiting.cancelled = true;
    expect(pipelineStep([decode()], [waiting], on)).toBe(true); // a cancelled arrival does not hold it back
  });

  it('needs room for two more tokens, and no grammar', () => {
    const s = seq();
    (s.outputIds as number[]).push(...Array(9).fill(1)); // 9 of max 10 tokens out: one left
    expect(pipelineStep([decode(s)], [], on)).toBe(false);
    expect(pipelineStep([decode(seq({ grammarEbnf: 'root ::= "a"' }))], [], on)).toBe(false);
  });

  it('asks for PIPELINE_LOOKAHEAD slots, fewer near max_tokens (a pipelined step computes a token already sampled)', () => {
    expect(PIPELINE_LOOKAHEAD).toBe(4);
    const s = seq(); // max 10 tokens, none out yet
    expect(pipelineLookahead(s)).toBe(4);
    (s.outputIds as number[]).push(...Array(7).fill(1)); // 3 tokens left: 2 of them computed by pipelined steps
    expect(pipelineLookahead(s)).toBe(2);
    (s.outputIds as number[]).push(1); // 2 left
    expect(pipelineLookahead(s)).toBe(1);
  });

  it('walks an allocation\'s lookahead slots one position at a time, then needs a new allocation', () => {
    // A pair's second step: the first computed position 40, so this one computes 41 in slot 1 of 3.
    const a: Allocated = { seq: seq(), start: 40, count: 1, blockIds: [3, 9, 12], firstOfIncarnation: false, lookahead: 3, pipelined: true, slot: 1 };
    const b = nextSlot(a) as Allocated;
    expect(b).toMatchObject({ start: 42, count: 0, slot: 2, blockIds: [3, 9, 12], lookahead: 3 }); // computes position 42
    const c = nextSlot(b) as Allocated;
    expect(c).toMatchObject({ start: 43, count: 0, slot: 3 });
    expect(nextSlot(c)).toBeUndefined();
  });

  it('rolls on only while nothing waits and every running sequence is in the step in flight', () => {
    const a = seq();
    const b = seq();
    const inFlight = [a, b].map((s): Allocated => ({ seq: s, start: 4, count: 0, blockIds: [1], firstOfIncarnation: false, lookahead: 1, slot: 1 }));
    expect(rollingPlan(inFlight, [a, b], [], on).map((p) => p.seq)).toEqual([a, b]);
    expect(rollingPlan(inFlight, [a, b], [], {})).toEqual([]); // off
    expect(rollingPlan(inFlight, [a, b], [request('w', [4], 5, () => undefined)], on)).toEqual([]); // a request waits
    expect(rollingPlan(inFlight, [a, b, seq()], [], on)).toEqual([]); // a running sequence outside the step would starve
    (b.outputIds as number[]).push(...Array(9).fill(1)); // b's last token is the one in flight: it finishes with it
    expect(rollingPlan(inFlight, [a, b], [], on).map((p) => p.seq)).toEqual([a]);
  });
});
