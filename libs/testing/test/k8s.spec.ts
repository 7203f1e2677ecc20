/**
 * deploy/k8s renders with kustomize (the base, the example overlay, and the example with the TLS
 * component) and every object validates against the Kubernetes OpenAPI schemas (the
 * kubernetes-models package, offline). On top of schema validity, the manifests hold together:
 * every container has readiness and liveness probes and resource requests and limits, probes and
 * Services point at ports the pods declare, selectors match pod labels, every ConfigMap, PVC and
 * scale target referenced exists, and every volume is mounted (the example's hostPath lands only
 * on the Deployments that read models). The HPA scales the api role only. Security: Redis requires
 * the password of the Secret llm-redis and every app that uses Redis gets it; the API keys come
 * from the Secret llm-api-keys; with TLS every app container mounts llm-tls and probes by exec
 * (kubelet's gRPC probes speak no TLS); settings are LLM_ variables only.
 *
 * Not here: a cluster. `kubectl kustomize` (kustomize v5 inside kubectl) needs no server.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

jest.setTimeout(60_000);

const root = join(__dirname, '..', '..', '..');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Probe {
  grpc?: { port: number; service?: string };
  exec?: { command: string[] };
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; hostPath?: { path: string }; secret?: { secretName: string } }>;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

/** `kubectl kustomize DIR`, parsed into objects; a missing kubectl fails with what to install. */
function render(dir: string): K8sObject[] {
  const res = spawnSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', timeout: 30_000 });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('kubectl is not on PATH: install it (Debian: apt-get install -y kubectl; kustomize v5 is built in) to render deploy/k8s');
  }
  if (res.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${res.stderr}`);
  const docs = parseAllDocuments(res.stdout);
  for (const d of docs) if (d.errors.length > 0) throw new Error(`kustomize output of ${dir} is not YAML: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
}

