/**
 * Router service settings: flag > environment (LLM_<FLAG>) > default (libs/platform config). A
 * router replica serves the MoE layers of one model directory, hosts a subset of the experts (all
 * by default) and fans the rest out to peer replicas by address. Given a dense model it stays up
 * idle (health SERVING, Dispatch FAILED_PRECONDITION), so one deployment serves either kind.
 */
import { DEFAULT_METRICS_PORTS, defineConfig, metricsSettings, serverSettings, type ConfigOf } from '@llm/platform/config';
import { DEFAULT_PORTS } from '@llm/proto';

export const routerConfigSchema = defineConfig({
  ...serverSettings,
  ...metricsSettings(DEFAULT_METRICS_PORTS.router),
  grpcPort: { type: 'int', default: DEFAULT_PORTS.router, min: 0, max: 65535, description: 'gRPC port (0 = any free port)' },
  modelDir: { type: 'string', flag: 'model', description: 'Hugging Face model directory or .gguf file (MoE layers served; a dense model leaves the router idle)' },
  quantize: { type: 'string', default: '', choices: ['', 'q8_0', 'q4_0'], description: 'quantize the experts while loading: q8_0 | q4_0 (empty: as stored)' },
  hostedExperts: {
    type: 'string',
    default: 'all',
    description: "experts this replica runs: 'all', or ids and ranges such as '0-3' or '0,2,4-5'",
  },
  peers: {
    type: 'string',
    default: '',
    description: 'comma-separated host:port of router replicas hosting the other experts (empty = none)',
  },
  peerDeadlineMs: { type: 'int', default: 10_000, min: 1, description: 'deadline of each RunExperts call to a peer (ms)' },
  capacityFactor: {
    type: 'float',
    default: 0,
    min: 0,
    description: 'per-expert capacity = ceil(factor * T * k / E) assignments; 0 = dropless',
  },
  threads: { type: 'int', default: 2, min: 1, description: 'ONNX Runtime intra-op threads per expert session' },
});

export type RouterConfig = ConfigOf<typeof routerConfigSchema>;

export const ROUTER_SUMMARY = 'serves llm.router.v1.Router (MoE gating + expert FFNs; idle for dense models) over gRPC';

/** Parses 'all' | '0-3' | '0,2,4-5' into ascending expert ids < numExperts. */
export function parseExpertList(spec: string, numExperts: number, field = '--hosted-experts'): number[] {
  if (spec.trim() === 'all') return Array.from({ length: numExperts }, (_, e) => e);
  const ids = new Set<number>();
  for (const part of spec.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`${field} '${spec}': '${part}' is not an expert id or range (expected e.g. '0-3' or '0,2,5')`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi >= numExperts) {
      throw new Error(`${field} '${spec}': '${part}' is outside 0..${numExperts - 1} (the model has ${numExperts} experts)`);
    }
    for (let e = lo; e <= hi; e++) ids.add(e);
  }
  return [...ids].sort((a, b) => a - b);
}
