/*
 * The orchestrator's settings: flag, environment variable (LLM_<FLAG>) and default for each
 * (libs/platform's loader), with the shared host, log, TLS, Redis password and API key settings. `--role` picks what this process does in distributed mode (ARCHITECTURE.md):
 *   all       - everything; with --redis-url the intake still goes through BullMQ, without it the
 *               scheduler is called directly (embedded mode)
 *   api       - gRPC + HTTP front; enqueues requests and relays their deltas (needs --redis-url)
 *   scheduler - consumes requests and drives one worker (needs --redis-url)
 * What this is not: model configuration (the worker's GetModelInfo and the model directory).
 */
import { DEFAULT_METRICS_PORTS, apiAuthSettings, defineConfig, redisSettings, metricsSettings, serverSettings, type ConfigOf } from '@llm/platform/config';
import { DEFAULT_PORTS } from '@llm/proto';

export const orchestratorConfigSchema = defineConfig({
  ...serverSettings,
  ...metricsSettings(DEFAULT_METRICS_PORTS.orchestrator),
  grpcPort: { type: 'int', default: DEFAULT_PORTS.inferenceGrpc, min: 0, max: 65535, description: 'public gRPC port (0 picks a free one)' },
  httpPort: { type: 'int', default: DEFAULT_PORTS.inferenceHttp, min: -1, max: 65535, description: 'OpenAI-compatible HTTP port (0 picks a free one, -1 turns HTTP off)' },
  role: { type: 'string', default: 'all', choices: ['all', 'api', 'scheduler'], description: 'what this process runs: all, api (front + queue) or scheduler (queue consumer)' },
  redisUrl: { type: 'string', default: '', description: 'redis://host:port for BullMQ intake (empty: embedded, direct intake)' },
  ...redisSettings,
  ...apiAuthSettings,
  queuePrefix: { type: 'string', default: 'llm', description: 'key prefix of the queue, delta streams and leases in Redis' },
  maxNumSeqs: { type: 'int', default: 64, min: 1, max: 4096, description: 'most sequences in one scheduler step (max_num_seqs)' },
  maxNumBatchedTokens: { type: 'int', default: 2048, min: 1, description: 'token budget of one scheduler step (max_num_batched_tokens)' },
  asyncScheduling: { type: 'bool', default: false, description: 'send a decode step right behind the one before it, so the worker runs them back to back while the scheduler streams tokens and allocates slots (off with speculative decoding; false: one step at a time)' },
  maxPrefillTokensPerStep: { type: 'int', default: 384, min: 0, description: 'most prefill tokens in one scheduler step, whole prompts first come first served (0: the whole step budget)' },
  maxDecodeDeferMs: { type: 'int', default: 1000, min: 0, description: 'longest a running sequence waits for its next decode while waiting prompts prefill first, in ms (0: decodes join every step)' },
  maxQueuedRequests: { type: 'int', default: 256, min: 1, description: 'api role: most requests waiting or running in the queue; more get RESOURCE_EXHAUSTED / 429' },
  maxN: { type: 'int', default: 8, min: 1, max: 128, description: 'largest n (parallel samples) a request may ask for' },
  modelId: { type: 'string', default: '', description: "model id clients name (default: the worker's model id)" },
  servedModelName: { type: 'list', default: [], description: 'names clients may use for the model, repeatable or comma-separated; the first is the id reported (default: --model-id)' },
  grammarCompileTimeoutMs: { type: 'int', default: 5000, min: 1, description: 'admission: most ms a structured-output grammar may take to compile (longer: 400 / INVALID_ARGUMENT)' },
  allowTrace: { type: 'bool', default: false, description: 'accept internals-trace requests (the `trace` field) and serve the /internals page; the worker needs it too' },
  maxTraceBytes: { type: 'int', default: 16 * 1024 * 1024, min: 1024, description: 'largest internals trace one request may ask for, in bytes (estimated at admission; larger: 400 naming `trace`)' },
  model: { type: 'string', required: true, description: 'model directory or .gguf file (tokenizer.json, tokenizer_config.json for the chat template)' },
  tokenizerAddress: { type: 'string', default: '', description: 'tokenizer service host:port (main.ts connects; prompts are encoded in-process from tokenizer.json)' },
  kvManagerAddress: { type: 'string', default: '127.0.0.1:50055', description: 'kv-manager host:port' },
  workerAddress: { type: 'string', default: '127.0.0.1:50054', description: 'attention worker host:port' },
  poolId: { type: 'string', default: '', description: "the worker's KV pool id at the kv-manager (default: the worker's id)" },
  schedulerId: { type: 'string', default: '', description: 'this scheduler\'s owner id at the kv-manager (default: host, pid and a random part)' },
  leaseTtlMs: { type: 'int', default: 30000, min: 100, description: 'scheduler role: worker lease, kv-manager lease and job lock length in ms' },
  stalledIntervalMs: { type: 'int', default: 5000, min: 50, description: "scheduler role: how often BullMQ re-delivers a dead scheduler's requests, in ms" },
  maxBodyBytes: { type: 'int', default: 16 * 1024 * 1024, min: 1024, description: 'largest HTTP request body in bytes; larger ones get 413' },
  maxPromptChars: { type: 'int', default: 0, min: 0, description: "longest prompt text in characters, refused before tokenizing (0: the model's context x its longest token)" },
  httpHeadersTimeoutMs: { type: 'int', default: 10_000, min: 100, description: 'HTTP: time a client has to send its request headers, in ms' },
  httpRequestTimeoutMs: { type: 'int', default: 30_000, min: 100, description: 'HTTP: time a client has to send its whole request (headers and body), in ms; 408 after' },
  drainTimeoutMs: { type: 'int', default: 25_000, min: 0, description: 'on SIGTERM/SIGINT: how long requests in flight may take to finish before the process stops, in ms' },
  redisWaitMs: { type: 'int', default: 10_000, min: 0, description: 'at start-up: how long to wait for Redis before exiting with an error, in ms' },
  dependencyWaitMs: { type: 'int', default: 30_000, min: 100, description: 'how long a request in flight waits for a dependency (worker, kv-manager, Redis) to come back before it fails with UNAVAILABLE, in ms' },
});

export type OrchestratorConfig = ConfigOf<typeof orchestratorConfigSchema>;

export const ORCHESTRATOR_SUMMARY = 'serves llm.inference.v1.Inference (gRPC) and the OpenAI-compatible HTTP API; intake and scheduler';
