/**
 * Scraping the platform on Kubernetes, rendered with kustomize (no cluster): every app container
 * declares its /metrics port (the app's default --metrics-port) by name, every app pod carries
 * prometheus.io annotations naming a declared metrics port, and the monitoring component's
 * PodMonitor (example-monitoring overlay) has the monitoring.coreos.com/v1 shape, selects exactly
 * the app pods (not Redis) and scrapes every metrics port they declare. kubernetes-models has no
 * schema for the Operator's CRD, so its shape is checked here, and the check is shown to refuse
 * bad PodMonitors; every other object still validates against the Kubernetes schemas.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_METRICS_PORTS } from '@llm/platform/config';

const root = join(__dirname, '..', '..', '..');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Port {
  name?: string;
  containerPort: number;
}
interface Container {
  name: string;
  args: string[];
  ports?: Port[];
}
interface Template {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[] };
}

function render(dir: string): Obj[] {
  const res = spawnSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw new Error('kubectl is not on PATH: install it (Debian: apt-get install -y kubectl) to render deploy/k8s');
  if (res.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${res.stderr}`);
  return parseAllDocuments(res.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

const template = (o: Obj) => (o.spec as { template: Template }).template;
const metricsPortOf = (c: Container) => (c.ports ?? []).find((p) => p.name?.startsWith('metrics'));
/** The app a container runs (the image's first argument) and its default metrics port. */
const defaultPortOf = (c: Container) => DEFAULT_METRICS_PORTS[c.args[0] as keyof typeof DEFAULT_METRICS_PORTS];

type Expression = { key: string; operator: string; values?: string[] };
interface PodMonitorSpec {
  jobLabel?: string;
  selector: { matchLabels?: Record<string, string>; matchExpressions?: Expression[] };
  podMetricsEndpoints: { port?: string; path?: string; interval?: string; scheme?: string }[];
  namespaceSelector?: unknown;
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^(\d+(ms|s|m|h))+$/;
const SPEC_KEYS = new Set(['jobLabel', 'podTargetLabels', 'podMetricsEndpoints', 'selector', 'namespaceSelector', 'sampleLimit', 'targetLimit', 'labelLimit', 'attachMetadata']);
const ENDPOINT_KEYS = new Set(['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels', 'honorTimestamps', 'relabelings', 'metricRelabelings', 'params']);

/** Problems of a PodMonitor against the monitoring.coreos.com/v1 CRD's shape (the fields used here). */
function podMonitorProblems(o: Obj): string[] {
  const out: string[] = [];
  if (o.apiVersion !== 'monitoring.coreos.com/v1') out.push(`apiVersion ${o.apiVersion}`);
  if (o.kind !== 'PodMonitor') out.push(`kind ${o.kind}`);
  if (!DNS1123.test(o.metadata?.name ?? '')) out.push(`metadata.name ${o.metadata?.name}`);
  const spec = o.spec as unknown as PodMonitorSpec;
  for (const k of Object.keys(spec ?? {})) if (!SPEC_KEYS.has(k)) out.push(`spec.${k} is not a PodMonitor field`);
  const sel = spec?.selector;
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) out.push('spec.selector selects nothing');
  for (const e of sel?.matchExpressions ?? []) {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) out.push(`operator ${e.operator}`);
    if ((e.operator === 'In' || e.operator === 'NotIn') && !(Array.isArray(e.values) && e.values.length > 0)) out.push(`${e.key} ${e.operator} needs values`);
  }
  if (!Array.isArray(spec?.podMetricsEndpoints) || spec.podMetricsEndpoints.length === 0) out.push('spec.podMetricsEndpoints is empty');
  for (const [i, ep] of (spec?.podMetricsEndpoints ?? []).entries()) {
    for (const k of Object.keys(ep)) if (!ENDPOINT_KEYS.has(k)) out.push(`podMetricsEndpoints[${i}].${k} is not a field`);
    if (typeof ep.port !== 'string' || ep.port === '') out.push(`podMetricsEndpoints[${i}].port must name a port`);
    if (ep.path !== undefined && !ep.path.startsWith('/')) out.push(`podMetricsEndpoints[${i}].path ${ep.path}`);
    if (ep.interval !== undefined && !DURATION.test(ep.interval)) out.push(`podMetricsEndpoints[${i}].interval ${ep.interval}`);
  }
  return out;
}

function selects(sel: PodMonitorSpec['selector'], labels: Record<string, string>): boolean {
  const byLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (sel.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]);
    return e.operator === 'Exists' ? has : !has;
  });
  return byLabels && byExpr;
}

