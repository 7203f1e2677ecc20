/*
 * Chunking a document by the model's own tokens: windows of `chunkTokens` tokens, each starting
 * `chunkTokens - overlap` tokens after the previous one, so a sentence cut at a window's end is
 * whole in the next. Each chunk keeps its source, index and line range for citations.
 *
 *   tokens:  |-------- chunk 0 --------|
 *                          |-------- chunk 1 --------|      step = chunkTokens - overlap
 *
 * What it is not: semantic (sentence or heading) segmentation.
 * Reference: the fixed-size-with-overlap chunking of common RAG pipelines (LangChain TokenTextSplitter).
 */

/** What chunking needs of a tokenizer (@llm/tokenizer's Tokenizer fits). */
export interface TextTokenizer {
  encodeOrdinary(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface Chunk {
  /** `${source}#${index}` */
  id: string;
  source: string;
  index: number;
  text: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  tokens: number;
}

export interface ChunkOptions {
  chunkTokens?: number;
  overlap?: number;
}

export function chunkText(text: string, source: string, tokenizer: TextTokenizer, opts: ChunkOptions = {}): Chunk[] {
  const size = opts.chunkTokens ?? 128;
  const overlap = opts.overlap ?? Math.floor(size / 4);
  if (!Number.isInteger(size) || size < 1) throw new Error(`chunk size must be a positive number of tokens, got ${size}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) throw new Error(`overlap must be at least 0 and less than the chunk size ${size}, got ${overlap}`);
  const ids = tokenizer.encodeOrdinary(text);
  const chunks: Chunk[] = [];
  const lineAt = (charOffset: number) => 1 + (text.slice(0, charOffset).match(/\n/g)?.length ?? 0);
  for (let start = 0, index = 0; start < ids.length; start += size - overlap, index++) {
    const end = Math.min(ids.length, start + size);
    const body = tokenizer.decode(ids.slice(start, end));
    const from = tokenizer.decode(ids.slice(0, start)).length;
    const to = from + body.length;
    if (body.trim()) {
      chunks.push({ id: `${source}#${index}`, source, index, text: body, startLine: lineAt(from), endLine: lineAt(Math.max(from, to - 1)), tokens: end - start });
    }
    if (end === ids.length) break;
  }
  return chunks;
}
