/*
 * `llm rag ingest PATHS... --store DIR|postgres://...`: chunk files by the model's tokens, embed
 * them through the endpoint's embeddings API, store them (re-ingesting a file replaces it).
 * `llm rag query TEXT --store ...`: the k nearest chunks with their citations.
 * The store is a folder (embedded PGlite with pgvector, persisted) or a Postgres URL (pgvector).
 */
import type { Command } from 'commander';
import { citation, ingestFiles, retrieve } from '@llm/harness';
import { CliError } from '../errors';
import { connectClient, progressLine, type ClientFlags } from '../harness/connect';
import { loadChunkTokenizer, openStore } from '../harness/rag-store';
import type { RegisterCommand } from './index';

interface RagFlags extends ClientFlags {
  store: string;
  tokenizer?: string;
  chunkTokens: string;
  overlap: string;
  k: string;
  json?: boolean;
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

async function ingest(paths: string[], f: RagFlags): Promise<void> {
  if (paths.length === 0) throw new CliError('give the files or folders to ingest');
  const tokenizer = loadChunkTokenizer(f.tokenizer);
  const { client, close } = connectClient(f);
  const store = await openStore(f.store);
  const bar = progressLine();
  try {
    const r = await ingestFiles(paths, {
      store, client, tokenizer, model: f.model, chunkTokens: int('chunk-tokens', f.chunkTokens, 1), overlap: int('overlap', f.overlap, 0),
      onProgress: (done, total, file) => bar(done / total, `${done}/${total} files (${file})`),
    });
    process.stdout.write(`ingested ${r.files} files as ${r.chunks} chunks into ${store.location} (${await store.count()} chunks in the store)\n`);
  } catch (err) {
    throw err instanceof CliError ? err : new CliError((err as Error).message);
  } finally {
    close();
    await store.close();
  }
}

async function query(words: string[], f: RagFlags): Promise<void> {
  const text = words.join(' ').trim();
  if (!text) throw new CliError('give the query text');
  const { client, close } = connectClient(f);
  const store = await openStore(f.store);
  try {
    const hits = await retrieve(store, client, text, int('k', f.k, 1), f.model);
    if (f.json) process.stdout.write(`${JSON.stringify(hits.map((h) => ({ citation: citation(h), score: h.score, text: h.chunk.text })), null, 2)}\n`);
    else hits.forEach((h, i) => process.stdout.write(`[${i + 1}] ${citation(h)} (score ${h.score.toFixed(3)})\n${h.chunk.text.trim()}\n\n`));
    if (hits.length === 0) process.stderr.write(`the store at ${store.location} is empty; run \`llm rag ingest\` first\n`);
  } catch (err) {
    throw err instanceof CliError ? err : new CliError((err as Error).message);
  } finally {
    close();
    await store.close();
  }
}

export const registerRag: RegisterCommand = (program: Command) => {
  const rag = program.command('rag').description('retrieval: ingest files into a vector store, query it');
  const common = (c: Command) =>
    c
      .requiredOption('--store <dir|postgres://...>', 'a folder (embedded PGlite + pgvector) or a Postgres URL with pgvector')
      .option('--endpoint <url>', 'OpenAI-compatible endpoint with /v1/embeddings')
      .option('--grpc <host:port>', "the platform's gRPC Inference API (once it has Embed)")
      .option('--model <name>', 'embedding model name to send');
  common(rag.command('ingest').argument('<paths...>', 'files or folders').description('chunk, embed and store files'))
    .option('--tokenizer <dir|file>', 'model directory or tokenizer.json whose tokens cut the chunks')
    .option('--chunk-tokens <n>', 'tokens per chunk', '128')
    .option('--overlap <n>', 'tokens shared by neighbouring chunks', '32')
    .action((paths: string[], f: RagFlags) => ingest(paths, f));
  common(rag.command('query').argument('<text...>', 'the query').description('the k nearest chunks with citations'))
    .option('-k, --k <n>', 'chunks to return', '5')
    .option('--json', 'print JSON')
    .action((words: string[], f: RagFlags) => query(words, f));
};