describe.each(['deploy/k8s/base', 'deploy/k8s/overlays/example-monitoring'])('metrics in %s', (dir) => {
  let objects: Obj[];
  beforeAll(() => {
    objects = render(dir);
  });
  const deployments = () => objects.filter((o) => o.kind === 'Deployment');

  it("declares each app container's /metrics port (its default --metrics-port) by a unique name", () => {
    const containers = deployments().flatMap((d) => template(d).spec.containers);
    expect(containers).toHaveLength(6); // five apps, and the scheduler beside the worker
    for (const d of deployments()) {
      const ports = template(d).spec.containers.flatMap((c) => c.ports ?? []);
      expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
      expect(new Set(ports.map((p) => p.containerPort)).size).toBe(ports.length);
      for (const p of ports) expect((p.name ?? '').length).toBeLessThanOrEqual(15);
      for (const c of template(d).spec.containers) expect({ container: c.name, port: metricsPortOf(c)?.containerPort }).toEqual({ container: c.name, port: defaultPortOf(c) });
    }
  });

  it('annotates every app pod for annotation-based scraping, naming a declared metrics port', () => {
    for (const d of deployments()) {
      const t = template(d);
      const a = t.metadata.annotations ?? {};
      expect({ pod: d.metadata.name, scrape: a['prometheus.io/scrape'], path: a['prometheus.io/path'] }).toEqual({ pod: d.metadata.name, scrape: 'true', path: '/metrics' });
      const declared = t.spec.containers.map(metricsPortOf).map((p) => String(p?.containerPort));
      expect(declared).toContain(a['prometheus.io/port']);
    }
    const redis = objects.find((o) => o.kind === 'StatefulSet') as Obj;
    expect(template(redis).metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
  });

  if (!dir.endsWith('monitoring')) {
    it('has no PodMonitor unless the monitoring component is added', () => expect(objects.filter((o) => o.kind === 'PodMonitor')).toEqual([]));
    return;
  }

  it('has a PodMonitor of the CRD shape that selects exactly the app pods and scrapes every metrics port', () => {
    const monitors = objects.filter((o) => o.kind === 'PodMonitor');
    expect(monitors).toHaveLength(1);
    const [pm] = monitors;
    expect(podMonitorProblems(pm)).toEqual([]);
    expect(pm.metadata.namespace).toBe(deployments()[0].metadata.namespace);
    const spec = pm.spec as unknown as PodMonitorSpec;
    const pods = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    const selected = pods.filter((p) => selects(spec.selector, template(p).metadata.labels)).map((p) => p.metadata.name).sort();
    expect(selected).toEqual(['attention-worker', 'kv-manager', 'orchestrator-api', 'router', 'tokenizer-service']);
    const scraped = new Set(spec.podMetricsEndpoints.map((e) => e.port));
    const declared = new Set(deployments().flatMap((d) => template(d).spec.containers.map((c) => metricsPortOf(c)?.name)));
    expect([...scraped].sort()).toEqual([...declared].sort());
    expect(deployments().every((d) => selects(spec.selector, template(d).metadata.labels))).toBe(true);
  });

  it('the shape check refuses bad PodMonitors', () => {
    const pm = objects.find((o) => o.kind === 'PodMonitor') as Obj;
    const bad = (change: (o: Obj & { spec: PodMonitorSpec }) => void) => {
      const o = structuredClone(pm) as Obj & { spec: PodMonitorSpec };
      change(o);
      return podMonitorProblems(o);
    };
    expect(bad((o) => (o.spec.podMetricsEndpoints[0].interval = '15 seconds'))).toEqual(['podMetricsEndpoints[0].interval 15 seconds']);
    expect(bad((o) => ((o.spec.selector.matchExpressions as Expression[])[0].operator = 'Equals'))).toEqual(['operator Equals']);
    expect(bad((o) => ((o.spec as unknown as Record<string, unknown>).endpoints = []))).toEqual(['spec.endpoints is not a PodMonitor field']);
    expect(bad((o) => (o.apiVersion = 'monitoring.coreos.com/v1beta1'))).toEqual(['apiVersion monitoring.coreos.com/v1beta1']);
    expect(bad((o) => delete o.spec.podMetricsEndpoints[1].port)).toEqual(['podMetricsEndpoints[1].port must name a port']);
  });

  it('every other object validates against the Kubernetes schemas', () => {
    for (const o of objects.filter((x) => x.kind !== 'PodMonitor')) {
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`) as Record<string, new (d: unknown) => { validate(): void }>;
      expect(() => new mod[o.kind](o).validate()).not.toThrow();
    }
  });
});
