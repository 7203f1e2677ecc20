/*
 * The vector store behind retrieval: one interface, one SQL. Chunks and their embeddings live in
 * a pgvector table searched by cosine distance (`<=>`: exact by default; an HNSW index when asked
 * for, which is approximate and can miss rows when embeddings are sparse), through a minimal
 * SQL driver, so the embedded default (PGlite with pgvector, a folder on disk) and a Postgres
 * server with pgvector run the very same statements.
 *
 *   rag_meta(key, value)                      dimensions of the stored embeddings
 *   rag_chunks(id, source, idx, start_line, end_line, tokens, text, embedding vector(D))
 *
 * What it is not: a driver (pglite.ts; the CLI's Postgres pool), or hybrid (keyword) search.
 * Reference: pgvector (vector type, <=> cosine distance, hnsw vector_cosine_ops).
 */
import type { Chunk } from './chunk';

export interface StoredChunk extends Chunk {
  embedding: number[];
}

export interface Hit {
  chunk: Chunk;
  /** Cosine similarity, 1 - cosine distance. */
  score: number;
}

export interface VectorStore {
  /** Where it lives (a folder or a database URL without its password). */
  readonly location: string;
  add(chunks: StoredChunk[]): Promise<void>;
  search(embedding: number[], k: number): Promise<Hit[]>;
  count(): Promise<number>;
  /** Removes a source's chunks (before it is ingested again). */
  removeSource(source: string): Promise<number>;
  close(): Promise<void>;
}

/** The few calls the store makes of a SQL connection ($1-style parameters). */
export interface SqlDriver {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const vectorLiteral = (v: number[]) => `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

interface Row {
  id: string;
  source: string;
  idx: number;
  start_line: number;
  end_line: number;
  tokens: number;
  text: string;
  score: number;
}

export class SqlVectorStore implements VectorStore {
  private dims: number | null = null;

  private constructor(
    private readonly db: SqlDriver,
    readonly location: string,
    private readonly index: 'exact' | 'hnsw',
  ) {}

  static async open(db: SqlDriver, location: string, opts: { index?: 'exact' | 'hnsw' } = {}): Promise<SqlVectorStore> {
    const store = new SqlVectorStore(db, location, opts.index ?? 'exact');
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE IF NOT EXISTS rag_meta (key text PRIMARY KEY, value text NOT NULL);');
    const r = await db.query<{ value: string }>("SELECT value FROM rag_meta WHERE key = 'dimensions'");
    store.dims = r.rows[0] ? Number(r.rows[0].value) : null;
    return store;
  }

  get dimensions(): number | null {
    return this.dims;
  }

  private async ensureTable(dims: number): Promise<void> {
    if (this.dims === dims) return;
    if (this.dims !== null) {
      throw new Error(`the store at ${this.location} holds ${this.dims}-dimensional embeddings, but these have ${dims}; use another store for another embedding model`);
    }
    await this.db.exec(
      `CREATE TABLE IF NOT EXISTS rag_chunks (id text PRIMARY KEY, source text NOT NULL, idx integer NOT NULL, start_line integer NOT NULL, end_line integer NOT NULL, ` +
        `tokens integer NOT NULL, text text NOT NULL, embedding vector(${dims}) NOT NULL); ` +
        'CREATE INDEX IF NOT EXISTS rag_chunks_source ON rag_chunks (source);',
    );
    if (this.index === 'hnsw') await this.db.exec('CREATE INDEX IF NOT EXISTS rag_chunks_embedding ON rag_chunks USING hnsw (embedding vector_cosine_ops);');
    await this.db.query("INSERT INTO rag_meta (key, value) VALUES ('dimensions', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [String(dims)]);
    this.dims = dims;
  }

  async add(chunks: StoredChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    await this.ensureTable(chunks[0].embedding.length);
    for (const c of chunks) {
      if (c.embedding.length !== this.dims) throw new Error(`chunk ${c.id}: embedding has ${c.embedding.length} dimensions, the store ${this.dims}`);
      await this.db.query(
        'INSERT INTO rag_chunks (id, source, idx, start_line, end_line, tokens, text, embedding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::vector) ' +
          'ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, idx = EXCLUDED.idx, start_line = EXCLUDED.start_line, end_line = EXCLUDED.end_line, ' +
          'tokens = EXCLUDED.tokens, text = EXCLUDED.text, embedding = EXCLUDED.embedding',
        [c.id, c.source, c.index, c.startLine, c.endLine, c.tokens, c.text, vectorLiteral(c.embedding)],
      );
    }
  }

  async search(embedding: number[], k: number): Promise<Hit[]> {
    if (this.dims === null) return [];
    if (embedding.length !== this.dims) throw new Error(`the query embedding has ${embedding.length} dimensions, the store at ${this.location} ${this.dims}`);
    const r = await this.db.query<Row>(
      'SELECT id, source, idx, start_line, end_line, tokens, text, 1 - (embedding <=> $1::vector) AS score FROM rag_chunks ORDER BY embedding <=> $1::vector, id LIMIT $2',
      [vectorLiteral(embedding), k],
    );
    return r.rows.map((row) => ({
      chunk: { id: row.id, source: row.source, index: Number(row.idx), startLine: Number(row.start_line), endLine: Number(row.end_line), tokens: Number(row.tokens), text: row.text },
      score: Number(row.score),
    }));
  }

  async count(): Promise<number> {
    if (this.dims === null) return 0;
    const r = await this.db.query<{ n: number | string }>('SELECT count(*) AS n FROM rag_chunks');
    return Number(r.rows[0].n);
  }

  async removeSource(source: string): Promise<number> {
    if (this.dims === null) return 0;
    const r = await this.db.query<{ id: string }>('DELETE FROM rag_chunks WHERE source = $1 RETURNING id', [source]);
    return r.rows.length;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
