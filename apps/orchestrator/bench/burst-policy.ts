/*
 * Burst scheduling policy simulation (`nx run orchestrator:bench-burst`, also part of
 * `orchestrator:bench`): the real Scheduler, planner and paged allocator, driven by a fake worker
 * whose step takes the time a cost model gives, on a simulated clock. It prints, for each
 * (max-prefill-tokens-per-step, max-decode-defer-ms) pair, the two figures `llm bench` prints for
 * issue 20, each against the old plan (prefill budget 0, no deferral) simulated in the same run:
 *   burst: 32 clients send P-token prompts at once (2 output tokens): TTFT p50 / time the kernel's
 *          prefill-128 rate needs for all prompts, and the burst's ITL p99;
 *   level: 32 clients, 32-token prompts, 48 output tokens: decode rate (clients / mean ITL) /
 *          the kernel's batch-32 decode rate, and the level's ITL p99.
 * The cost model (2 threads, SmolLM-135M shape, fitted to `llm serve` steps measured on the shared
 * 2-core machine): a step is one ONNX run per group of llm/model's groupSequences (the worker's own
 * split), each run FIXED ms (a pass over the weights) + per real row + per padded row, a small
 * quadratic term for large runs, and a decode-only run FIXED + per sequence.
 * The first prompt arrives alone and the others during its step, as gRPC clients do.
 * What it is not: a measurement. It is deterministic and noise-free, which is its point on a shared
 * machine: it ranks policies; `llm bench --sections kernel,e2e` measures them.
 */
import { KvPools } from '@llm/kv';
import { buildTokenizerJson, groupSequences } from '@llm/model';
import { createInProcessClient } from '@llm/platform';
import { kv, type worker } from '@llm/proto';
import { loadTokenizerJson } from '@llm/tokenizer';
import { Scheduler } from '../src/scheduler/scheduler';
import { Sequence } from '../src/scheduler/sequence';
import { kvImplementation } from './services';

/**
 * ms: one pass over the weights; per computed row; per padded row; quadratic in rows (large runs lose
 * efficiency); per decoded sequence. Steps measured through `llm serve` (model / measured): prefill 100 rows
 * 141 / 140, 200 rows 260 / 252, 20 x 100 rows 3306 / ~3300; decode 3, 7, 32 sequences 32 / 28, 40 / 43,
 * 90 / 80-90; 2 prefills + 9 decodes (one run padded to 4 x 100 rows, one of 7 decodes) 346 / 337.
 */
const COST = { fixedMs: 26, rowMs: 1.12, paddedRowMs: 0.22, rowsSquaredMs: 0.00026, decodeSeqMs: 2, stepOverheadMs: 2 };

/** ms one ONNX run of these new-token counts takes. */
function runMs(news: number[]): number {
  const rows = news.reduce((a, b) => a + b, 0);
  const tmax = Math.max(...news);
  if (tmax === 1) return COST.fixedMs + COST.decodeSeqMs * news.length;
  return COST.fixedMs + COST.rowMs * rows + COST.paddedRowMs * (news.length * tmax - rows) + COST.rowsSquaredMs * rows * rows;
}

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };

interface Outcome {
  ttftMs: number[];
  itlMs: number[];
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];

