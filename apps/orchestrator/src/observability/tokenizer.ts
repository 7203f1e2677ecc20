/*
 * The model's tokenizer as the API front uses it, with every encode observed (libs/platform's
 * encodeObserver: encode time, tokens and bytes, and a `tokenize` span inside a traced request).
 * Prompts are encoded in this process (no Tokenizer RPC per request), so this is the request's
 * tokenizer hop. Decoding is not observed (it runs per token, in the scheduler).
 * What it is not: a tokenizer; every other method delegates to the wrapped one.
 */
import { encodeObserver } from '@llm/platform';
import type { Tokenizer } from '@llm/tokenizer';

export function observedTokenizer(t: Tokenizer, name: string): Tokenizer {
  const observe = encodeObserver(name);
  return {
    get name() {
      return t.name;
    },
    get vocabSize() {
      return t.vocabSize;
    },
    get specialTokens() {
      return t.specialTokens;
    },
    encode: (text, opts) => observe(text, () => t.encode(text, opts)),
    encodeOrdinary: (text) => observe(text, () => t.encodeOrdinary(text)),
    decode: (ids, opts) => t.decode(ids, opts),
    decodeBytes: (ids, opts) => t.decodeBytes(ids, opts),
    streamBytes: (id, position, opts) => t.streamBytes(id, position, opts),
    tokenToId: (token) => t.tokenToId(token),
    idToToken: (id) => t.idToToken(id),
    tokenText: (id) => t.tokenText(id),
    explain: (text, opts) => t.explain(text, opts),
  };
}
