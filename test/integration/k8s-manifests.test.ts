import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { loadConnector } from '../../src/config/connector.js';
import { parseTelephonyVendors } from '../../src/config/telephony-vendors.js';

/**
 * deploy/k8s rendered with kustomize and every object validated offline (scripts/k8s.sh: the
 * Kubernetes JSON schemas bundled by kubernetes-validate, strict; the ServiceMonitor against the
 * prometheus-operator CRD). Then what the schemas cannot know: the probes hit the receiver's real
 * paths and port, every grace period outlasts the drain, one DuckDB writer, BigQuery sinks no more
 * than partitions, and the connector and vendor files in the ConfigMaps load as callstream loads
 * them. The tools are fetched and cached by the script; when they cannot be had, this fails.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const OVERLAYS = ['deploy/k8s/base', 'deploy/k8s/overlays/bigquery'];

interface Verdict {
  kind: string;
  name: string;
  against: string;
  ok: boolean;
  errors: string[];
}
// Kubernetes objects, loosely typed: the schemas have checked them.
type K8sObject = { kind: string; metadata: { name: string }; data?: Record<string, string>; stringData?: Record<string, string>; spec?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function validate(...targets: string[]): Promise<{ code: number; verdicts: Verdict[]; stderr: string }> {
  const result = await run('bash', ['scripts/k8s.sh', 'validate', ...targets], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
  const verdicts = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Verdict);
  return { code: result.code, verdicts, stderr: result.stderr };
}

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run('bash', ['scripts/k8s.sh', 'json', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as K8sObject[];
}

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name));
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};

beforeAll(async () => {
  // Cached after the first time (~45 s: kustomize built from the Go module proxy, a venv from PyPI).
  await run('bash', ['scripts/k8s.sh', 'install'], { cwd: ROOT, timeout: 10 * 60_000 });
}, 11 * 60_000);

describe('deploy/k8s: every rendered object is valid', () => {
  for (const dir of OVERLAYS) {
    it(`${dir}: kustomize renders it and every object passes its schema`, async () => {
      const { code, verdicts, stderr } = await validate(dir);
      expect(verdicts.filter((v) => !v.ok), stderr).toEqual([]);
      expect(code).toBe(0);
      const kinds = new Set(verdicts.map((v) => v.kind));
      for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'ConfigMap', 'Secret', 'ServiceMonitor']) expect(kinds).toContain(kind);
      expect(verdicts.find((v) => v.kind === 'ServiceMonitor')?.against).toMatch(/^CRD monitoring\.coreos\.com_servicemonitors/);
    }, 120_000);
  }
});

describe('the validation fails on a broken object (it can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'callstream-k8s-'));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('rejects a Deployment with a wrong type and an unknown field, and a kind without a schema', async () => {
    const broken = file(
      'broken.yaml',
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: broken }',
        'spec:',
        '  replicas: two', // an integer
        '  selector: { matchLabels: { app: x } }',
        '  template:',
        '    metadata: { labels: { app: x } }',
        '    spec:',
        '      containers: [{ name: x, image: x }]',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: typo }',
        'spec:',
        '  selector: { matchLabels: { app: x } }',
        '  template:',
        '    metadata: { labels: { app: x } }',
        '    spec:',
        '      containers: [{ name: x, image: x, readinessProbe: { httpGet: { path: /readyz, prot: 8080 } } }]',
        '---',
        'apiVersion: example.com/v1',
        'kind: Unheard',
        'metadata: { name: nothing }',
      ].join('\n'),
    );
    const { code, verdicts } = await validate(broken);
    expect(code).toBe(1);
    expect(verdicts.map((v) => [v.name, v.ok])).toEqual([
      ['broken', false],
      ['typo', false],
      ['nothing', false],
    ]);
    expect(verdicts[0].errors.join()).toMatch(/replicas/);
    expect(verdicts[1].errors.join()).toMatch(/prot|port/);
    expect(verdicts[2].errors.join()).toMatch(/no schema/);
  }, 60_000);

  it('rejects a ServiceMonitor that breaks its CRD (a field the CRD does not have, a wrong type)', async () => {
    const broken = file(
      'servicemonitor.yaml',
      [
        'apiVersion: monitoring.coreos.com/v1',
        'kind: ServiceMonitor',
        'metadata: { name: sm }',
        'spec:',
        '  selector: { matchLabels: { app: x } }',
        '  endpoints:',
        '    - { port: http, interval: 15s, scrapeEvery: 15s }',
        '    - { port: 8080 }', // port is the port's name: a string
      ].join('\n'),
    );
    const { code, verdicts } = await validate(broken);
    expect(code).toBe(1);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0].ok).toBe(false);
    expect(verdicts[0].errors.join('\n')).toMatch(/scrapeEvery/);
    expect(verdicts[0].errors.join('\n')).toMatch(/8080 is not of type 'string'/);
  }, 60_000);
});

describe('deploy/k8s agrees with callstream', () => {
  const defaults = loadConfig({});
  const receiverServer = readFileSync(join(ROOT, 'src/receiver/server.ts'), 'utf8');

  for (const dir of OVERLAYS) {
    it(`${dir}: probes, ports, grace periods, config files`, async () => {
      const objects = await render(dir);
      const env = find(objects, 'ConfigMap', 'callstream-env').data!;
      const drainMs = Number(env.CALLSTREAM_SHUTDOWN_TIMEOUT_MS ?? defaults.shutdownTimeoutMs);
      const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      expect(workloads.length).toBe(2);
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        const [container] = pod.containers;
        expect(container.image, w.metadata.name).toMatch(/callstream:/);
        expect(container.ports[0].containerPort).toBe(Number(container.env.find((e: { name: string }) => e.name === 'PORT').value));
        expect(container.ports[0].containerPort).toBe(defaults.port);
        for (const path of [container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path]) expect(receiverServer).toContain(`'${path}'`);
        expect(container.readinessProbe.httpGet.path).toBe('/readyz');
        expect(container.livenessProbe.httpGet.path).toBe('/healthz');
        // Kubernetes SIGKILLs after the grace period, which includes the preStop hook.
        const preStopMs = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
        expect(pod.terminationGracePeriodSeconds * 1000, w.metadata.name).toBeGreaterThan(preStopMs + drainMs);
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(pod.securityContext.runAsUser).toBe(65532); // the Containerfile's USER
        expect(container.resources.requests.cpu).toBeDefined();
        expect(container.resources.limits.memory).toBeDefined();
      }
      const receiver = find(objects, 'Deployment', 'callstream-receiver');
      expect(receiver.spec.template.spec.containers[0].args).toEqual(['receiver']);
      const pdb = find(objects, 'PodDisruptionBudget', 'callstream-receiver');
      expect(pdb.spec.selector.matchLabels).toEqual(receiver.spec.selector.matchLabels);
      const service = find(objects, 'Service', 'callstream-receiver');
      expect(service.spec.selector).toEqual(receiver.spec.selector.matchLabels);

      // The connector and vendors files load as `callstream sink` loads them; the vendors' secrets
      // are keys of the Secret.
      const files = find(objects, 'ConfigMap', 'callstream-files').data!;
      const tmp = mkdtempSync(join(tmpdir(), 'callstream-k8s-files-'));
      writeFileSync(join(tmp, 'connector.json'), files['connector.json']);
      const { connector } = loadConnector(join(tmp, 'connector.json'));
      const secret = find(objects, 'Secret', 'callstream-secrets').stringData!;
      const vendors = parseTelephonyVendors(JSON.parse(files['telephony-vendors.json']), secret, 'telephony-vendors.json');
      expect(vendors.size).toBeGreaterThan(0);
      expect(env.CALLSTREAM_TELEPHONY_VENDORS).toBe('/etc/callstream/telephony-vendors.json');

      const sink = workloads.find((w) => w !== receiver)!;
      expect(sink.spec.template.spec.containers[0].args).toEqual(['sink']);
      if (connector.warehouse === 'duckdb') {
        // DuckDB: a single writer, on a persistent volume at the connector's dataDir.
        expect(sink.kind).toBe('StatefulSet');
        expect(sink.spec.replicas).toBe(1);
        expect(sink.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
        expect(sink.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: (connector as { dataDir?: string }).dataDir });
      } else {
        // BigQuery: sinks in one group, no more than the partitions they share.
        expect(connector.warehouse).toBe('bigquery');
        expect(sink.kind).toBe('Deployment');
        expect(sink.spec.replicas).toBeGreaterThan(1);
        expect(sink.spec.replicas).toBeLessThanOrEqual(Number(env.CALLSTREAM_TOPIC_PARTITIONS));
        expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
      }
      const monitor = find(objects, 'ServiceMonitor', 'callstream');
      const scraped = objects.filter((o) => o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => (o as { metadata: { labels?: Record<string, string> } }).metadata.labels?.[k] === v));
      expect(scraped.map((s) => s.metadata.name).sort()).toEqual(['callstream-receiver', 'callstream-sink']);
      for (const s of scraped) expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    }, 120_000);
  }
});
