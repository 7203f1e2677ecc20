/*
 * Writing a trained BPE out: a Hugging Face tokenizer.json (GPT-2 style byte-level BPE)
 * and a tiktoken rank file.
 *
 * What it is: serializers of TrainedBpe. The tokenizer.json has ids 0..255 for the bytes,
 * 256.. for the merges in order, special tokens last as added tokens; ByteLevel
 * pre-tokenizer (or Split with the custom pattern, then ByteLevel without regex),
 * ByteLevel post-processor and decoder.
 * What it is not: a general tokenizer.json writer.
 * Reference: huggingface/tokenizers tokenizer.json layout (tokenizers >= 0.20 merges as
 * pairs); openai/tiktoken load.py (rank file: "<base64 token> <rank>" per line).
 */
import { bytesToByteLevel } from './bytes';
import { formatTiktokenFile } from './ranks';
import { GPT2_PATTERN, type TrainedBpe } from './train';

/** The tokenizer.json content (a plain object: JSON.stringify it to write the file). */
export function toTokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  const names = trained.tokenBytes.map((b) => bytesToByteLevel(b));
  const vocab: Record<string, number> = {};
  names.forEach((name, id) => (vocab[name] = id));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const preTokenizer =
    trained.pattern === GPT2_PATTERN
      ? byteLevel
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: trained.pattern }, behavior: 'Isolated', invert: false },
            { ...byteLevel, use_regex: false },
          ],
        };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: trained.specialTokens.map(({ content, id }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: trained.merges.map(([a, b]) => [names[a], names[b]]),
    },
  };
}

/** The tiktoken rank file text ("<base64 bytes> <rank>" per line; specials are not included). */
export function toTiktokenRanks(trained: TrainedBpe): string {
  return formatTiktokenFile(trained.tokenBytes);
}