/** The kubernetes-models class for apiVersion/kind (e.g. apps/v1 Deployment -> kubernetes-models/apps/v1/Deployment). */
function modelClass(o: K8sObject): new (data: unknown) => { validate(): void } {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as Record<string, new (data: unknown) => { validate(): void }>;
  return mod[o.kind];
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet']);
const template = (o: K8sObject) => (o.spec as { template: PodTemplate }).template;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(['deploy/k8s/base', 'deploy/k8s/overlays/example', 'deploy/k8s/overlays/example-tls'])('kustomize %s', (dir) => {
  const tls = dir.endsWith('-tls');
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render(dir);
  });
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  it('renders the platform: five apps, Redis, Services, settings, PDBs and one HPA', () => {
    const names = (kind: string) => byKind(kind).map((o) => o.metadata.name).sort();
    expect(names('Deployment')).toEqual(['attention-worker', 'kv-manager', 'orchestrator-api', 'router', 'tokenizer-service']);
    expect(names('StatefulSet')).toEqual(['redis']);
    expect(names('Service')).toEqual(
      ['attention-worker', 'kv-manager', 'orchestrator-api', 'redis', 'redis-headless', 'router', 'tokenizer-service'].sort(),
    );
    expect(byKind('ConfigMap')).toHaveLength(1);
    expect(byKind('PodDisruptionBudget').length).toBeGreaterThanOrEqual(1);
    expect(byKind('HorizontalPodAutoscaler')).toHaveLength(1);
  });

  it('every object validates against the Kubernetes schema', () => {
    for (const o of objects) {
      const Model = modelClass(o);
      expect(Model).toBeDefined();
      expect(() => new Model(o).validate()).not.toThrow();
    }
  });

  it('the schema check is real: a bad object is rejected', () => {
    const d = structuredClone(byKind('Deployment')[0]);
    (template(d).spec.containers[0].ports as unknown[]) = [{ containerPort: 'grpc' }];
    expect(() => new (modelClass(d))(d).validate()).toThrow(/containerPort/);
  });

  it('every container of every Deployment and StatefulSet has readiness and liveness probes and resource requests and limits', () => {
    const workloads = objects.filter((o) => WORKLOADS.has(o.kind));
    expect(workloads.length).toBe(6);
    for (const w of workloads) {
      for (const c of template(w).spec.containers) {
        const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
        expect({ where, readiness: !!c.readinessProbe, liveness: !!c.livenessProbe }).toEqual({ where, readiness: true, liveness: true });
        for (const key of ['cpu', 'memory']) {
          expect({ where, key, request: c.resources?.requests?.[key] !== undefined, limit: c.resources?.limits?.[key] !== undefined }).toEqual({
            where,
            key,
            request: true,
            limit: true,
          });
        }
      }
    }
  });

  it(tls ? 'app probes run the image health check (gRPC health over TLS), liveness and readiness apart' : 'app probes call grpc.health.v1 on a port the container declares, liveness and readiness apart', () => {
    for (const d of byKind('Deployment')) {
      for (const c of template(d).spec.containers) {
        const declared = (c.ports ?? []).map((p) => p.containerPort);
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter((p): p is Probe => !!p)) {
          if (tls) {
            expect(probe.exec?.command?.slice(0, 2)).toEqual(['node', '/app/deploy/container/healthcheck.js']);
          } else {
            expect(probe.grpc).toBeDefined();
            expect(declared).toContain(probe.grpc?.port);
          }
        }
        // Liveness never depends on another service (a restart would not fix that); readiness does.
        const where = `${(d.metadata as { name: string }).name}/${c.name}`;
        const service = (p: Probe | undefined) => (tls ? p?.exec?.command?.[2] : p?.grpc?.service);
        expect({ where, readiness: service(c.readinessProbe), liveness: service(c.livenessProbe) }).toEqual({ where, readiness: 'readiness', liveness: 'liveness' });
        if (c.startupProbe) expect(service(c.startupProbe)).toBe('liveness');
      }
    }
  });

  it('every volume is mounted; models are mounted only where a model is read (never on the kv-manager)', () => {
    for (const w of objects.filter((o) => WORKLOADS.has(o.kind))) {
      const spec = template(w).spec;
      const mounted = new Set(spec.containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)));
      for (const v of spec.volumes ?? []) expect({ workload: w.metadata.name, volume: v.name, mounted: mounted.has(v.name) }).toMatchObject({ mounted: true });
    }
    const models = (name: string) => (template(byKind('Deployment').find((d) => d.metadata.name === name) as K8sObject).spec.volumes ?? []).find((v) => v.name === 'models');
    expect(models('kv-manager')).toBeUndefined();
    for (const name of ['tokenizer-service', 'router', 'attention-worker', 'orchestrator-api']) {
      const v = models(name);
      expect(v).toBeDefined();
      if (dir.includes('example')) expect(v).toEqual({ name: 'models', hostPath: { path: '/var/lib/llm/models', type: 'Directory' } });
      else expect(v?.persistentVolumeClaim?.claimName).toBe('llm-models');
    }
  });

  it('Redis requires the llm-redis password and the apps that use it get it; API keys come from llm-api-keys', () => {
    const secretOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    const redis = template(byKind('StatefulSet')[0]).spec.containers[0];
    expect(redis.args).toEqual(expect.arrayContaining(['--requirepass', '$(REDIS_PASSWORD)']));
    expect(redis.args).not.toContain('--protected-mode');
    expect(secretOf(redis, 'REDIS_PASSWORD')).toEqual({ name: 'llm-redis', key: 'password' });
    expect(secretOf(redis, 'REDISCLI_AUTH')).toEqual({ name: 'llm-redis', key: 'password' });
    const container = (d: string, c: string) =>
      template(byKind('Deployment').find((o) => o.metadata.name === d) as K8sObject).spec.containers.find((x) => x.name === c) as Container;
    for (const [d, c] of [['tokenizer-service', 'tokenizer-service'], ['attention-worker', 'scheduler'], ['orchestrator-api', 'orchestrator']]) {
      expect({ d, c, ref: secretOf(container(d, c), 'LLM_REDIS_PASSWORD') }).toEqual({ d, c, ref: { name: 'llm-redis', key: 'password' } });
    }
    const api = byKind('Deployment').find((o) => o.metadata.name === 'orchestrator-api') as K8sObject;
    const keysFile = container('orchestrator-api', 'orchestrator').env?.find((e) => e.name === 'LLM_API_KEYS_FILE')?.value as string;
    const mount = container('orchestrator-api', 'orchestrator').volumeMounts?.find((m) => keysFile.startsWith(`${m.mountPath}/`));
    const volume = template(api).spec.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('llm-api-keys');
    expect(keysFile).toBe('/run/secrets/llm-api-keys/api-keys');
  });

  it(tls ? 'every app container mounts llm-tls where LLM_TLS_* point' : 'no TLS unless the component is added', () => {
    const settings = byKind('ConfigMap')[0] as unknown as { data: Record<string, string> };
    if (!tls) {
      expect(Object.keys(settings.data).filter((k) => k.startsWith('LLM_TLS_'))).toEqual([]);
      return;
    }
    expect(settings.data).toMatchObject({ LLM_TLS_CERT: '/run/secrets/llm-tls/tls.crt', LLM_TLS_KEY: '/run/secrets/llm-tls/tls.key', LLM_TLS_CA: '/run/secrets/llm-tls/ca.crt' });
    for (const d of byKind('Deployment')) {
      const spec = template(d).spec;
      expect(spec.volumes?.find((v) => v.name === 'llm-tls')?.secret?.secretName).toBe('llm-tls');
      for (const c of spec.containers) expect(c.volumeMounts).toContainEqual({ name: 'llm-tls', mountPath: '/run/secrets/llm-tls', readOnly: true });
    }
  });

  it('app settings are LLM_ variables (named after the flags)', () => {
    const settings = byKind('ConfigMap')[0] as unknown as { data: Record<string, string> };
    expect(Object.keys(settings.data).filter((k) => !k.startsWith('LLM_'))).toEqual([]);
    for (const d of byKind('Deployment')) {
      for (const c of template(d).spec.containers) expect((c.env ?? []).map((e) => e.name).filter((n) => !n.startsWith('LLM_'))).toEqual([]);
    }
  });

  it('selectors match pod labels, Services target declared ports, references resolve', () => {
    const pods = objects.filter((o) => WORKLOADS.has(o.kind));
    for (const w of pods) {
      expect(matches((w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, template(w).metadata.labels)).toBe(true);
    }
    for (const s of byKind('Service')) {
      const spec = s.spec as { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
      const selected = pods.filter((p) => matches(spec.selector, template(p).metadata.labels));
      expect({ service: s.metadata.name, selects: selected.length }).toEqual({ service: s.metadata.name, selects: 1 });
      const ports = template(selected[0]).spec.containers.flatMap((c) => c.ports ?? []);
      for (const p of spec.ports) expect(ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort)).toBe(true);
    }
    const configMaps = new Set(byKind('ConfigMap').map((c) => c.metadata.name));
    const claims = new Set(byKind('PersistentVolumeClaim').map((c) => c.metadata.name));
    for (const w of pods) {
      const spec = template(w).spec;
      const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
      for (const c of spec.containers) {
        for (const e of c.envFrom ?? []) expect(configMaps.has(e.configMapRef?.name ?? '')).toBe(true);
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name) || m.name === 'data').toBe(true);
        const models = (c.volumeMounts ?? []).find((m) => m.name === 'models');
        if (models) expect(models).toMatchObject({ mountPath: '/models', readOnly: true });
      }
      for (const v of spec.volumes ?? []) if (v.persistentVolumeClaim) expect(claims.has(v.persistentVolumeClaim.claimName)).toBe(true);
    }
    for (const pdb of byKind('PodDisruptionBudget')) {
      const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(pods.filter((p) => matches(sel, template(p).metadata.labels))).toHaveLength(1);
    }
  });

  it('the HPA scales the orchestrator api role only; each worker pod carries its one scheduler', () => {
    const [hpa] = byKind('HorizontalPodAutoscaler');
    expect((hpa.spec as { scaleTargetRef: unknown }).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'orchestrator-api' });
    const api = byKind('Deployment').find((d) => d.metadata.name === 'orchestrator-api') as K8sObject;
    expect(template(api).spec.containers.map((c) => (c as unknown as { args: string[] }).args)).toEqual([['orchestrator', '--role', 'api']]);
    const worker = byKind('Deployment').find((d) => d.metadata.name === 'attention-worker') as K8sObject;
    const args = template(worker).spec.containers.map((c) => (c as unknown as { args: string[] }).args);
    expect(args).toEqual([['attention-worker'], ['orchestrator', '--role', 'scheduler']]);
    const kv = byKind('Deployment').find((d) => d.metadata.name === 'kv-manager') as K8sObject;
    expect(kv.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  });

  it('pods run as a non-root user; published images are pinned by the overlay', () => {
    for (const w of objects.filter((o) => WORKLOADS.has(o.kind))) {
      expect((template(w).spec as unknown as { securityContext: { runAsNonRoot: boolean } }).securityContext.runAsNonRoot).toBe(true);
    }
    const images = byKind('Deployment').flatMap((d) => template(d).spec.containers.map((c) => c.image));
    const expected = dir.includes('example') ? 'registry.example.com/llm-platform/app:0.1.0' : 'llm-platform/app:local';
    expect(new Set(images)).toEqual(new Set([expected]));
  });
});
