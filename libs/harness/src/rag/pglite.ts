/*
 * The embedded default vector store: PGlite (Postgres compiled to WebAssembly, in this process)
 * with its pgvector extension, persisted in a folder. Nothing to install or run; the folder
 * survives restarts; the SQL is store.ts's, the same a Postgres server runs.
 *
 * What it is not: shared between processes (one process opens a folder at a time).
 * Reference: PGlite (dataDir persistence, extensions); pgvector.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { SqlVectorStore, type SqlDriver } from './store';

export async function openPgliteStore(dir: string): Promise<SqlVectorStore> {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir, extensions: { vector } });
  } catch (err) {
    throw new Error(`cannot open the vector store in ${dataDir} (${(err as Error).message}); is another process using it?`);
  }
  const driver: SqlDriver = {
    query: async (sql, params) => ({ rows: (await db.query(sql, params)).rows as never[] }),
    exec: async (sql) => void (await db.exec(sql)),
    close: () => db.close(),
  };
  return SqlVectorStore.open(driver, dataDir);
}
