/*
 * tokenizer-service settings: flag > environment > default (libs/platform config).
 * `model` lists the model directories whose tokenizer.json this service serves (by the
 * directory's name as model id); the tiktoken encodings are always available by name.
 * `redisUrl` set: Train runs as a BullMQ job (distributed mode); empty: in this process.
 */
import { defineConfig, type ConfigOf } from '@llm/platform';
import { DEFAULT_PORTS } from '@llm/proto';

export const tokenizerServiceConfigSchema = defineConfig({
  host: { type: 'string', default: '127.0.0.1', description: 'address to bind (0.0.0.0 in containers)' },
  grpcPort: { type: 'int', default: DEFAULT_PORTS.tokenizer, min: 0, max: 65535, description: 'gRPC port (0 = any free port)' },
  model: { type: 'string', default: '', description: 'comma-separated model directories (each with a tokenizer.json) to serve' },
  redisUrl: { type: 'string', default: '', description: 'redis:// URL: run Train as BullMQ jobs (empty: train in-process)' },
  trainQueue: { type: 'string', default: 'tokenizer-train', description: 'BullMQ queue name for training jobs' },
  trainWorker: { type: 'bool', default: true, description: 'also consume training jobs in this process (distributed mode)' },
});

export type TokenizerServiceConfig = ConfigOf<typeof tokenizerServiceConfigSchema>;
