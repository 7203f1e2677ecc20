/** Test helpers for this library and its consumers: an independent plain float64 forward over HF-named tensors, and a small SentencePiece tokenizer.json fixture. */
export { plainForward, type PlainObserver } from './plain-forward';
export { SPM_FIXTURE, SPM_PIECES, spmFixtureWithBytes } from './spm-tokenizer-fixture';
