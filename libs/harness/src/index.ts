/**
 * @llm/harness: the scaffolding that turns a model endpoint into an agent and into a measured
 * system. Rooms:
 *   client/      one ModelClient interface: OpenAI HTTP, the gRPC Inference API (injected
 *                transport), chat over completions with the model's chat template
 *   agent/       the loop and its budgets
 *   tools/       registry (JSON Schema or zod), validated parallel execution, built-in tools
 *   context/     token counting with the model's tokenizer; truncate or summarise
 *   guardrails/  allowed tools, argument/output validators, approval before side effects
 *   trace/       JSONL traces and deterministic replay
 *   mcp/         tools from MCP servers (stdio, Streamable HTTP)
 *   rag/         chunking by tokens, embeddings, vector stores (PGlite, Postgres), `retrieve`
 *   eval/        tasks as data, solvers, metrics, cache, resumable runs, reports, compare
 */
export * from './client/types';
export * from './client/retry';
export * from './client/openai-http';
export * from './client/openai-stream';
export * from './client/grpc-inference';
export * from './client/hermes';
export * from './client/delegating';
export * from './client/template-chat';
export * from './tools/registry';
export * from './tools/execute';
export * from './tools/builtin';
export * from './guardrails/guardrails';
export * from './context/tokens';
export * from './context/manager';
export * from './trace/trace';
export * from './trace/replay';
export * from './agent/budget';
export * from './agent/loop';
export * from './eval/task-file';
export * from './eval/samples';
export * from './eval/metrics';
export * from './eval/stats';
export * from './eval/cache';
export * from './eval/solvers';
export * from './eval/report';
export * from './eval/html';
export * from './eval/runner';
export * from './eval/compare';
export * from './mcp/client';
export * from './rag/chunk';
export * from './rag/store';
export * from './rag/pglite';
export * from './rag/ingest';
export * from './rag/retrieve-tool';
