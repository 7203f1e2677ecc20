/*
 * Retrieval on a fixture corpus with known answers (20 documents, one question each) and a
 * deterministic embedding endpoint (the scripted server's hashed bag of words):
 * recall@5 >= 0.9 with the embedded PGlite + pgvector store, after the process that ingested the
 * corpus has exited (the store persists on disk); re-ingesting replaces instead of duplicating;
 * chunks are cut by the model's tokens with overlap; the `retrieve` tool cites source:lines;
 * embeddings of another dimension are refused.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizerJson } from '@llm/tokenizer';
import { chunkText, ingestFiles, OpenAiHttpClient, openPgliteStore, retrieve, retrieveTool } from '../src';
import { startScriptedServer, type ScriptedServer } from '../src/testing';

jest.setTimeout(120_000);

const fixtures = join(__dirname, 'fixtures');
const queries = JSON.parse(readFileSync(join(fixtures, 'rag-queries.json'), 'utf8')) as Array<{ query: string; source: string }>;
const tokenizer = loadTokenizerJson(readFileSync(join(__dirname, '../../../models/default/tokenizer.json'), 'utf8'));
let server: ScriptedServer;
let dir: string;

beforeAll(async () => {
  server = await startScriptedServer({});
  dir = mkdtempSync(join(tmpdir(), 'harness-rag-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RAG', () => {
  it('chunks by tokens with overlap and keeps line ranges', () => {
    const text = 'alpha beta\ngamma delta\nepsilon zeta eta theta\n';
    const chunks = chunkText(text, 'x.md', tokenizer, { chunkTokens: 16, overlap: 4 });
    // The default model's tokenizer is byte-level without merges: one token per byte.
    expect(chunks.map((c) => c.text)).toEqual([text.slice(0, 16), text.slice(12, 28), text.slice(24, 40), text.slice(36)]);
    expect(chunks.map((c) => [c.startLine, c.endLine])).toEqual([[1, 2], [2, 3], [3, 3], [3, 3]]);
    expect(() => chunkText(text, 'x', tokenizer, { chunkTokens: 8, overlap: 8 })).toThrow('overlap must be at least 0 and less than the chunk size 8, got 8');
  });

  it('finds the right document in the top 5 for >= 90% of questions, after the ingesting process has exited', async () => {
    const store = join(dir, 'store');
    const { stdout: out } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', join(fixtures, 'rag-ingest.ts'), store, server.url], { cwd: join(__dirname, '../../..'), encoding: 'utf8' });
    const ingested = JSON.parse(out.trim().split('\n').pop()!) as { files: number; chunks: number; count: number };
    expect(ingested.files).toBe(20);
    expect(ingested.count).toBe(ingested.chunks);

    const client = new OpenAiHttpClient({ baseUrl: server.url });
    const db = await openPgliteStore(store);
    try {
      expect(await db.count()).toBe(ingested.chunks);
      let found = 0;
      for (const q of queries) if ((await retrieve(db, client, q.query, 5)).some((h) => h.chunk.source === q.source)) found++;
      expect(found / queries.length).toBeGreaterThanOrEqual(0.9);

      // Re-ingesting a file replaces its chunks.
      await ingestFiles([join(fixtures, 'rag-corpus', 'cheese.md')], { store: db, client, tokenizer, chunkTokens: 128, overlap: 32, baseDir: join(fixtures, 'rag-corpus') });
      expect(await db.count()).toBe(ingested.chunks);

      const tool = retrieveTool(db, client, { k: 2 });
      const text = String(await tool.run({ query: 'How long do alpine gruyere wheels age?' }, { signal: new AbortController().signal, callId: 'r' }));
      expect(text).toMatch(/^\[1\] cheese\.md:\d+-\d+ \(score 0\.\d{3}\)\n/);
      expect(text).toContain('ten months');

      // Embeddings of another dimension are refused, by name.
      const chunk = { id: 'x#0', source: 'x', index: 0, text: 't', startLine: 1, endLine: 1, tokens: 1 };
      await expect(db.add([{ ...chunk, embedding: [1, 0] }])).rejects.toThrow(`the store at ${store} holds 256-dimensional embeddings, but these have 2`);
      await expect(db.search([1, 0], 3)).rejects.toThrow(`the query embedding has 2 dimensions, the store at ${store} 256`);
    } finally {
      await db.close();
    }
  });
});
