/*
 * Speculative decoding end to end in the scheduler: the real paged allocator (libs/kv behind the
 * in-process transport) and a real ModelRunner (TS backend, random llama) with prompt lookup.
 * Greedy outputs equal the same run with speculation off, with and without preemption; drafts
 * are really accepted; no lookahead block leaks; and a later request that hits the prefix cache
 * on blocks written through accepted drafts continues exactly as the run without speculation.
 */
import { BS, loop, run, setup } from './testing/real-stack';

const prompts = [loop([5, 17, 99, 3], 4), loop([40, 41, 42, 43, 44, 45], 3), [7, 300, 12, 7, 300, 12, 7]];

describe('Scheduler with speculative decoding', () => {
  it('gives the greedy outputs of the run without speculation, accepting drafts, leaking no block', async () => {
    const off = setup(64, 0);
    const want = await run(off.scheduler, prompts, 30);
    await off.scheduler.close();
    const on = setup(64, 4);
    const got = await run(on.scheduler, prompts, 30);
    expect(got).toEqual(want);
    const { numDraftTokens, numAcceptedDraftTokens, numSteps, numSampledTokens } = on.scheduler.stats;
    expect(numAcceptedDraftTokens).toBeGreaterThan(0);
    expect(numDraftTokens).toBeGreaterThanOrEqual(numAcceptedDraftTokens);
    expect(numSampledTokens).toBe(90);
    expect(numSteps).toBeLessThan(off.scheduler.stats.numSteps);
    await on.scheduler.close();
    expect(on.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('keeps the outputs under preemption (a pool too small for every sequence and its lookahead)', async () => {
    const off = setup(64, 0);
    const want = await run(off.scheduler, prompts, 30);
    await off.scheduler.close();
    const tight = setup(26, 4); // 25 usable blocks of 4: three sequences of up to 46 tokens need 36
    const got = await run(tight.scheduler, prompts, 30);
    expect(got).toEqual(want);
    expect(tight.scheduler.stats.numPreemptions).toBeGreaterThan(0);
    await tight.scheduler.close();
    expect(tight.pools.stats('w')).toMatchObject({ numSequences: 0, numUsedBlocks: 0 });
  });

  it('a prefix-cache hit on blocks written through accepted drafts continues as without speculation', async () => {
    const on = setup(64, 4);
    const [first] = await run(on.scheduler, [prompts[0]], 24);
    const followUp = [...prompts[0], ...first, 9, 8];
    const [got] = await run(on.scheduler, [followUp], 12);
    const stats = on.pools.stats('w');
    expect(stats.numHitTokens).toBeGreaterThanOrEqual(Math.floor((prompts[0].length + 16) / BS) * BS); // blocks past the prompt were reused
    await on.scheduler.close();
    const off = setup(64, 0);
    const [want] = await run(off.scheduler, [followUp], 12);
    await off.scheduler.close();
    expect(got).toEqual(want);
  });
});
