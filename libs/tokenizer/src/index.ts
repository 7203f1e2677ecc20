/*
 * @llm/tokenizer: exact, fast byte-level BPE.
 *
 * tiktoken encodings (getEncoding), Hugging Face tokenizer.json (loadTokenizerJson) and
 * tokenizer_config.json chat templates, BPE training (trainBpe -> toTokenizerJson /
 * toTiktokenRanks), streaming detokenization (StreamDecoder) and explain().
 */
export type { Tokenizer, EncodeOptions, DecodeOptions, SpecialSet, Explanation, ExplainedPiece, MergeStep } from './types';
export { getEncoding, tiktokenFromRanks, TiktokenTokenizer } from './tiktoken';
export { ENCODING_NAMES, parseTiktokenFile, formatTiktokenFile, type EncodingName } from './ranks';
export { loadTokenizerJson, HfTokenizer } from './hf/tokenizer';
export { TokenizerJsonError } from './hf/fields';
export { trainBpe, trainBpeAsync, GPT2_PATTERN, type TrainOptions, type TrainedBpe } from './train';
export { toTokenizerJson, toTiktokenRanks } from './export';
export { StreamDecoder } from './stream';
export { RegexSplitter, type PieceSplitter } from './splitter';
export { loadTokenizerConfig, applyChatTemplate, CHATML_TEMPLATE, type TokenizerConfig, type ChatMessage, type ChatTemplateOptions } from './hf/config';
export { TokenizerError, type TokenizerErrorCode } from './errors';
