/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * The harness through the `llm` program against the real platform:
 *   - `llm eval` of models/default on held-out additions, embedded and `serve --distributed`
 *     alike: the same answer for every sample, exact match within the standard error of the
 *     trainer's 99.8% (200 samples here; HARNESS_FULL_EVAL=1 runs all 1,000);
 *   - `llm eval` bad input: an unknown task field, an endpoint that fails (exit code 2, the
 *     finished samples kept), `llm eval compare`;
 *   - `llm mcp`: the MCP SDK's own client lists and calls the platform's tools over stdio (a child
 *     process) and Streamable HTTP: generate, tokenize with BPE pieces, model_info, embeddings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { GrpcInferenceClient, readReport, type InferenceTransport } from '@llm/harness';
import { startScriptedServer } from '@llm/harness/testing';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { serveMcpHttp } from '../src/harness/mcp-server';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { llm } from './support/llm';

jest.setTimeout(300_000);

const root = join(__dirname, '../../..');
const modelDir = join(root, 'models/default');
const taskFile = join(modelDir, 'eval/add2.yaml');
const N = process.env.HARNESS_FULL_EVAL ? 1000 : 200;
/** The trainer's figure on 500 held-out problems (models/default/README.md) and its standard error. */
const TRAINER = { value: 0.998, stderr: Math.sqrt((0.998 * 0.002) / 500) };
const settings = { host: '127.0.0.1', backend: 'ort' as const, threads: 1, kvCacheGib: 0.02, blockSize: 16, maxNumSeqs: 64, maxNumBatchedTokens: 1024 };

