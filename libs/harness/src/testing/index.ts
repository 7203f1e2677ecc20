/** Test helpers of @llm/harness: a scripted OpenAI-compatible server and a deterministic embedding. */
export * from './scripted-server';
