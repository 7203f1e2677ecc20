/**
 * Tokenizer encode metrics, the same in every process that encodes (the tokenizer-service and the
 * orchestrator's API front, which encodes prompts in-process), so encode throughput is one query
 * everywhere: rate(llm_tokenizer_tokens_encoded_total) / rate(llm_tokenizer_encode_seconds_sum).
 *
 *   llm_tokenizer_encode_seconds{tokenizer}          (histogram, one observation per text)
 *   llm_tokenizer_tokens_encoded_total{tokenizer}    token ids produced
 *   llm_tokenizer_bytes_encoded_total{tokenizer}     UTF-8 bytes of text encoded
 *
 * Inside a traced request an encode is also a `tokenize` span.
 * What it is not: a tokenizer (libs/tokenizer).
 */
import { counter, histogram } from '../metrics';
import { endSpan, hasActiveSpan, startSpan } from './tracing';

const SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

export interface EncodeObserver {
  /** Encodes with `encode`, observing its time, tokens and bytes. */
  <T extends ArrayLike<number>>(text: string, encode: () => T): T;
}

/** An encode observer for the tokenizer named `tokenizer` (a model id or an encoding name). */
export function encodeObserver(tokenizer: string): EncodeObserver {
  const seconds = histogram('llm_tokenizer_encode_seconds', 'Time to encode one text (seconds).', ['tokenizer'], SECONDS).labels(tokenizer);
  const tokens = counter('llm_tokenizer_tokens_encoded_total', 'Token ids produced by encoding.', ['tokenizer']).labels(tokenizer);
  const bytes = counter('llm_tokenizer_bytes_encoded_total', 'UTF-8 bytes of text encoded.', ['tokenizer']).labels(tokenizer);
  return <T extends ArrayLike<number>>(text: string, encode: () => T): T => {
    const span = hasActiveSpan() ? startSpan('tokenize', { attributes: { 'llm.tokenizer': tokenizer } }) : undefined;
    const t0 = process.hrtime.bigint();
    try {
      const ids = encode();
      seconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      tokens.inc(ids.length);
      bytes.inc(Buffer.byteLength(text, 'utf8'));
      endSpan(span, undefined, { 'llm.tokens': ids.length });
      return ids;
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  };
}
