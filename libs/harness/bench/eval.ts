/*
 * Harness benchmark (`npx nx run harness:bench`): what the evaluation runner itself costs and how it
 * scales, measured against an in-process OpenAI-compatible endpoint with a fixed latency per request
 * (so the figures are the harness's, not a model's). models/default's add2 task (its YAML and
 * held-out samples) is run through runEval with the OpenAI HTTP client:
 *   - samples/s at concurrency 1, 8 and 32, each as a ratio to concurrency 1 beside the ideal ratio
 *     (latency-bound: min(c, N)), and the harness's own cost per sample (wall time beyond the
 *     latency-bound ideal, divided by the samples);
 *   - a re-run from the response cache as a ratio to the fresh run at concurrency 8 (goal: a re-run
 *     costs nothing: no request reaches the endpoint);
 *   - exact match must be 1.0 (the endpoint answers each prompt's target), so the runner is checked
 *     as it is timed.
 * Progress on stderr. What it is not: a model benchmark (`llm bench`, orchestrator:bench).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTaskFile, OpenAiHttpClient, runEval } from '../src';

const LATENCY_MS = Number(process.env.HARNESS_BENCH_LATENCY_MS ?? 20);
const N = Number(process.env.HARNESS_BENCH_SAMPLES ?? 256);
const progress = (msg: string) => process.stderr.write(`[harness bench] ${msg}\n`);

const taskFile = resolve(__dirname, '../../../../models/default/eval/add2.yaml');
const task = loadTaskFile(taskFile);
const answers = new Map<string, string>();
for (const line of readFileSync(task.samplesFile, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const s = JSON.parse(line) as { prompt: string; answer: string };
  answers.set(s.prompt, s.answer);
}

/** POST /v1/completions answering each prompt's target after LATENCY_MS; counts requests. */
function startEndpoint(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no route"}}');
        return;
      }
      count++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt: string };
      const text = answers.get(body.prompt) ?? '';
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `cmpl-${count}`, object: 'text_completion', model: 'bench', choices: [{ index: 0, text, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 } }));
      }, LATENCY_MS);
    });
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      ok({ url: `http://127.0.0.1:${port}`, requests: () => count, close: () => new Promise<void>((done) => server.close(() => done())) });
    }),
  );
}

async function run(url: string, concurrency: number, cacheDir: string | null): Promise<{ seconds: number; exact: number }> {
  const out = mkdtempSync(join(tmpdir(), 'harness-bench-'));
  try {
    const client = new OpenAiHttpClient({ baseUrl: url, concurrency, retry: { maxRetries: 0 } });
    const t0 = performance.now();
    const rep = await runEval({ task, client, outDir: out, limit: N, concurrency, cacheDir });
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, exact: rep.metrics.exact_match.value };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const ep = await startEndpoint();
  const cacheDir = mkdtempSync(join(tmpdir(), 'harness-bench-cache-'));
  try {
    progress(`${N} add2 samples, endpoint latency ${LATENCY_MS} ms; warm-up`);
    await run(ep.url, 8, null);
    const rows: string[] = [];
    let base = 0;
    for (const c of [1, 8, 32]) {
      progress(`concurrency ${c} ...`);
      const r = await run(ep.url, c, null);
      const rate = N / r.seconds;
      if (c === 1) base = rate;
      const ideal = Math.min(c, N);
      const idealSeconds = Math.ceil(N / ideal) * (LATENCY_MS / 1000);
      const overheadMs = ((r.seconds - idealSeconds) / N) * 1000;
      if (r.exact !== 1) throw new Error(`exact match ${r.exact} at concurrency ${c}: the runner lost or mis-scored answers`);
      rows.push(`| ${c} | ${rate.toFixed(1)} | ${(rate / base).toFixed(2)}x | ${ideal}x | ${overheadMs.toFixed(2)} | ${r.exact.toFixed(3)} |`);
    }
    progress('response cache: fill, then re-run ...');
    const fresh = await run(ep.url, 8, cacheDir);
    const before = ep.requests();
    const cached = await run(ep.url, 8, cacheDir);
    const reached = ep.requests() - before;
    process.stdout.write(`\nHarness eval runner, ${N} samples of models/default's add2 task, endpoint latency ${LATENCY_MS} ms (load average ${(await import('node:os')).loadavg()[0].toFixed(2)})\n\n`);
    process.stdout.write('| concurrency | samples/s | vs concurrency 1 | ideal | harness ms/sample beyond latency | exact match |\n|---|---|---|---|---|---|\n');
    process.stdout.write(`${rows.join('\n')}\n\n`);
    process.stdout.write(`| response cache (concurrency 8) | seconds | ratio to fresh | requests reaching the endpoint |\n|---|---|---|---|\n`);
    process.stdout.write(`| fresh | ${fresh.seconds.toFixed(3)} | 1.00x | ${N} |\n| re-run from the cache | ${cached.seconds.toFixed(3)} | ${(cached.seconds / fresh.seconds).toFixed(3)}x | ${reached} |\n`);
    if (reached !== 0) throw new Error(`${reached} requests reached the endpoint on a cached re-run`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    await ep.close();
  }
}

main().catch((err) => {
  process.stderr.write(`harness bench: ${(err as Error).message}\n`);
  process.exit(1);
});
