/*
 * `llm rag ingest` and `llm rag query` with the embedded store (a folder) and an embeddings
 * endpoint (the harness's scripted server with its deterministic embedding): the question's
 * document comes first, with its citation; a second ingest of the same files replaces them;
 * missing flags give one line saying what to pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScriptedServer, type ScriptedServer } from '@llm/harness/testing';
import { llm } from './support/llm';

jest.setTimeout(180_000);

const root = join(__dirname, '../../..');
const corpus = join(root, 'libs/harness/test/fixtures/rag-corpus');
let server: ScriptedServer;
let dir: string;

beforeAll(async () => {
  server = await startScriptedServer({});
  dir = mkdtempSync(join(tmpdir(), 'llm-rag-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('ingests a folder and answers a query with citations', async () => {
  const store = join(dir, 'store');
  const common = ['--store', store, '--endpoint', server.url];
  const first = await llm('rag', 'ingest', corpus, ...common, '--tokenizer', join(root, 'models/default'), '--chunk-tokens', '96', '--overlap', '16');
  expect(first.err).toBeNull();
  const n = Number(/into .* \((\d+) chunks in the store\)/.exec(first.out)![1]);
  expect(first.out).toMatch(/^ingested 20 files as \d+ chunks into /);
  const again = await llm('rag', 'ingest', corpus, ...common, '--tokenizer', join(root, 'models/default'), '--chunk-tokens', '96', '--overlap', '16');
  expect(again.out).toContain(`(${n} chunks in the store)`); // replaced, not duplicated
  const q = await llm('rag', 'query', 'Which', 'wood', 'does', 'the', 'luthier', 'use', 'for', 'the', 'violin', 'top', 'plate?', ...common, '-k', '3', '--json');
  expect(q.err).toBeNull();
  const hits = JSON.parse(q.out) as Array<{ citation: string; score: number; text: string }>;
  expect(hits).toHaveLength(3);
  expect(hits[0].citation).toMatch(/(^|\/)violin\.md:\d+-\d+$/);
  expect(hits[0].score).toBeGreaterThan(hits[2].score);
});

it('says what is missing in one line', async () => {
  const r = await llm('rag', 'ingest', corpus, '--store', join(dir, 's2'), '--endpoint', server.url);
  expect((r.err as Error).message).toBe('--tokenizer is required: the model directory (or its tokenizer.json) whose tokens chunks are cut by');
  const e = await llm('rag', 'query', 'x', '--store', join(dir, 's3'));
  expect((e.err as Error).message).toBe("give exactly one of --endpoint URL (OpenAI-compatible HTTP) or --grpc HOST:PORT (the platform's gRPC Inference API)");
});
