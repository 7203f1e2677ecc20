/**
 * deploy/grafana/llm-platform.json without a Prometheus (apps/cli/test/observability.spec.ts checks
 * it against live /metrics pages): it parses, has the dashboard shape Grafana imports (unique panel
 * ids, a Prometheus data-source variable every query uses, grid positions), covers the figures the
 * platform reports, and every metric it queries is defined somewhere in the apps and libraries
 * (their gauge/counter/histogram calls, the gRPC and HTTP telemetry, or the process registry).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { metricsRegistry } from '@llm/platform';

const root = join(__dirname, '..', '..', '..');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource: { type: string; uid: string } }[];
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'gen') continue;
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

/** Every metric name the code defines: literal names of gauge/counter/histogram calls, the gRPC families, the registry's defaults. */
function definedMetrics(): Set<string> {
  const names = new Set(metricsRegistry().getMetricsAsArray().map((m) => m.name));
  for (const dir of ['apps', 'libs']) {
    for (const file of sources(join(root, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b(?:gauge|counter|histogram)\(\s*'([a-z0-9_]+)'/g)) names.add(m[1]);
    }
  }
  for (const side of ['server', 'client']) for (const n of ['started_total', 'handled_total', 'handling_seconds']) names.add(`grpc_${side}_${n}`);
  return names;
}

const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/llm-platform.json'), 'utf8')) as {
  uid: string;
  title: string;
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
};
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
/** Metric names in a PromQL expression: identifiers left once label matchers, by/without lists and strings are removed. */
const namesOf = (expr: string) =>
  expr.replace(/"[^"]*"/g, '').replace(/\{[^}]*\}/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '').match(/\b(?:llm|grpc|http|nodejs|process)_[a-z0-9_]+\b/g) ?? [];

describe('the Grafana dashboard', () => {
  it('has the shape Grafana imports: unique ids, grid positions, a Prometheus data-source variable used by every query', () => {
    expect(dashboard.uid).toBe('llm-platform');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.w).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect((p.targets ?? []).length).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const q of queries) expect(q.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
  });

  it('shows the figures the platform reports', () => {
    const used = new Set(queries.flatMap((q) => namesOf(q.expr)));
    const figures = [
      'llm_num_requests_running', 'llm_num_requests_waiting', 'llm_num_requests_preempted', 'llm_kv_cache_usage_perc', 'llm_kv_blocks_free',
      'llm_kv_blocks_used', 'llm_kv_blocks_cached', 'llm_prefix_cache_queries_total', 'llm_prefix_cache_hits_total', 'llm_num_preemptions_total',
      'llm_prompt_tokens_total', 'llm_generation_tokens_total', 'llm_request_success_total', 'llm_time_to_first_token_seconds_bucket',
      'llm_inter_token_latency_seconds_bucket', 'llm_e2e_request_latency_seconds_bucket', 'llm_request_queue_time_seconds_bucket',
      'llm_request_prefill_time_seconds_bucket', 'llm_request_decode_time_seconds_bucket', 'llm_request_prompt_tokens_bucket',
      'llm_request_generation_tokens_bucket', 'llm_iteration_tokens_bucket', 'llm_scheduler_step_seconds_bucket', 'llm_worker_forward_seconds_sum',
      'llm_worker_step_overhead_seconds_sum', 'llm_router_expert_tokens_total', 'llm_router_dropped_tokens_total', 'llm_tokenizer_tokens_encoded_total',
      'llm_queue_jobs', 'llm_queue_jobs_failed_total', 'llm_queue_jobs_stalled_total', 'grpc_server_handled_total', 'grpc_server_handling_seconds_bucket',
      'grpc_client_handled_total',
    ];
    expect(figures.filter((f) => !used.has(f))).toEqual([]);
  });

  it('queries only metrics the code defines', () => {
    const defined = definedMetrics();
    const known = (name: string) => defined.has(name) || defined.has(name.replace(/_(bucket|sum|count)$/, ''));
    const unknown = queries.flatMap((q) => namesOf(q.expr).filter((n) => !known(n)).map((n) => `${q.panel}: ${n}`));
    expect(unknown).toEqual([]);
    // The check is real: a misspelt metric is caught.
    expect(known('llm_generation_token_total')).toBe(false);
  });
});