let dir: string;
let embedded: EmbeddedPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-harness-'));
  embedded = await startEmbedded({ ...settings, modelDir, grpcPort: 0, httpPort: 0 });
});
afterAll(async () => {
  await embedded?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('llm eval against the platform', () => {
  let redis: StartedRedis;
  let dist: DistributedPlatform;

  beforeAll(async () => {
    redis = await startRedis();
    dist = await startDistributed({ ...settings, modelDir, grpcPort: 0, httpPort: 0, redisUrl: redis.url });
  });
  afterAll(async () => {
    await dist?.close();
    await redis?.stop();
  });

  it(`reports the trainer's exact match on ${N} held-out additions, identically embedded and distributed`, async () => {
    const runs = [];
    for (const [name, http] of [['embedded', embedded.httpAddress], ['distributed', dist.httpAddress]]) {
      const out = join(dir, `eval-${name}`);
      const r = await llm('eval', '--task', taskFile, '--endpoint', `http://${http}`, '--out', out, '--limit', String(N), '--concurrency', '32');
      expect(r.err).toBeNull();
      expect(r.out).toMatch(new RegExp(`^add2: exact_match \\d+\\.\\d+% ± \\d+\\.\\d+ \\(n=${N}, ${N} results, cache hits 0\\)`));
      runs.push(readReport(join(out, 'report.json')));
    }
    const [emb, dis] = runs;
    expect(dis.samples.map((s) => s.output)).toEqual(emb.samples.map((s) => s.output));
    const m = emb.metrics.exact_match;
    expect(m.n).toBe(N);
    expect(Math.abs(m.value - TRAINER.value)).toBeLessThanOrEqual(1.96 * Math.hypot(m.stderr, TRAINER.stderr));
    // The answers are the reversed sums the task file's samples hold, checked independently.
    for (const s of emb.samples.filter((x) => x.scores.exact_match === 1)) {
      const [a, b] = s.prompt.replace('=', '').split('+').map(Number);
      expect(s.output).toBe(String(a + b).padStart(3, '0').split('').reverse().join(''));
    }
    const cmp = await llm('eval', 'compare', join(dir, 'eval-embedded'), join(dir, 'eval-distributed'));
    expect(cmp.out).toMatch(/exact_match .* \+0\.0000 ± 0\.0000 .* no \(paired over \d+ samples\)/);
  });

  it('a re-run is answered from the cache: no request reaches the platform', async () => {
    const r = await llm('eval', '--task', taskFile, '--endpoint', `http://${embedded.httpAddress}`, '--out', join(dir, 'eval-embedded'), '--limit', String(N));
    expect(r.out).toMatch(new RegExp(`\\(n=${N}, ${N} results, cache hits 0\\)`)); // every sample was already finished: resumed
    const again = await llm('eval', '--task', taskFile, '--endpoint', `http://${embedded.httpAddress}`, '--out', join(dir, 'eval-again'), '--cache-dir', join(dir, 'eval-embedded', 'cache'), '--limit', String(N));
    expect(again.out).toContain(`cache hits ${N})`);
  });
});

describe('llm eval bad input', () => {
  it('refuses a task file with an unknown field in one line', async () => {
    const { writeFileSync } = await import('node:fs');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(taskFile, 'utf8').replace('metrics:', 'metric:'));
    const r = await llm('eval', '--task', bad, '--endpoint', 'http://127.0.0.1:9');
    expect((r.err as Error).message).toBe(
      `task file ${bad}: unknown field 'metric' (known: name, description, samples, request, prompt, target, choices, gold, fewshot, generation, extract, metrics, repeats, seed, agent)`,
    );
  });

  it('stops on an endpoint returning 500 with exit code 2, keeps the finished samples, and resumes', async () => {
    let calls = 0;
    const server = await startScriptedServer({
      completion: (body) => (++calls > 5 ? { status: 500, message: 'worker lost' } : { text: String(body.prompt).slice(0, 3) }),
    });
    try {
      const out = join(dir, 'eval-500');
      const args = ['eval', '--task', taskFile, '--endpoint', server.url, '--out', out, '--limit', '10', '--concurrency', '1', '--retries', '0'];
      const r = await llm(...args);
      expect((r.err as { exitCode: number }).exitCode).toBe(2);
      expect((r.err as Error).message).toMatch(/^sample '6#0' failed: POST http:\/\/127\.0\.0\.1:\d+\/v1\/completions: 500 Internal Server Error: worker lost; 5 of 10 samples are finished and kept in .*results\.jsonl; run the same command again to resume$/);
      server.handlers.completion = (body) => ({ text: String(body.prompt).slice(0, 3) });
      const again = await llm(...args);
      expect(again.err).toBeNull();
      expect(again.out).toMatch(/\(n=10, 10 results/);
      expect(calls).toBe(6); // only the failed sample's request was answered by the old script
    } finally {
      await server.close();
    }
  });
});

describe('llm mcp', () => {
  async function checkTools(client: Client): Promise<void> {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['embeddings', 'generate', 'model_info', 'tokenize']);
    const text = (r: any) => (r.content as Array<{ text: string }>)[0].text;
    const gen = await client.callTool({ name: 'generate', arguments: { prompt: '37+48=', max_tokens: 4 } });
    expect(JSON.parse(text(gen))).toMatchObject({ text: '580', finish_reason: 'stop' }); // 85 reversed, as the model card says
    const tok = await client.callTool({ name: 'tokenize', arguments: { text: '37+48=' } });
    expect(JSON.parse(text(tok))).toEqual({ count: 6, ids: [51, 55, 43, 52, 56, 61], pieces: ['3', '7', '+', '4', '8', '='] }); // byte-level: one byte each
    const info = JSON.parse(text(await client.callTool({ name: 'model_info', arguments: {} })));
    expect(info.models[0]).toMatchObject({ id: embedded.modelId, max_model_len: 512 });
    const emb = await client.callTool({ name: 'embeddings', arguments: { input: ['hello', 'world'] } });
    expect(emb.isError).toBeFalsy();
    expect(JSON.parse(text(emb))).toMatchObject({ count: 2, dimensions: 64 }); // one vector per text, of the model's width
    const bad = await client.callTool({ name: 'generate', arguments: { prompt: 'x', max_tokens: -1 } });
    expect(bad.isError).toBe(true);
  }

  it('serves the platform on stdio to the SDK client (a child process)', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['-r', '@swc-node/register', join(root, 'apps/cli/src/main.ts'), 'mcp', '--grpc', embedded.grpcAddress],
      cwd: root,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport, { timeout: 60_000 });
    try {
      await checkTools(client);
    } finally {
      await client.close();
    }
  });

  it('serves the platform over Streamable HTTP to the SDK client', async () => {
    const conn = connectGrpc(inference.InferenceDefinition, embedded.grpcAddress);
    const served = await serveMcpHttp(new GrpcInferenceClient(conn.client as unknown as InferenceTransport, { address: embedded.grpcAddress }), '127.0.0.1', 0);
    const client = new Client({ name: 'test', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(served.url)));
      await checkTools(client);
    } finally {
      await client.close();
      await served.close();
      conn.close();
    }
  });
});
