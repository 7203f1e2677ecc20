/*
 * A response cache in front of any ModelClient: chat and completion results are stored on disk
 * under a hash of (endpoint, kind, request) and returned from there on the next run, so a re-run
 * of an evaluation costs no model call at all. Entries are appended to one JSONL file as they
 * arrive (a crash keeps everything answered so far); `hits` and `misses` count what happened.
 *
 * Seeds are part of requests, so repeats of a sample (different seeds) are cached apart.
 * What it is not: a cache of embeddings or of tool results.
 * Reference: lm-evaluation-harness's request cache (--use_cache).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DelegatingClient } from '../client/delegating';
import type { CallOptions, ChatRequest, ChatResult, CompletionRequest, CompletionResult, ModelClient } from '../client/types';

export class ResponseCache {
  private readonly entries = new Map<string, unknown>();
  readonly file: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'responses.jsonl');
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as { key: string; value: unknown };
          this.entries.set(e.key, e.value);
        } catch {
          // a torn last line after a crash: skip it
        }
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): unknown {
    return this.entries.get(key);
  }

  set(key: string, value: unknown): void {
    this.entries.set(key, value);
    appendFileSync(this.file, `${JSON.stringify({ key, value })}\n`);
  }
}

export function cacheKey(endpoint: string, kind: string, request: unknown): string {
  return createHash('sha256').update(JSON.stringify([endpoint, kind, request])).digest('hex');
}

export class CachedClient extends DelegatingClient {
  hits = 0;
  misses = 0;

  constructor(
    inner: ModelClient,
    private readonly cache: ResponseCache,
  ) {
    super(inner);
  }

  async chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult> {
    return this.through('chat', req, () => this.inner.chat(req, opts));
  }

  async complete(req: CompletionRequest, opts?: CallOptions): Promise<CompletionResult> {
    return this.through('complete', req, () => this.inner.complete(req, opts));
  }

  private async through<T>(kind: string, req: unknown, call: () => Promise<T>): Promise<T> {
    const key = cacheKey(this.endpoint, kind, req);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.hits++;
      return structuredClone(hit) as T;
    }
    this.misses++;
    const value = await call();
    this.cache.set(key, value);
    return value;
  }
}
