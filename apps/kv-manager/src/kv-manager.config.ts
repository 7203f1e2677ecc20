/*
 * kv-manager settings: flag > environment > default (libs/platform config). The service
 * holds no model and no memory; its only knobs are where it listens and how often it
 * sweeps expired owner leases and refreshes its Prometheus gauges.
 */
import { defineConfig, type ConfigOf } from '@llm/platform';
import { DEFAULT_PORTS } from '@llm/proto';

export const kvManagerConfigSchema = defineConfig({
  host: { type: 'string', default: '127.0.0.1', description: 'address to bind (0.0.0.0 in containers)' },
  grpcPort: { type: 'int', default: DEFAULT_PORTS.kv, min: 0, max: 65535, description: 'gRPC port (0 = any free port)' },
  leaseSweepMs: {
    type: 'int',
    default: 1000,
    min: 10,
    description: 'how often expired owner leases are swept and the gauges refreshed (ms)',
  },
});

export type KvManagerConfig = ConfigOf<typeof kvManagerConfigSchema>;
