/*
 * The attention worker's settings: flag, environment variable (LLM_<FLAG>) and default for each
 * (libs/platform config loader), plus the shared host, log and TLS settings. `--kv-cache-gib` sizes the KV pool; `--backend` picks the ONNX Runtime graph
 * (`ort`, the fast path) or the TypeScript kernels (`ts`, the reference). `--speculative`
 * turns on speculative decoding (prompt lookup or a draft model), which the orchestrator's
 * scheduler learns from GetModelInfo.
 *
 * What this is not: model configuration, which comes from the model directory's config.json.
 */
import { DEFAULT_METRICS_PORTS, defineConfig, metricsSettings, serverSettings, type ConfigOf } from '@llm/platform/config';
import { DEFAULT_PORTS } from '@llm/proto';

export const workerConfigSchema = defineConfig({
  ...serverSettings,
  ...metricsSettings(DEFAULT_METRICS_PORTS['attention-worker']),
  modelDir: { type: 'string', flag: 'model', required: true, description: 'Hugging Face model directory or .gguf file to serve' },
  quantize: { type: 'string', default: '', choices: ['', 'q8_0', 'q4_0'], description: 'quantize the linear layers while loading: q8_0 | q4_0 (empty: as stored)' },
  modelId: { type: 'string', default: '', description: 'model id reported by GetModelInfo (default: the directory name)' },
  workerId: { type: 'string', default: 'worker-0', description: "this worker's id (its KV pool's id at the kv-manager)" },
  grpcPort: { type: 'int', default: DEFAULT_PORTS.worker, min: 0, max: 65535, description: 'gRPC port (0 picks a free one)' },
  backend: { type: 'string', default: 'ort', choices: ['ort', 'ts'], description: 'execution backend: ort (ONNX Runtime) or ts (TypeScript kernels)' },
  threads: { type: 'int', default: 2, min: 1, max: 256, description: 'intra-op threads of the ONNX Runtime sessions' },
  kvCacheGib: { type: 'float', default: 0.5, min: 0, description: 'memory budget of the KV pool in GiB (K and V of every layer)' },
  blockSize: { type: 'int', default: 16, min: 1, max: 1024, description: 'tokens per KV block (must match the kv-manager pool)' },
  maxBatchSequences: { type: 'int', default: 256, min: 1, description: 'most sequences one step may carry' },
  maxBatchTokens: { type: 'int', default: 8192, min: 1, description: 'most tokens one step may carry' },
  kvManagerAddress: { type: 'string', default: '', description: 'kv-manager host:port to register the pool with (empty: do not register)' },
  routerAddress: { type: 'string', default: '', description: 'router host:port for MoE layers (empty: experts run in-process)' },
  speculative: { type: 'string', default: '', choices: ['', 'ngram', 'draft'], description: 'speculative decoding: ngram (prompt lookup) | draft (a draft model, --draft-model); empty: off' },
  speculativeTokens: { type: 'int', default: 4, min: 1, max: 32, description: 'most draft tokens verified per sequence per step (with --speculative)' },
  draftModel: { type: 'string', default: '', description: 'draft model directory for --speculative draft (same tokenizer as --model)' },
  draftBackend: { type: 'string', default: '', choices: ['', 'ort', 'ts'], description: "the draft model's backend (default: --backend's; ts can beat ort on a tiny draft model)" },
  ortMainThread: { type: 'bool', default: false, description: 'run the ONNX Runtime sessions on the event loop\'s thread (the old path, for A/B; default: worker threads for models of 16M parameters and more, so gRPC stays responsive during a long step; the KV pool is then held twice)' },
  decodeKernel: { type: 'string', default: 'wasm', choices: ['wasm', 'ort'], description: "single-stream decode steps: wasm (the platform's own SIMD kernels on weights packed for streaming; batches, prefill and traces stay on ONNX Runtime) or ort (every step on ONNX Runtime). wasm applies to llama-family models whose steps run off the event loop (16M parameters and more), holds the weights and the KV pool once more, and hands a step to ONNX Runtime while its recent steps there are faster (a busy machine)" },
  allowTrace: { type: 'bool', default: false, description: 'allow internals traces (the orchestrator\'s --allow-trace): the ort backend also opens traced graphs (twice the sessions)' },
});

export type WorkerConfig = ConfigOf<typeof workerConfigSchema>;

export const WORKER_SUMMARY = 'serves llm.worker.v1.Worker (model weights, the paged KV pool, batched Step) over gRPC';
