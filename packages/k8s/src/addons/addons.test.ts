import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADDONS, addonWorkloads, checkAddonSettings, findAddon, renderAddon, splitSecretSettings } from './catalog.js';
import { DEFAULT_EGRESS_DENY, EgressPolicy } from './endpoint-policy.js';
import type { AddonCluster, KubernetesObject } from './types.js';

const cluster: AddonCluster = { id: 'c1', name: 'demo', provider: 'vsphere', kubernetesVersion: '1.31.4' };
/** Settings each addon needs at least (the others default). */
const MINIMAL: Record<string, Record<string, unknown>> = { 'log-forwarding': { type: 'splunk-hec', url: 'https://hec.example.com:8088', token: 's3cr3t-token' } };

function rendered(name: string, settings: Record<string, unknown> = MINIMAL[name] ?? {}, target = cluster): KubernetesObject[] {
  const addon = findAddon(name)!;
  const check = checkAddonSettings(addon, settings);
  assert.ok(check.ok, JSON.stringify(check));
  return renderAddon(addon, check.settings, target);
}

function images(objects: KubernetesObject[]): string[] {
  return objects.flatMap((o) => ((o['spec'] as { template?: { spec: { containers: Array<{ image: string }> } } } | undefined)?.template?.spec.containers ?? []).map((c) => c.image));
}

