/*
 * The speculative section of `llm bench`: one streaming client (batch 1, what a chat user feels)
 * through `llm serve` embedded, speculative decoding off and then on (`--speculative ngram`,
 * prompt lookup), on a repetitive workload (each prompt is a short random phrase repeated, the
 * shape of code or a document quoted back). Prints decode tok/s (tokens after the first over the
 * time after the first), the on/off ratio, and whether the greedy outputs are identical.
 *
 * Runs only when this build's `llm serve` has a --speculative flag (checked with `serve --help`);
 * otherwise it says so and measures nothing.
 * Not an acceptance-rate probe: the server's metrics carry that.
 */
import { spawnSync } from 'node:child_process';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { startServe, stopServe, type E2ePlan } from './e2e';

export interface SpeculativeResult {
  /** Decode tok/s with speculation off and on. */
  off: number;
  on: number;
  identical: boolean;
  requests: number;
}

/** Whether `llm serve --help` lists --speculative. */
export function serveHasSpeculative(cliEntry: string): boolean {
  const r = spawnSync(process.execPath, [cliEntry, 'serve', '--help'], { encoding: 'utf8' });
  return /--speculative\b/.test(r.stdout ?? '');
}

/** n prompts: a random phrase of `phrase` tokens repeated to `length` tokens. */
function repetitivePrompts(n: number, length: number, phrase: number, vocab: number): number[][] {
  const lo = Math.min(256, vocab - 1);
  return Array.from({ length: n }, (_, k) => {
    const words = Array.from({ length: phrase }, (_, i) => lo + ((k * 7919 + i * 104729) % Math.max(1, vocab - lo - 1)));
    return Array.from({ length }, (_, i) => words[i % phrase]);
  });
}

async function decodeRun(plan: E2ePlan, extra: string[], prompts: number[][], progress: (s: string) => void): Promise<{ tokPerS: number; outputs: number[][] }> {
  const served = await startServe({ ...plan, extraServeArgs: [...plan.extraServeArgs, ...extra] }, 'embedded', progress);
  const conn = connectGrpc(inference.InferenceDefinition, served.grpc, { deadlineMs: 600_000 });
  try {
    let tokens = 0;
    let ms = 0;
    const outputs: number[][] = [];
    for (const ids of prompts) {
      const r = inference.GenerateRequest.fromPartial({ promptTokenIds: ids, sampling: { temperature: 0, maxTokens: plan.outputTokens, ignoreEos: true } });
      const out: number[] = [];
      let first = -1;
      for await (const d of conn.client.generate(r)) {
        if (d.tokenIds.length === 0) continue;
        if (first < 0) first = performance.now();
        out.push(...d.tokenIds);
      }
      ms += performance.now() - first;
      tokens += out.length - 1; // after the first token
      outputs.push(out);
    }
    return { tokPerS: (tokens * 1000) / ms, outputs };
  } finally {
    conn.close();
    await stopServe(served);
  }
}

/** Off, then on (ngram), on the same prompts. */
export async function runSpeculative(plan: E2ePlan, progress: (s: string) => void): Promise<SpeculativeResult> {
  const prompts = repetitivePrompts(4, 96, 12, plan.vocabSize);
  progress('speculative: 1 client, repetitive prompts, speculation off');
  const off = await decodeRun(plan, [], prompts, progress);
  progress('speculative: the same with --speculative ngram');
  const on = await decodeRun(plan, ['--speculative', 'ngram'], prompts, progress);
  const identical = off.outputs.every((o, i) => o.length === on.outputs[i].length && o.every((t, j) => t === on.outputs[i][j]));
  return { off: off.tokPerS, on: on.tokPerS, identical, requests: prompts.length };
}
