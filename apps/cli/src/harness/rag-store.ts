/*
 * Opening a RAG vector store from a flag: a folder is the embedded PGlite store (created on first
 * use, persisted there); a postgres:// URL is a Postgres server with the pgvector extension,
 * through a `pg` pool, running the same SQL (libs/harness/src/rag/store.ts).
 * Also the tokenizer chunks are cut with: a model directory or a tokenizer.json file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { openPgliteStore, retrieveTool, SqlVectorStore, type Tool, type VectorStore } from '@llm/harness';
import { loadTokenizerJson, type Tokenizer } from '@llm/tokenizer';
import { CliError } from '../errors';
import { connectClient, type ClientFlags } from './connect';

export async function openStore(spec: string): Promise<VectorStore> {
  try {
    if (/^postgres(ql)?:\/\//.test(spec)) {
      const pool = new Pool({ connectionString: spec, max: 4 });
      const shown = spec.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
      return await SqlVectorStore.open(
        {
          query: async (sql, params) => ({ rows: (await pool.query(sql, params)).rows }),
          exec: async (sql) => void (await pool.query(sql)),
          close: () => pool.end(),
        },
        shown,
      );
    }
    return await openPgliteStore(spec);
  } catch (err) {
    throw new CliError(`--store ${spec}: ${(err as Error).message}`);
  }
}

export function loadChunkTokenizer(path: string | undefined): Tokenizer {
  if (!path) throw new CliError("--tokenizer is required: the model directory (or its tokenizer.json) whose tokens chunks are cut by");
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  if (!existsSync(file)) throw new CliError(`--tokenizer ${path}: no tokenizer.json there (give a model directory or a tokenizer.json file)`);
  try {
    return loadTokenizerJson(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new CliError(`--tokenizer ${file}: ${(err as Error).message}`);
  }
}

/** The `retrieve` tool over a store, embedding queries through the agent's endpoint. */
export async function openRagTool(spec: string, flags: ClientFlags): Promise<{ tool: Tool; close: () => Promise<void> }> {
  const store = await openStore(spec);
  const { client, close } = connectClient(flags);
  return { tool: retrieveTool(store, client, { model: flags.model }), close: async () => (close(), await store.close()) };
}