describe('addon catalog', () => {
  it('labels every object, and every pod template, with managed-by cx and the addon name', () => {
    for (const addon of ADDONS) {
      const objects = rendered(addon.name);
      assert.ok(objects.length > 0, addon.name);
      for (const object of objects) {
        assert.equal(object.metadata.labels?.['app.kubernetes.io/managed-by'], 'cx', `${addon.name} ${object.kind}/${object.metadata.name}`);
        assert.equal(object.metadata.labels?.['cx.dev/addon'], addon.name, `${addon.name} ${object.kind}/${object.metadata.name}`);
        const template = (object['spec'] as { template?: { metadata: { labels: Record<string, string> } } } | undefined)?.template;
        if (template) assert.equal(template.metadata.labels['cx.dev/addon'], addon.name);
      }
      const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      assert.equal(new Set(keys).size, keys.length, `${addon.name} renders no object twice`);
    }
  });

  it('runs only pinned upstream images (a registry, a path and a version tag, never latest)', () => {
    const all = ADDONS.flatMap((addon) => images(rendered(addon.name)));
    assert.deepEqual([...new Set(all)].sort(), [
      'cr.fluentbit.io/fluent/fluent-bit:3.2.8',
      'docker.io/kubernetesui/dashboard:v2.7.0',
      'docker.io/kubernetesui/metrics-scraper:v1.0.8',
      'quay.io/prometheus/node-exporter:v1.9.0',
      'quay.io/prometheus/prometheus:v3.2.1',
      'registry.k8s.io/ingress-nginx/controller:v1.12.1',
      'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    ]);
    for (const addon of ADDONS) {
      const used = images(rendered(addon.name));
      for (const image of used) assert.match(image, /^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/_.-]+:v?\d+\.\d+\.\d+$/, `${addon.name} runs ${image}`);
      if (used.length > 0) assert.ok(used.some((image) => image.endsWith(`:${addon.version}`)), `${addon.name} declares version ${addon.version}: its main image carries it`);
    }
  });

  it('ingress-nginx: the IngressClass nginx, the controller Deployment and its Service; settings change them', () => {
    const objects = rendered('ingress-nginx', { replicas: 2, serviceType: 'NodePort', defaultClass: true });
    const byKind = (kind: string): KubernetesObject[] => objects.filter((o) => o.kind === kind);
    const ingressClass = byKind('IngressClass')[0]!;
    assert.equal(ingressClass.metadata.name, 'nginx');
    assert.equal(ingressClass.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    assert.deepEqual(addonWorkloads(objects), [{ kind: 'Deployment', namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }]);
    assert.equal((byKind('Deployment')[0]!['spec'] as { replicas: number }).replicas, 2);
    assert.equal((byKind('Service')[0]!['spec'] as { type: string }).type, 'NodePort');
    assert.equal(objects[0]!.kind, 'Namespace', 'the namespace is applied first');
    assert.equal(rendered('ingress-nginx').find((o) => o.kind === 'IngressClass')!.metadata.annotations, undefined, 'not the default class unless asked');
  });

  it('monitoring: Prometheus with cluster-wide read RBAC and its scrape jobs, node-exporter on every node', () => {
    const objects = rendered('monitoring', { retention: '7d' });
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    assert.deepEqual((role['rules'] as Array<{ verbs: string[] }>).flatMap((r) => r.verbs).filter((v) => !['get', 'list', 'watch'].includes(v)), [], 'read-only');
    const config = (objects.find((o) => o.kind === 'ConfigMap')!['data'] as Record<string, string>)['prometheus.yml']!;
    for (const job of ['kubernetes-apiservers', 'kubernetes-nodes', 'kubernetes-cadvisor', 'kubernetes-pods', 'kubernetes-service-endpoints']) assert.match(config, new RegExp(`job_name: ${job}`));
    assert.match(config, /cluster: demo/);
    const prometheus = objects.find((o) => o.kind === 'Deployment')!;
    assert.match(JSON.stringify(prometheus), /--storage.tsdb.retention.time=7d/);
    assert.deepEqual(addonWorkloads(objects).map((w) => `${w.kind}/${w.name}`), ['Deployment/prometheus', 'DaemonSet/node-exporter']);
    assert.deepEqual(addonWorkloads(rendered('monitoring', { nodeExporter: false })).map((w) => w.name), ['prometheus']);
  });

  it('metrics-server registers the metrics.k8s.io APIService', () => {
    const api = rendered('metrics-server').find((o) => o.kind === 'APIService')!;
    assert.equal(api.metadata.name, 'v1beta1.metrics.k8s.io');
  });

  it('log-forwarding keeps the token in a Secret and out of the configuration', () => {
    const objects = rendered('log-forwarding');
    const config = (objects.find((o) => o.kind === 'ConfigMap')!['data'] as Record<string, string>)['fluent-bit.conf']!;
    assert.doesNotMatch(config, /s3cr3t-token/);
    assert.match(config, /Name\s+splunk/);
    assert.match(config, /Host\s+hec\.example\.com/);
    assert.match(config, /Port\s+8088/);
    assert.match(config, /Splunk_Token\s+\$\{CX_LOG_TOKEN\}/);
    assert.deepEqual(objects.find((o) => o.kind === 'Secret')!['stringData'], { token: 's3cr3t-token' });
    const es = (rendered('log-forwarding', { type: 'elasticsearch', url: 'http://es.logs.example:9200', index: 'k8s' }).find((o) => o.kind === 'ConfigMap')!['data'] as Record<string, string>)['fluent-bit.conf']!;
    assert.match(es, /Name\s+es\n/);
    assert.match(es, /tls\s+Off/);
    assert.match(es, /Index\s+k8s/);
    assert.deepEqual(splitSecretSettings(findAddon('log-forwarding')!, { type: 'http', url: 'https://x', token: 't' }), { visible: { type: 'http', url: 'https://x' }, secrets: { token: 't' } });
  });

  it('storage-class: the provider\'s CSI driver; providers without one are refused', () => {
    assert.equal(rendered('storage-class')[0]!['provisioner'], 'csi.vsphere.vmware.com');
    assert.equal(rendered('storage-class', {}, { ...cluster, provider: 'openstack' })[0]!['provisioner'], 'cinder.csi.openstack.org');
    assert.match(findAddon('storage-class')!.unsupported!({ ...cluster, provider: 'kwok' }) ?? '', /provider kwok has no block-storage/);
    assert.equal(findAddon('storage-class')!.unsupported!(cluster), undefined);
  });

  it('checks settings against the addon\'s schema and lists every error by field', () => {
    const ingress = checkAddonSettings(findAddon('ingress-nginx')!, { replicas: 0, serviceType: 'ClusterIP', colour: 'blue' });
    assert.equal(ingress.ok, false);
    assert.deepEqual(!ingress.ok && ingress.errors.map((e) => e.field).sort(), ['body.settings.colour', 'body.settings.replicas', 'body.settings.serviceType']);
    const logs = checkAddonSettings(findAddon('log-forwarding')!, { type: 'splunk-hec', url: 'ftp://x' });
    assert.deepEqual(!logs.ok && logs.errors.map((e) => e.field).sort(), ['body.settings.token', 'body.settings.url'], 'splunk needs a token; only http(s)');
    const filled = checkAddonSettings(findAddon('monitoring')!, undefined);
    assert.deepEqual(filled.ok && filled.settings, { retention: '15d', scrapeInterval: '30s', nodeExporter: true });
  });
});

describe('egress policy (SSRF)', () => {
  const resolver = (table: Record<string, string[]>) => async (host: string): Promise<string[]> => table[host] ?? [];

  it('refuses loopback, link-local metadata and names resolving to them by default', async () => {
    const policy = new EgressPolicy({ allow: [], deny: DEFAULT_EGRESS_DENY });
    const dns = resolver({ 'sneaky.example.com': ['93.184.216.34', '169.254.169.254'], 'logs.example.com': ['93.184.216.34'] });
    for (const url of ['http://127.0.0.1:9200', 'http://localhost:8080/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:80', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0:1']) {
      const verdict = await policy.check(url, dns);
      assert.equal(verdict.allowed, false, url);
    }
    const sneaky = await policy.check('https://sneaky.example.com/', dns);
    assert.deepEqual(sneaky, { allowed: false, reason: 'sneaky.example.com resolves to 169.254.169.254, which matches egress.deny entry 169.254.0.0/16' });
    assert.deepEqual(await policy.check('https://logs.example.com:8088/services/collector', dns), { allowed: true });
    assert.deepEqual(await policy.check('https://user:pw@logs.example.com/', dns), { allowed: false, reason: 'carries credentials in the URL; give them as settings instead' });
  });

  it('with an allow list, only what it names; deny still wins', async () => {
    const policy = new EgressPolicy({ allow: ['10.20.0.0/16', '*.logs.corp'], deny: [...DEFAULT_EGRESS_DENY, 'bad.logs.corp'] });
    const dns = resolver({ 'es.logs.corp': ['10.99.0.1'], 'elsewhere.example': ['10.20.3.4'], 'other.example': ['203.0.113.9'] });
    assert.deepEqual(await policy.check('http://es.logs.corp:9200', dns), { allowed: true }, 'by name');
    assert.deepEqual(await policy.check('http://elsewhere.example', dns), { allowed: true }, 'by resolved address');
    assert.equal((await policy.check('http://10.20.1.1:9200', dns)).allowed, true);
    assert.match(JSON.stringify(await policy.check('http://other.example', dns)), /matches no egress.allow entry/);
    assert.match(JSON.stringify(await policy.check('http://bad.logs.corp', dns)), /egress.deny entry bad.logs.corp/);
  });

  it('refuses a malformed list entry at construction, naming the setting', () => {
    assert.throws(() => new EgressPolicy({ allow: [], deny: ['10.0.0.0/40'] }), /egress.deny entry 10.0.0.0\/40/);
    assert.throws(() => new EgressPolicy({ allow: ['http://x'], deny: [] }), /egress.allow entry http:\/\/x/);
  });
});
