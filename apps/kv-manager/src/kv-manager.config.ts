/*
 * kv-manager settings: flag > environment (LLM_<FLAG>) > default (libs/platform config). The
 * service holds no model and no memory; its knobs are where it listens (with the shared TLS and
 * log settings) and how often it sweeps expired owner leases and refreshes its Prometheus gauges.
 */
import { DEFAULT_METRICS_PORTS, defineConfig, metricsSettings, serverSettings, type ConfigOf } from '@llm/platform/config';
import { DEFAULT_PORTS } from '@llm/proto';

export const kvManagerConfigSchema = defineConfig({
  ...serverSettings,
  ...metricsSettings(DEFAULT_METRICS_PORTS['kv-manager']),
  grpcPort: { type: 'int', default: DEFAULT_PORTS.kv, min: 0, max: 65535, description: 'gRPC port (0 = any free port)' },
  leaseSweepMs: {
    type: 'int',
    default: 1000,
    min: 10,
    description: 'how often expired owner leases are swept and the gauges refreshed (ms)',
  },
});

export type KvManagerConfig = ConfigOf<typeof kvManagerConfigSchema>;

export const KV_MANAGER_SUMMARY = 'serves llm.kv.v1.KvManager (paged KV-block allocator with prefix caching) over gRPC';
