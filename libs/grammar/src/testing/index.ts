// Test helpers of @llm/grammar: a trained byte-level test vocabulary and random bounded schemas.
export * from './vocab';
export * from './schemas';