async function simulate(policy: { maxPrefillTokensPerStep: number; maxDecodeDeferMs: number }, clients: number, promptTokens: number, outputTokens: number): Promise<Outcome> {
  const pools = new KvPools();
  pools.registerPool('w', { numBlocks: 4096, blockSize: 16 });
  let now = 0;
  let late: Sequence[] = [];
  const fakeWorker = {
    async step(req: worker.StepRequest): Promise<worker.StepResponse> {
      const news = req.sequences.map((s) => s.tokenIds.length);
      now += COST.stepOverheadMs + groupSequences(news).reduce((t, g) => t + runMs(g.map((i) => news[i])), 0);
      if (late.length > 0) scheduler.add(late.splice(0)); // the other clients' requests arrive during the first step
      return {
        outputs: req.sequences.map((s) => ({ seqId: s.seqId, sampled: s.sample, tokenId: 42, logprob: 0, topLogprobs: [], embeddingF32: Buffer.alloc(0), promptLogprobs: [], trace: undefined, speculative: undefined })),
        numTokens: news.reduce((a, b) => a + b, 0), forwardNs: 0, stepNs: 0, grammarNs: 0,
      };
    },
  };
  const scheduler = new Scheduler({
    poolId: 'w', ownerId: 'sim', maxNumSeqs: 64, maxNumBatchedTokens: 2048, ...policy,
    kv: createInProcessClient(kv.KvManagerDefinition, kvImplementation(pools)), worker: fakeWorker as never, clock: () => now,
  });
  const out: Outcome = { ttftMs: [], itlMs: [] };
  let left = clients;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((r) => (allDone = r));
  const seqs = Array.from({ length: clients }, (_, i) => {
    let last = -1;
    return new Sequence({
      requestId: `r${i}`, sampleIndex: 0, promptIds: Array.from({ length: promptTokens }, (_, k) => 1 + ((i * 31 + k * 7) % 250)), sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
      rules: { maxTokens: outputTokens, minTokens: 0, stopTokenIds: [], eosTokenIds: [299], ignoreEos: true, stop: [], maxContextTokens: 4096 },
      onDelta: (_s, d) => {
        if (last < 0) out.ttftMs.push(now);
        else out.itlMs.push(now - last);
        last = now;
        if (d.finishReason && --left === 0) allDone();
      },
    });
  });
  late = seqs.slice(1);
  scheduler.add([seqs[0]]);
  await finished;
  await scheduler.close();
  return out;
}

async function main(): Promise<void> {
  const burstPrompt = Number(process.env.BURST_PROMPT_TOKENS ?? 100);
  const prefill128TokPerMs = 128 / runMs([128]);
  const decode32Ms = runMs(new Array(32).fill(1));
  const allPrefillMs = (32 * burstPrompt) / prefill128TokPerMs;
  process.stderr.write(`[burst bench] cost model: prefill-128 ${(prefill128TokPerMs * 1000).toFixed(0)} tok/s, decode-32 step ${decode32Ms} ms; burst of 32 x ${burstPrompt}-token prompts\n`);
  const policies = [[0, 0], [256, 0], [256, 500], [256, 1000], [384, 0], [384, 500], [384, 1000], [512, 500], [512, 1000]];
  const rows: string[] = [];
  let old: { burst: number; level: number } | undefined;
  for (const [p, d] of policies) {
    const policy = { maxPrefillTokensPerStep: p, maxDecodeDeferMs: d };
    const burst = await simulate(policy, 32, burstPrompt, 2);
    const level = await simulate(policy, 32, 32, 48);
    const burstRatio = pct(burst.ttftMs, 50) / allPrefillMs;
    const levelRatio = decode32Ms / (level.itlMs.reduce((a, b) => a + b, 0) / level.itlMs.length);
    old ??= { burst: burstRatio, level: levelRatio };
    rows.push(
      `${String(p).padStart(8)} ${String(d).padStart(8)}   ${burstRatio.toFixed(2).padStart(6)} (${(burstRatio / old.burst).toFixed(2)}x) ${pct(burst.itlMs, 99).toFixed(0).padStart(7)}   ${levelRatio.toFixed(2).padStart(6)} (${(levelRatio / old.level).toFixed(2)}x) ${pct(level.itlMs, 99).toFixed(0).padStart(7)}`,
    );
  }
  process.stdout.write(
    [
      'burst scheduling policy, simulated (cost model, not a measurement; ratios against the first row, the old plan)',
      '  prefill    defer   burst TTFT p50 / all-prefill   ITL p99 ms   32-client decode / kernel decode 32   ITL p99 ms',
      ...rows,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`burst bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
