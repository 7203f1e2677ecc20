// Speculative decoding: draft sources (prompt lookup, a draft model), the acceptance rule and the target distribution.
export * from './ngram';
export * from './rejection';
export * from './target-dist';
export * from './speculator';
export * from './draft-model';
export * from './uniforms';
