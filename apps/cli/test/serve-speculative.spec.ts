/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * Speculative decoding through the real apps on the shipped models/default (ONNX Runtime backend):
 * `llm serve --speculative ngram` and `--speculative draft --draft-model models/default-draft --draft-backend ts`
 * embedded, and prompt lookup --distributed (worker flags through LLM_ variables, requests through
 * BullMQ), all give the greedy tokens of the platform without speculation; the embedded ones show
 * accepted drafts in /metrics; seeded sampled requests (n = 3) speculate and repeat exactly.
 */
import { join } from 'node:path';
import { connectGrpc } from '@llm/platform';
import { inference, worker } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';
import { repoRoot } from '../src/serve/default-model';

jest.setTimeout(300_000);

const modelDir = join(repoRoot(), 'models', 'default');
const draftModel = join(repoRoot(), 'models', 'default-draft');
const settings = { host: '127.0.0.1', backend: 'ort' as const, threads: 1, kvCacheGib: 0.01, blockSize: 4, maxNumSeqs: 16, maxNumBatchedTokens: 256, modelDir };
// addition prompts (short answers) and a repetitive one decoded well past its answer
const PROMPTS: [string, number][] = [['37+48=', 4], ['05+91=', 4], ['12+12=12+12=12+12=12+12=', 24], ['99+99=891', 20]];

let off: EmbeddedPlatform;
let ngram: EmbeddedPlatform;
let draft: EmbeddedPlatform;
let redis: StartedRedis;
let distributed: DistributedPlatform;

async function complete(address: string, prompt: string, maxTokens: number): Promise<number[]> {
  const conn = connectGrpc(inference.InferenceDefinition, address);
  try {
    const res = await conn.client.complete(inference.CompleteRequest.fromPartial({ prompt, sampling: { temperature: 0, maxTokens, ignoreEos: true } }));
    return res.choices[0].tokenIds;
  } finally {
    conn.close();
  }
}

async function counter(http: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  // Every series of the counter, summed (labelled by model_name and engine).
  return text.split('\n').filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && !l.startsWith('#')).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

beforeAll(async () => {
  off = await startEmbedded({ ...settings, grpcPort: 0, httpPort: -1 });
  ngram = await startEmbedded({ ...settings, grpcPort: 0, httpPort: 0, speculative: { method: 'ngram', numTokens: 4 } });
  draft = await startEmbedded({ ...settings, grpcPort: 0, httpPort: 0, speculative: { method: 'draft', numTokens: 3, draftModel, backend: 'ts' } });
  redis = await startRedis();
  distributed = await startDistributed({ ...settings, grpcPort: 0, httpPort: -1, redisUrl: redis.url, speculative: { method: 'ngram', numTokens: 4 } });
});

afterAll(async () => {
  await distributed?.close();
  await redis?.stop();
  for (const p of [draft, ngram, off]) await p?.close();
});

it('prompt lookup and a draft model, embedded, give the greedy tokens of the platform without speculation', async () => {
  const drafted0 = await counter(ngram.httpAddress as string, 'llm_spec_decode_num_draft_tokens_total');
  for (const [prompt, n] of PROMPTS) {
    const want = await complete(off.grpcAddress, prompt, n);
    expect(want).toHaveLength(n);
    expect(await complete(ngram.grpcAddress, prompt, n)).toEqual(want);
    expect(await complete(draft.grpcAddress, prompt, n)).toEqual(want);
  }
  expect(await counter(ngram.httpAddress as string, 'llm_spec_decode_num_draft_tokens_total')).toBeGreaterThan(drafted0);
  // the draft model answers the additions as the target does: most of its drafts are kept
  const drafted = await counter(draft.httpAddress as string, 'llm_spec_decode_num_draft_tokens_total');
  const accepted = await counter(draft.httpAddress as string, 'llm_spec_decode_num_accepted_tokens_total');
  expect(accepted).toBeGreaterThan(0);
  expect(accepted).toBeLessThanOrEqual(drafted);
});

it('sampled requests (n = 3, seeded) speculate through the whole stack and repeat with the same seed', async () => {
  const sampled = async (address: string) => {
    const conn = connectGrpc(inference.InferenceDefinition, address);
    try {
      const res = await conn.client.complete(inference.CompleteRequest.fromPartial({ prompt: '37+48=', sampling: { n: 3, temperature: 0.9, topK: 20, maxTokens: 24, ignoreEos: true, seed: '7' } }));
      return res.choices.map((c) => c.tokenIds);
    } finally {
      conn.close();
    }
  };
  for (const p of [ngram, draft]) {
    const drafted0 = await counter(p.httpAddress as string, 'llm_spec_decode_num_draft_tokens_total');
    const a = await sampled(p.grpcAddress);
    expect(a).toHaveLength(3);
    for (const t of a) expect(t).toHaveLength(24);
    expect(await sampled(p.grpcAddress)).toEqual(a); // counter-based draws: the same seed gives the same tokens
    expect(await counter(p.httpAddress as string, 'llm_spec_decode_num_draft_tokens_total')).toBeGreaterThan(drafted0);
  }
});

it('prompt lookup --distributed gives the same greedy tokens', async () => {
  const w = connectGrpc(worker.WorkerDefinition, distributed.addresses['attention-worker']);
  try {
    expect(await w.client.getModelInfo({})).toMatchObject({ speculativeMethod: 'ngram', numSpeculativeTokens: 4 }); // the LLM_ variables reached the worker
  } finally {
    w.close();
  }
  for (const [prompt, n] of PROMPTS) expect(await complete(distributed.grpcAddress, prompt, n)).toEqual(await complete(off.grpcAddress, prompt, n));
});
