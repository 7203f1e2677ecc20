/**
 * Observability of `llm serve --distributed` as a platform team runs it: a real Prometheus (the
 * `prometheus` package) scrapes every process's /metrics every second, an in-memory OTLP receiver
 * takes every process's spans, and a fixed load runs over the OpenAI-compatible HTTP API.
 *
 * - every service's target is up, and `promtool check metrics` passes on each one's page;
 * - Prometheus's HTTP API: TTFT count = requests sent, generation tokens = tokens the clients
 *   received, prompt tokens = the prompts' tokens, KV usage above 0 during the load and back to 0
 *   at idle; each process reports only its own numbers (no scheduler series on the api, no TTFT on
 *   the scheduler); the services agree (worker Steps = scheduler steps, router tokens per layer =
 *   worker tokens, BullMQ jobs completed = requests);
 * - one trace per request, rooted at the api's HTTP span, with spans from five services
 *   (orchestrator-api, orchestrator-scheduler, kv-manager, attention-worker, router), every parent
 *   present, the request id (the `x-request-id` header) on every span;
 * - the Grafana dashboard in deploy/ queries only metrics these processes export.
 *
 * The model is a tiny random Mixtral (so the router is on the path). Needs the built apps
 * (`npm run build`), redis-server (or Docker), prometheus and promtool (`apt-get install -y
 * prometheus`; skipped without them, except under CI).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir } from '@llm/model';
import {
  metricValue, onPath, parsePrometheusText, promtoolCheckMetrics, startOtlpReceiver, startPrometheus, startRedis,
  type OtlpReceiver, type OtlpSpan, type RunningPrometheus, type StartedRedis,
} from '@llm/testing';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';

jest.setTimeout(300_000);

const tools = onPath('prometheus') && onPath('promtool');
if (!tools && process.env.CI) throw new Error('observability.spec: prometheus and promtool are needed under CI (.ci/run installs them)');
const describeTools = tools ? describe : describe.skip;
if (!tools) process.stderr.write('observability.spec: prometheus or promtool is not installed; skipped (apt-get install -y prometheus)\n');

const CLIENTS = 4;
const PER_CLIENT = 4;
const MAX_TOKENS = 160;
const root = join(__dirname, '..', '..', '..');

describeTools('observability of llm serve --distributed', () => {
  let dir: string;
  let redis: StartedRedis;
  let otlp: OtlpReceiver;
  let platform: DistributedPlatform;
  let prom: RunningPrometheus;
  let http: string;
  let sent = 0;
  let received = 0;
  let promptTokens = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-observability-'));
    initModelDir(join(dir, 'model'), 'mixtral', {
      overrides: { vocab_size: 384, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 512, num_local_experts: 4, num_experts_per_tok: 2 },
      seed: 3,
    });
    redis = await startRedis();
    otlp = await startOtlpReceiver();
    const saved = { ...process.env };
    Object.assign(process.env, otlp.env()); // the children inherit it; each names its own service
    try {
      platform = await startDistributed({
        modelDir: join(dir, 'model'), host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ts', threads: 1,
        kvCacheGib: 0.01, blockSize: 8, maxNumSeqs: 64, maxNumBatchedTokens: 512, redisUrl: redis.url, logLevel: 'warn',
      });
    } finally {
      process.env = saved;
    }
    http = `http://${platform.httpAddress}`;
    prom = await startPrometheus({ jobs: Object.entries(platform.metricsAddresses).map(([name, address]) => ({ name, targets: [address] })), scrapeIntervalMs: 1000 });
  });

  afterAll(async () => {
    await prom?.stop();
    await platform?.close();
    await otlp?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function complete(prompt: string, maxTokens: number): Promise<{ id: string; completion: number; prompt: number }> {
    const res = await fetch(`${http}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { usage: { completion_tokens: number; prompt_tokens: number } };
    sent++;
    received += body.usage.completion_tokens;
    promptTokens += body.usage.prompt_tokens;
    return { id: res.headers.get('x-request-id') ?? '', completion: body.usage.completion_tokens, prompt: body.usage.prompt_tokens };
  }

  const one = async (expr: string) => (await prom.query(expr))[0]?.value;

  it("has every service's target up, and promtool accepts every page", async () => {
    const jobs = Object.keys(platform.metricsAddresses).sort();
    expect(jobs).toEqual(['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'router', 'tokenizer-service']);
    await prom.waitFor('up', (r) => r.length === jobs.length && r.every((s) => s.value === 1));
    expect((await prom.targets()).map((t) => [t.job, t.health]).sort()).toEqual(jobs.map((j) => [j, 'up']));
    for (const [name, address] of Object.entries(platform.metricsAddresses)) {
      const check = promtoolCheckMetrics(await (await fetch(`http://${address}/metrics`)).text());
      expect({ name, ...check }).toEqual({ name, ok: true, output: '' });
    }
  });

  it('a fixed load: the counts equal what the clients saw, KV usage rises and returns to 0, each process reports its own', async () => {
    const load = Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < PER_CLIENT; i++) await complete(`client ${c} request ${i}: count`, MAX_TOKENS);
      }),
    );
    let loadDone = false;
    void load.then(() => (loadDone = true));
    // Seen by a scrape while requests were in flight.
    await prom.waitFor('max(llm_kv_cache_usage_perc)', (r) => {
      if (loadDone && !(r[0]?.value > 0)) throw new Error('the load ended before Prometheus scraped a KV usage above 0');
      return r[0]?.value > 0;
    }, 120_000);
    expect(loadDone).toBe(false);
    await load;
    expect(sent).toBe(CLIENTS * PER_CLIENT);
    expect(received).toBe(CLIENTS * PER_CLIENT * MAX_TOKENS);
    // After the last scrape has caught up: idle, and every count is exactly what the clients saw.
    await prom.waitFor('sum(llm_time_to_first_token_seconds_count)', (r) => r[0]?.value === sent);
    await prom.waitFor('max(llm_kv_cache_usage_perc)', (r) => r[0]?.value === 0);
    await prom.waitFor('sum(llm_queue_jobs_completed_total)', (r) => r[0]?.value === sent);
    await new Promise((r) => setTimeout(r, 2500)); // every other target scraped at least once more since idle
    expect(await one('max_over_time(max(llm_kv_cache_usage_perc)[5m:1s])')).toBeGreaterThan(0);
    expect(await one('sum(llm_generation_tokens_total)')).toBe(received);
    expect(await one('sum(llm_prompt_tokens_total)')).toBe(promptTokens);
    expect(await one('sum(llm_e2e_request_latency_seconds_count)')).toBe(sent);
    expect(await one('sum(llm_request_success_total{finished_reason="length"})')).toBe(sent);
    expect(await one('sum(llm_num_requests_running)')).toBe(0);
    expect(await one('sum(llm_api_requests_total{outcome="finished"})')).toBe(sent);
    expect(await one('sum(http_requests_total{handler="/v1/completions",status="200"})')).toBe(sent);
    // One truth: the api has no scheduler series, the scheduler no client-side ones.
    expect(await prom.query('llm_num_requests_running{job="orchestrator-api"}')).toEqual([]);
    expect(await prom.query('llm_generation_tokens_total{job="orchestrator-api"}')).toEqual([]);
    expect(await prom.query('llm_time_to_first_token_seconds_count{job="orchestrator-scheduler"}')).toEqual([]);
    expect(await one('sum(llm_time_to_first_token_seconds_count{job="orchestrator-api"})')).toBe(sent);
    // The services agree: one worker Step per scheduler step; each MoE layer routed every token the worker computed.
    const steps = await one('sum(llm_iteration_tokens_count)');
    expect(steps).toBeGreaterThanOrEqual(MAX_TOKENS);
    expect(await one('sum(grpc_server_handled_total{job="attention-worker",grpc_method="Step",grpc_code="OK"})')).toBe(steps);
    expect(await one('sum(grpc_client_handled_total{job="orchestrator-scheduler",grpc_method="Step",grpc_code="OK"})')).toBe(steps);
    const workerTokens = await one('sum(llm_worker_step_tokens_total)');
    expect(await one('sum(llm_iteration_tokens_sum)')).toBe(workerTokens);
    for (const layer of await prom.query('sum by (layer) (llm_router_tokens_total)')) expect(layer.value).toBe(workerTokens);
    expect((await prom.query('sum by (layer) (llm_router_tokens_total)')).length).toBe(2);
  });

  it('gives each request one trace rooted at the api, with spans from five services, parents present and the request id on every span', async () => {
    const reqs = [await complete('trace me', 6), await complete('and me', 4)];
    const ids = reqs.map((r) => r.id);
    for (const id of ids) expect(id).toMatch(/^req-/);
    const has = (s: OtlpSpan, id: string) => String(s.attributes['llm.request_id'] ?? '').split(',').includes(id);
    // Every span of the request has arrived once its kv-manager and router spans have (they end last but export in batches).
    await otlp.waitFor((spans) => ids.every((id) => ['router', 'kv-manager', 'orchestrator-api'].every((svc) => spans.some((s) => s.serviceName === svc && has(s, id)))));
    await new Promise((r) => setTimeout(r, 500)); // the rest of the batches
    expect(otlp.errors).toEqual([]);
    for (const [k, id] of ids.entries()) {
      const mine = otlp.spans.filter((s) => has(s, id));
      const traceIds = new Set(mine.map((s) => s.traceId));
      expect(traceIds.size).toBe(1); // one trace per request
      const trace = otlp.traces().get([...traceIds][0]) as OtlpSpan[];
      expect(trace.every((s) => has(s, id))).toBe(true); // the request id on every span of its trace
      const spanIds = new Set(trace.map((s) => s.spanId));
      const roots = trace.filter((s) => s.parentSpanId === '');
      expect(roots.map((s) => [s.serviceName, s.name, s.kind])).toEqual([['orchestrator-api', 'POST /v1/completions', 2]]);
      for (const s of trace) if (s.parentSpanId) expect(spanIds.has(s.parentSpanId)).toBe(true);
      const services = new Set(trace.map((s) => s.serviceName));
      expect([...services].sort()).toEqual(['attention-worker', 'kv-manager', 'orchestrator-api', 'orchestrator-scheduler', 'router']);
      // The hops, each under the one before: HTTP -> enqueue -> consume -> sequence -> step -> Step -> Dispatch.
      const byId = new Map(trace.map((s) => [s.spanId, s]));
      const parentOf = (s: OtlpSpan) => byId.get(s.parentSpanId) as OtlpSpan;
      const one1 = (svc: string, name: string, kind?: number) => trace.filter((s) => s.serviceName === svc && s.name === name && (kind === undefined || s.kind === kind));
      const [publish] = one1('orchestrator-api', 'generate publish', 4);
      expect(parentOf(publish).name).toBe('POST /v1/completions');
      expect(one1('orchestrator-api', 'tokenize').map((s) => parentOf(s).name)).toEqual(['POST /v1/completions']);
      const [consume] = one1('orchestrator-scheduler', 'generate process', 5);
      expect(parentOf(consume).spanId).toBe(publish.spanId);
      const [sequence] = one1('orchestrator-scheduler', 'sequence');
      expect(parentOf(sequence).spanId).toBe(consume.spanId);
      expect(sequence.attributes['llm.output_tokens']).toBe(reqs[k].completion);
      const steps = one1('orchestrator-scheduler', 'scheduler.step');
      for (const st of steps) expect(parentOf(st).spanId).toBe(sequence.spanId);
      // Sent alone: one worker Step per token (the prefill samples the first). Async scheduling sends
      // each decode step while the one before it runs, into lookahead slots that one AllocateSlots
      // granted for several steps, so there are fewer AllocateSlots than Steps.
      const workerSteps = one1('attention-worker', 'llm.worker.v1.Worker/Step', 2);
      expect(workerSteps.length).toBe(reqs[k].completion);
      const allocations = one1('kv-manager', 'llm.kv.v1.KvManager/AllocateSlots', 2);
      expect(allocations.length).toBeLessThan(workerSteps.length);
      expect(allocations.length).toBeLessThanOrEqual(steps.length);
      for (const [svc, method] of [['kv-manager', 'llm.kv.v1.KvManager/AllocateSlots'], ['attention-worker', 'llm.worker.v1.Worker/Step']]) {
        for (const s of one1(svc, method, 2)) {
          const client = parentOf(s);
          expect([client.serviceName, client.name, client.kind]).toEqual(['orchestrator-scheduler', method, 3]);
          expect(parentOf(client).name).toBe('scheduler.step');
        }
      }
      const dispatches = one1('router', 'llm.router.v1.Router/Dispatch', 2);
      expect(dispatches.length).toBe(2 * workerSteps.length); // two MoE layers per Step
      for (const d of dispatches) expect(parentOf(parentOf(d)).name).toBe('llm.worker.v1.Worker/Step');
    }
  });

  it('ships a Grafana dashboard whose queries name only metrics these processes export', async () => {
    const exported = new Set<string>(['up']);
    for (const address of Object.values(platform.metricsAddresses)) {
      for (const s of parsePrometheusText(await (await fetch(`http://${address}/metrics`)).text())) exported.add(s.name);
    }
    expect(metricValue(parsePrometheusText(await (await fetch(`${http}/metrics`)).text()), 'llm_api_requests_in_flight')).toBe(0);
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/llm-platform.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const used = new Set<string>();
    // Metric names: identifiers left once label matchers, by/without lists and strings are removed.
    const namesOf = (expr: string) => expr.replace(/"[^"]*"/g, '').replace(/\{[^}]*\}/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '').match(/\b(?:llm|grpc|http|nodejs|process)_[a-z0-9_]+\b/g) ?? [];
    for (const panel of dashboard.panels) for (const t of panel.targets ?? []) for (const name of namesOf(t.expr)) used.add(name);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
