/*
 * llama.cpp as a test peer: runs apps/cli/peer/llama-cpp.mjs (llama.cpp's own CPU build, from the
 * node-llama-cpp package installed beside the repository, see that file) in a child process per
 * request and parses its JSON answer. `describeLlamaCpp` is `describe` when the peer answers a
 * probe and `describe.skip` otherwise, printing why once per process -- LLM_LLAMA_CPP unset, or
 * set and the probe failing. Under CI (.ci/run installs the peer) a missing peer is an error,
 * not a skip. Also: the comparisons the peer specs share (max |a - b| over every position).
 * Not here: any model or file (the specs write their own with our writer).
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const DRIVER = join(__dirname, '..', '..', 'peer', 'llama-cpp.mjs');
const INSTALL = 'npm install --prefix ~/.cache/llm-llama-cpp --omit=optional --no-save node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1; export LLM_LLAMA_CPP=~/.cache/llm-llama-cpp';

/** null when the peer answers; else why not (one line). */
function probe(): string | null {
  if (!process.env.LLM_LLAMA_CPP) return 'LLM_LLAMA_CPP is not set';
  const r = spawnSync(process.execPath, [DRIVER, JSON.stringify({ op: 'probe' })], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return null;
  return `the probe failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
}

let verdict: string | null | undefined;
/** Whether the peer runs here (probed once per test file). */
export function llamaCppWhyNot(): string | null {
  if (verdict === undefined) verdict = probe();
  return verdict;
}

/** `describe` with the peer, `describe.skip` (and one line on stderr saying why) without it. */
export function describeLlamaCpp(spec: string): jest.Describe {
  const why = llamaCppWhyNot();
  if (why === null) return describe;
  if (process.env.CI) throw new Error(`${spec}: llama.cpp peer unavailable under CI (${why}); .ci/run installs it`);
  process.stderr.write(`${spec}: llama.cpp peer not available (${why}); skipped.${process.env.LLM_LLAMA_CPP ? '' : ` To run: ${INSTALL}`}\n`);
  return describe.skip;
}

/** One driver request; rejects with the driver's stderr line when it exits non-zero. */
export function llamaCpp<T>(req: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DRIVER, JSON.stringify(req)], { maxBuffer: 256 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`llama.cpp peer (${String(req.op)}): ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/** llama.cpp's raw logits at every position for `tokens` fed as given (no BOS added). */
export async function llamaLogits(file: string, tokens: number[], kv: 'F32' | 'F16' = 'F32'): Promise<number[][]> {
  return (await llamaCpp<{ logits: number[][] }>({ op: 'logits', file, tokens, kv })).logits;
}

/** llama.cpp's token ids of each text (special tokens parsed, no BOS). */
export async function llamaTokenize(file: string, texts: string[]): Promise<number[][]> {
  return (await llamaCpp<{ ids: number[][] }>({ op: 'tokenize', file, texts })).ids;
}

export interface LlamaVocab { size: number; bos: number | null; eos: number | null; eot: number | null; addBos: boolean; model: string | null; chatTemplate: string | null }

/** What llama.cpp's loader made of the file's vocabulary. */
export function llamaVocab(file: string): Promise<LlamaVocab> {
  return llamaCpp<LlamaVocab>({ op: 'vocab', file });
}

/** max |a - b| over all positions and vocabulary entries (shapes must agree). */
export function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} positions against ${b.length}`);
  let m = 0;
  a.forEach((row, t) => {
    if (row.length !== b[t].length) throw new Error(`position ${t}: ${row.length} logits against ${b[t].length}`);
    for (let i = 0; i < row.length; i++) m = Math.max(m, Math.abs(row[i] - b[t][i]));
  });
  return m;
}

/** The largest logit's index at each position. */
export const argmaxes = (rows: ArrayLike<number>[]): number[] => rows.map((r) => {
  let best = 0;
  for (let i = 1; i < r.length; i++) if (r[i] > r[best]) best = i;
  return best;
});

/** The spread (max - min) of the logits: a comparison within tol means something only when this is much larger. */
export const spread = (rows: ArrayLike<number>[]): number => {
  const all = rows.flatMap((r) => Array.from(r));
  return Math.max(...all) - Math.min(...all);
};
