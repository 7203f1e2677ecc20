/*
 * Ingestion and retrieval: files (or folders, walked for text files) are chunked by the model's
 * tokens, embedded through the endpoint's embeddings API in batches, and stored; re-ingesting a
 * file replaces its chunks. A query is embedded the same way and answered with the k nearest
 * chunks, each with its citation (file and line range).
 *
 * What it is not: a document parser (PDF, HTML); text files only.
 * Reference: the retrieve-then-read pattern (Lewis et al. 2020, RAG).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import type { ModelClient } from '../client/types';
import { chunkText, type ChunkOptions, type TextTokenizer } from './chunk';
import type { Hit, StoredChunk, VectorStore } from './store';

export const TEXT_EXTENSIONS = ['.txt', '.md', '.markdown', '.rst', '.json', '.jsonl', '.yaml', '.yml', '.csv', '.ts', '.js', '.py', '.html'];

export interface IngestOptions extends ChunkOptions {
  store: VectorStore;
  client: ModelClient;
  tokenizer: TextTokenizer;
  model?: string;
  /** Texts per embeddings request (default 32). */
  batchSize?: number;
  /** Sources are recorded relative to this folder (default: the current one). */
  baseDir?: string;
  onProgress?: (done: number, total: number, file: string) => void;
}

/** Files under the given paths (folders walked, hidden entries skipped), sorted. */
export function listFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new Error(`${p} does not exist`);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(join(p, name));
    } else if (TEXT_EXTENSIONS.includes(extname(p).toLowerCase()) || paths.includes(p)) out.push(p);
  };
  paths.forEach(walk);
  return out;
}

export async function ingestFiles(paths: string[], opts: IngestOptions): Promise<{ files: number; chunks: number }> {
  const files = listFiles(paths);
  const base = resolve(opts.baseDir ?? '.');
  const batch = opts.batchSize ?? 32;
  let total = 0;
  for (let f = 0; f < files.length; f++) {
    const source = relative(base, resolve(files[f])) || files[f];
    const chunks = chunkText(readFileSync(files[f], 'utf8'), source, opts.tokenizer, opts);
    const stored: StoredChunk[] = [];
    for (let i = 0; i < chunks.length; i += batch) {
      const part = chunks.slice(i, i + batch);
      const vectors = await opts.client.embed(part.map((c) => c.text), { model: opts.model });
      part.forEach((c, j) => stored.push({ ...c, embedding: vectors[j] }));
    }
    await opts.store.removeSource(source);
    await opts.store.add(stored);
    total += stored.length;
    opts.onProgress?.(f + 1, files.length, source);
  }
  return { files: files.length, chunks: total };
}

export async function retrieve(store: VectorStore, client: ModelClient, query: string, k = 5, model?: string): Promise<Hit[]> {
  const [v] = await client.embed([query], { model });
  return store.search(v, k);
}

/** `source:start-end` */
export function citation(h: Hit): string {
  return `${h.chunk.source}:${h.chunk.startLine}-${h.chunk.endLine}`;
}
