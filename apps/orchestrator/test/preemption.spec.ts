/*
 * Preemption: a KV pool too small for every running sequence still completes every request
 * correctly. Four greedy requests of 8 prompt + 16 output tokens need 6 blocks of 4 tokens each
 * (24 in all) but the pool has 12 usable blocks: the scheduler must preempt the newest sequences
 * by recompute, resume them later, and still produce the reference tokens for every request.
 */
import { generate, Transformer } from '@llm/model';
import { inference } from '@llm/proto';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

let p: TestPlatform;
afterAll(async () => {
  await p.close();
});

it('completes every request with the reference tokens under a pool too small for all', async () => {
  p = await startTestPlatform({ numBlocks: 13, blockSize: 4, config: { maxNumSeqs: 8, maxNumBatchedTokens: 32 } });
  const transformer = new Transformer(p.model.config, p.model.weights);
  const prompts: number[][] = [];
  const refs: number[][] = [];
  for (let seed = 0; prompts.length < 4 && seed < 60; seed++) {
    const prompt = Array.from({ length: 8 }, (_, i) => (seed * 37 + i * 11 + 3) % 380);
    const ref = await generate(transformer, prompt, { maxTokens: 16, sampling: { temperature: 0 } });
    if (Math.min(...ref.margins) <= 1e-3) continue; // near-tie: token equality would not be meaningful
    prompts.push(prompt);
    refs.push(ref.tokens);
  }
  expect(prompts).toHaveLength(4);
  const results = await Promise.all(
    prompts.map((prompt) => p.orch.inference.complete(inference.CompleteRequest.fromPartial({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 16, ignoreEos: true } }))),
  );
  results.forEach((r, i) => {
    expect(r.choices[0].tokenIds).toEqual(refs[i]);
    expect(r.choices[0].finishReason).toBe(inference.FinishReason.FINISH_REASON_LENGTH);
  });
  expect(p.orch.scheduler?.stats.numPreemptions).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 30));
  expectPoolWhole(p.pools);
});
