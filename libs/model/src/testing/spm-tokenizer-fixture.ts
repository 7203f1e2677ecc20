/*
 * A small SentencePiece-style tokenizer.json (the TinyLlama / Llama 2 shape: BPE over "▁"-spaced
 * text with byte_fallback, <unk> <s> </s> specials, one <0x0A> byte piece, five merges), for
 * tests that write a GGUF "llama" vocabulary and work its scores and token types out by hand.
 * Not a real vocabulary: 14 pieces, enough to spell "hello".
 */
export const SPM_PIECES = ['<unk>', '<s>', '</s>', '<0x0A>', '\u2581', 'h', 'e', 'l', 'o', '\u2581h', 'll', '\u2581he', 'llo', '\u2581hello'];

const special = (id: number) => ({ id, content: SPM_PIECES[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

export const SPM_FIXTURE: Record<string, any> = {
  version: '1.0',
  added_tokens: [special(0), special(1), special(2)],
  normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
  pre_tokenizer: null,
  post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
  decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
  model: {
    type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true,
    vocab: Object.fromEntries(SPM_PIECES.map((p, i) => [p, i])),
    merges: ['\u2581 h', 'l l', '\u2581h e', 'll o', '\u2581he llo'],
  },
};

/**
 * The fixture with every byte piece <0x00> .. <0xFF> (the 255 it lacks appended in byte order,
 * ids 14 ..), as real SentencePiece vocabularies with byte_fallback have them. llama.cpp needs
 * them: its SPM tokenizer looks a byte-fallback piece up with an unchecked map access and aborts
 * the process (std::out_of_range) on text with a character it can spell neither way -- and
 * node-llama-cpp tokenizes such text while loading a model.
 */
export function spmFixtureWithBytes(): Record<string, any> {
  const tok = JSON.parse(JSON.stringify(SPM_FIXTURE));
  const vocab = tok.model.vocab as Record<string, number>;
  let next = SPM_PIECES.length;
  for (let b = 0; b < 256; b++) {
    const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    if (!(piece in vocab)) vocab[piece] = next++;
  }
  return tok;
}
