/*
 * tokenizer-service settings: flag > environment (LLM_<FLAG>) > default (libs/platform config).
 * `model` lists the model directories whose tokenizer.json this service serves (by the
 * directory's name as model id); the tiktoken encodings are always available by name.
 * `redisUrl` set: Train runs as a BullMQ job (distributed mode); empty: in this process.
 */
import { DEFAULT_METRICS_PORTS, defineConfig, redisSettings, metricsSettings, serverSettings, type ConfigOf } from '@llm/platform/config';
import { DEFAULT_PORTS } from '@llm/proto';

export const tokenizerServiceConfigSchema = defineConfig({
  ...serverSettings,
  ...metricsSettings(DEFAULT_METRICS_PORTS['tokenizer-service']),
  grpcPort: { type: 'int', default: DEFAULT_PORTS.tokenizer, min: 0, max: 65535, description: 'gRPC port (0 = any free port)' },
  model: { type: 'string', default: '', description: 'comma-separated model directories (each with a tokenizer.json) to serve' },
  redisUrl: { type: 'string', default: '', description: 'redis:// URL: run Train as BullMQ jobs (empty: train in-process)' },
  ...redisSettings,
  trainQueue: { type: 'string', default: 'tokenizer-train', description: 'BullMQ queue name for training jobs' },
  trainWorker: { type: 'bool', default: true, description: 'also consume training jobs in this process (distributed mode)' },
});

export type TokenizerServiceConfig = ConfigOf<typeof tokenizerServiceConfigSchema>;

export const TOKENIZER_SERVICE_SUMMARY = 'serves llm.tokenizer.v1.Tokenizer (BPE encode, decode, streaming detokenize, train) over gRPC';
