/*
 * The `retrieve` tool: the agent asks a question, gets the k most similar chunks back as
 * numbered passages, each with its citation, so its answer can cite [1], [2] ... by source and
 * line range.
 *
 *   [1] docs/kv.md:12-20 (score 0.83)
 *   <chunk text>
 *
 * What it is not: re-ranking or answer synthesis; the model reads and answers.
 */
import type { ModelClient } from '../client/types';
import type { Tool } from '../tools/registry';
import { citation, retrieve } from './ingest';
import type { VectorStore } from './store';

export function retrieveTool(store: VectorStore, client: ModelClient, opts: { k?: number; model?: string } = {}): Tool<{ query: string; k?: number }> {
  return {
    name: 'retrieve',
    description: 'Search the document store; returns the most relevant passages with citations (source:lines).',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', minLength: 1, description: 'what to look for' }, k: { type: 'integer', minimum: 1, maximum: 20, description: 'passages to return' } },
      required: ['query'],
      additionalProperties: false,
    },
    run: async ({ query, k }) => {
      const hits = await retrieve(store, client, query, k ?? opts.k ?? 5, opts.model);
      if (hits.length === 0) return 'no passages found (the store is empty)';
      return hits.map((h, i) => `[${i + 1}] ${citation(h)} (score ${h.score.toFixed(3)})\n${h.chunk.text.trim()}`).join('\n\n');
    },
  };
}
