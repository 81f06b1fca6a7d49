import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADDONS,
  addonWorkloads,
  checkAddonSettings,
  findAddon,
  isNetworkAddon,
  renderAddon,
  splitSecretSettings,
} from './catalog.js';
import { DEFAULT_EGRESS_DENY, EgressPolicy } from './endpoint-policy.js';
import type { AddonCluster, KubernetesObject } from './types.js';

const cluster: AddonCluster = { id: 'c1', name: 'demo', provider: 'vsphere', kubernetesVersion: '1.31.4' };
/** Settings each addon needs at least (the others default). */
const MINIMAL: Record<string, Record<string, unknown>> = {
  'log-forwarding': { type: 'splunk-hec', url: 'https://hec.example.com:8088', token: 's3cr3t-token' },
};

function rendered(
  name: string,
  settings: Record<string, unknown> = MINIMAL[name] ?? {},
  target = cluster,
): KubernetesObject[] {
  const addon = findAddon(name)!;
  const check = checkAddonSettings(addon, settings);
  assert.ok(check.ok, JSON.stringify(check));
  return renderAddon(addon, check.settings, target);
}

/** Every image the addon's pod templates run, init containers included. */
function images(objects: KubernetesObject[]): string[] {
  return objects.flatMap((o) => {
    const pod = (
      o['spec'] as
        | { template?: { spec: { containers: Array<{ image: string }>; initContainers?: Array<{ image: string }> } } }
        | undefined
    )?.template?.spec;
    return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c) => c.image);
  });
}

describe('addon catalog', () => {
  it('labels every object, and every pod template, with managed-by cx and the addon name', () => {
    for (const addon of ADDONS) {
      const objects = rendered(addon.name);
      assert.ok(objects.length > 0, addon.name);
      for (const object of objects) {
        assert.equal(
          object.metadata.labels?.['app.kubernetes.io/managed-by'],
          'cx',
          `${addon.name} ${object.kind}/${object.metadata.name}`,
        );
        assert.equal(
          object.metadata.labels?.['cx.dev/addon'],
          addon.name,
          `${addon.name} ${object.kind}/${object.metadata.name}`,
        );
        const template = (object['spec'] as { template?: { metadata: { labels: Record<string, string> } } } | undefined)
          ?.template;
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
      'docker.io/cloudnativelabs/kube-router:v2.11.1',
      'docker.io/kubernetesui/dashboard:v2.7.0',
      'docker.io/kubernetesui/metrics-scraper:v1.0.8',
      'docker.io/rancher/local-path-provisioner:v0.0.37',
      'ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1',
      'ghcr.io/flannel-io/flannel:v0.26.7',
      'quay.io/kubevirt/virt-operator:v1.4.1',
      'quay.io/prometheus/node-exporter:v1.9.0',
      'quay.io/prometheus/prometheus:v3.2.1',
      'registry.k8s.io/ingress-nginx/controller:v1.12.1',
      'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    ]);
    for (const addon of ADDONS) {
      const used = images(rendered(addon.name));
      for (const image of used)
        assert.match(
          image,
          /^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/_.-]+:v?\d+\.\d+\.\d+(-[a-z]+\d+)?$/,
          `${addon.name} runs ${image}`,
        );
      if (used.length > 0)
        assert.ok(
          used.some((image) => image.endsWith(`:${addon.version}`)),
          `${addon.name} declares version ${addon.version}: its main image carries it`,
        );
    }
  });

  it('ingress-nginx: the IngressClass nginx, the controller Deployment and its Service; settings change them', () => {
    const objects = rendered('ingress-nginx', { replicas: 2, serviceType: 'NodePort', defaultClass: true });
    const byKind = (kind: string): KubernetesObject[] => objects.filter((o) => o.kind === kind);
    const ingressClass = byKind('IngressClass')[0]!;
    assert.equal(ingressClass.metadata.name, 'nginx');
    assert.equal(ingressClass.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    assert.deepEqual(addonWorkloads(objects), [
      { kind: 'Deployment', namespace: 'ingress-nginx', name: 'ingress-nginx-controller' },
    ]);
    assert.equal((byKind('Deployment')[0]!['spec'] as { replicas: number }).replicas, 2);
    assert.equal((byKind('Service')[0]!['spec'] as { type: string }).type, 'NodePort');
    assert.equal(objects[0]!.kind, 'Namespace', 'the namespace is applied first');
    assert.equal(
      rendered('ingress-nginx').find((o) => o.kind === 'IngressClass')!.metadata.annotations,
      undefined,
      'not the default class unless asked',
    );
  });

  it('monitoring: Prometheus with cluster-wide read RBAC and its scrape jobs, node-exporter on every node', () => {
    const objects = rendered('monitoring', { retention: '7d' });
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    assert.deepEqual(
      (role['rules'] as Array<{ verbs: string[] }>)
        .flatMap((r) => r.verbs)
        .filter((v) => !['get', 'list', 'watch'].includes(v)),
      [],
      'read-only',
    );
    const config = (objects.find((o) => o.kind === 'ConfigMap')!['data'] as Record<string, string>)['prometheus.yml']!;
    for (const job of [
      'kubernetes-apiservers',
      'kubernetes-nodes',
      'kubernetes-cadvisor',
      'kubernetes-pods',
      'kubernetes-service-endpoints',
    ])
      assert.match(config, new RegExp(`job_name: ${job}`));
    assert.match(config, /cluster: demo/);
    const prometheus = objects.find((o) => o.kind === 'Deployment')!;
    assert.match(JSON.stringify(prometheus), /--storage.tsdb.retention.time=7d/);
    assert.deepEqual(
      addonWorkloads(objects).map((w) => `${w.kind}/${w.name}`),
      ['Deployment/prometheus', 'DaemonSet/node-exporter'],
    );
    assert.deepEqual(
      addonWorkloads(rendered('monitoring', { nodeExporter: false })).map((w) => w.name),
      ['prometheus'],
    );
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
    const es = (
      rendered('log-forwarding', { type: 'elasticsearch', url: 'http://es.logs.example:9200', index: 'k8s' }).find(
        (o) => o.kind === 'ConfigMap',
      )!['data'] as Record<string, string>
    )['fluent-bit.conf']!;
    assert.match(es, /Name\s+es\n/);
    assert.match(es, /tls\s+Off/);
    assert.match(es, /Index\s+k8s/);
    assert.deepEqual(
      splitSecretSettings(findAddon('log-forwarding')!, { type: 'http', url: 'https://x', token: 't' }),
      { visible: { type: 'http', url: 'https://x' }, secrets: { token: 't' } },
    );
  });

  it("storage-class: the provider's CSI driver; providers without one are refused", () => {
    assert.equal(rendered('storage-class')[0]!['provisioner'], 'csi.vsphere.vmware.com');
    assert.equal(
      rendered('storage-class', {}, { ...cluster, provider: 'openstack' })[0]!['provisioner'],
      'cinder.csi.openstack.org',
    );
    assert.match(
      findAddon('storage-class')!.unsupported!({ ...cluster, provider: 'kwok' }) ?? '',
      /provider kwok has no block-storage/,
    );
    assert.equal(findAddon('storage-class')!.unsupported!(cluster), undefined);
  });

  it('cni-flannel: net-conf.json allocates from the pod network setting (default the 10.244.0.0/16 cx gives kubeadm)', () => {
    const netConf = (objects: KubernetesObject[]): { Network: string; Backend: { Type: string } } =>
      JSON.parse(
        (
          objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-flannel-cfg')!['data'] as Record<
            string,
            string
          >
        )['net-conf.json']!,
      ) as { Network: string; Backend: { Type: string } };
    assert.deepEqual(netConf(rendered('cni-flannel')), {
      Network: '10.244.0.0/16',
      EnableNFTables: false,
      Backend: { Type: 'vxlan' },
    });
    const custom = rendered('cni-flannel', { podNetwork: '172.20.0.0/16', backend: 'host-gw' });
    assert.deepEqual(netConf(custom), {
      Network: '172.20.0.0/16',
      EnableNFTables: false,
      Backend: { Type: 'host-gw' },
    });
    const hash = (objects: KubernetesObject[]): string | undefined =>
      (
        objects.find((o) => o.kind === 'DaemonSet')!['spec'] as {
          template: { metadata: { annotations?: Record<string, string> } };
        }
      ).template.metadata.annotations?.['cx.dev/config-hash'];
    assert.notEqual(
      hash(custom),
      hash(rendered('cni-flannel')),
      'a changed network rolls flanneld, which reads it at start only',
    );
    const pod = (
      custom.find((o) => o.kind === 'DaemonSet')!['spec'] as {
        template: { spec: { initContainers: Array<{ name: string }>; tolerations: unknown[]; hostNetwork: boolean } };
      }
    ).template.spec;
    assert.deepEqual(
      pod.initContainers.map((c) => c.name),
      ['install-cni-plugin', 'install-cni'],
    );
    assert.deepEqual(
      pod.tolerations,
      [{ operator: 'Exists', effect: 'NoSchedule' }],
      'runs on NotReady nodes: they wait for it',
    );
    assert.equal(pod.hostNetwork, true);
    assert.equal(findAddon('cni-flannel')!.stage, 'network');
    assert.equal(isNetworkAddon('cni-flannel'), true);
    assert.deepEqual(
      ADDONS.filter((a) => a.stage === 'network').map((a) => a.name),
      ['cni-flannel', 'cni-kube-router'],
    );
    const bad = checkAddonSettings(findAddon('cni-flannel')!, { podNetwork: '10.244.0.0', backend: 'udp' });
    assert.deepEqual(!bad.ok && bad.errors.map((e) => e.field).sort(), [
      'body.settings.backend',
      'body.settings.podNetwork',
    ]);
  });

  it('kubevirt: the CRD before the KubeVirt resource it serves, the operator and its RBAC; settings reach the resource', () => {
    const objects = rendered('kubevirt', { useEmulation: true, featureGates: ['LiveMigration', 'Snapshot'] });
    const kinds = objects.map((o) => o.kind);
    assert.equal(kinds[0], 'Namespace');
    assert.ok(
      kinds.indexOf('CustomResourceDefinition') < kinds.indexOf('KubeVirt'),
      'the CRD is applied before the resource of its kind',
    );
    const crd = objects.find((o) => o.kind === 'CustomResourceDefinition')!;
    const spec = crd['spec'] as {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: Array<{ name: string; storage: boolean; subresources: unknown }>;
    };
    assert.equal(crd.metadata.name, 'kubevirts.kubevirt.io');
    assert.deepEqual(
      [spec.group, spec.scope, spec.names.kind, spec.names.plural],
      ['kubevirt.io', 'Namespaced', 'KubeVirt', 'kubevirts'],
    );
    assert.deepEqual(
      spec.versions.map((v) => `${v.name}${v.storage ? '*' : ''}`),
      ['v1*', 'v1alpha3'],
    );
    const cr = objects.find((o) => o.kind === 'KubeVirt')!;
    assert.deepEqual(
      [cr.apiVersion, cr.metadata.namespace, cr.metadata.name],
      ['kubevirt.io/v1', 'kubevirt', 'kubevirt'],
    );
    assert.deepEqual((cr['spec'] as { configuration: unknown }).configuration, {
      developerConfiguration: { featureGates: ['LiveMigration', 'Snapshot'], useEmulation: true },
    });
    assert.deepEqual(
      (rendered('kubevirt').find((o) => o.kind === 'KubeVirt')!['spec'] as { configuration: unknown }).configuration,
      { developerConfiguration: { featureGates: [] } },
      'hardware virtualisation unless asked',
    );
    assert.deepEqual(addonWorkloads(objects), [{ kind: 'Deployment', namespace: 'kubevirt', name: 'virt-operator' }]);
    const operatorRole = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'kubevirt-operator')!;
    assert.ok(
      (operatorRole['rules'] as Array<{ resources?: string[] }>).some((r) =>
        r.resources?.includes('customresourcedefinitions'),
      ),
      'the operator creates the VM CRDs',
    );
    const bound = objects
      .filter((o) => o.kind.endsWith('Binding'))
      .map((o) => (o['subjects'] as Array<{ name: string }>)[0]!.name);
    assert.deepEqual(bound, ['kubevirt-operator', 'kubevirt-operator']);
  });

  it('kubevirt is removed in order: its KubeVirt resource first, while the operator that finalizes it still runs', () => {
    assert.deepEqual(findAddon('kubevirt')!.removeFirst, ['KubeVirt']);
    const operator = rendered('kubevirt').find((o) => o.kind === 'Deployment')!;
    assert.equal(operator.metadata.name, 'virt-operator', 'the operator is not among what goes first');
  });

  it('removes first only kinds the addon renders, never what the rest lives in (a namespace, a CRD)', () => {
    for (const addon of ADDONS) {
      const kinds = new Set(rendered(addon.name).map((o) => o.kind));
      for (const kind of addon.removeFirst ?? []) {
        assert.ok(kinds.has(kind), `${addon.name} removes first ${kind}, which it renders`);
        assert.ok(
          !['Namespace', 'CustomResourceDefinition', 'Deployment', 'DaemonSet'].includes(kind),
          `${addon.name} keeps ${kind} until the rest goes`,
        );
      }
    }
  });

  it("checks settings against the addon's schema and lists every error by field", () => {
    const ingress = checkAddonSettings(findAddon('ingress-nginx')!, {
      replicas: 0,
      serviceType: 'ClusterIP',
      colour: 'blue',
    });
    assert.equal(ingress.ok, false);
    assert.deepEqual(!ingress.ok && ingress.errors.map((e) => e.field).sort(), [
      'body.settings.colour',
      'body.settings.replicas',
      'body.settings.serviceType',
    ]);
    const logs = checkAddonSettings(findAddon('log-forwarding')!, { type: 'splunk-hec', url: 'ftp://x' });
    assert.deepEqual(
      !logs.ok && logs.errors.map((e) => e.field).sort(),
      ['body.settings.token', 'body.settings.url'],
      'splunk needs a token; only http(s)',
    );
    const filled = checkAddonSettings(findAddon('monitoring')!, undefined);
    assert.deepEqual(filled.ok && filled.settings, { retention: '15d', scrapeInterval: '30s', nodeExporter: true });
  });
});

describe('egress policy (SSRF)', () => {
  const resolver =
    (table: Record<string, string[]>) =>
    async (host: string): Promise<string[]> =>
      table[host] ?? [];

  it('refuses loopback, link-local metadata and names resolving to them by default', async () => {
    const policy = new EgressPolicy({ allow: [], deny: DEFAULT_EGRESS_DENY });
    const dns = resolver({
      'sneaky.example.com': ['93.184.216.34', '169.254.169.254'],
      'logs.example.com': ['93.184.216.34'],
    });
    for (const url of [
      'http://127.0.0.1:9200',
      'http://localhost:8080/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:80',
      'http://[::ffff:127.0.0.1]/',
      'http://0.0.0.0:1',
    ]) {
      const verdict = await policy.check(url, dns);
      assert.equal(verdict.allowed, false, url);
    }
    const sneaky = await policy.check('https://sneaky.example.com/', dns);
    assert.deepEqual(sneaky, {
      allowed: false,
      reason: 'sneaky.example.com resolves to 169.254.169.254, which matches egress.deny entry 169.254.0.0/16',
    });
    assert.deepEqual(await policy.check('https://logs.example.com:8088/services/collector', dns), { allowed: true });
    assert.deepEqual(await policy.check('https://user:pw@logs.example.com/', dns), {
      allowed: false,
      reason: 'carries credentials in the URL; give them as settings instead',
    });
  });

  it('with an allow list, only what it names; deny still wins', async () => {
    const policy = new EgressPolicy({
      allow: ['10.20.0.0/16', '*.logs.corp'],
      deny: [...DEFAULT_EGRESS_DENY, 'bad.logs.corp'],
    });
    const dns = resolver({
      'es.logs.corp': ['10.99.0.1'],
      'elsewhere.example': ['10.20.3.4'],
      'other.example': ['203.0.113.9'],
    });
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

describe('cni-kube-router', () => {
  const daemonSet = (
    objects: KubernetesObject[],
  ): {
    metadata: { namespace?: string; name: string };
    spec: {
      template: {
        spec: {
          hostNetwork: boolean;
          tolerations: unknown[];
          serviceAccountName: string;
          initContainers: Array<{ name: string; image: string; command: string[] }>;
          containers: Array<{ name: string; image: string; args: string[] }>;
        };
      };
    };
  } => objects.find((o) => o.kind === 'DaemonSet') as never;

  it("runs the pinned kube-router image in kube-system, as upstream's kubeadm manifest, on every node", () => {
    const objects = rendered('cni-kube-router');
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
      [
        'ConfigMap/kube-system/kube-router-cfg',
        'ServiceAccount/kube-system/kube-router',
        'ClusterRole//kube-router',
        'ClusterRoleBinding//kube-router',
        'DaemonSet/kube-system/kube-router',
      ],
      'what the pod runs as and reads is applied before the DaemonSet',
    );
    const ds = daemonSet(objects);
    assert.deepEqual(images(objects), [
      'docker.io/cloudnativelabs/kube-router:v2.11.1',
      'docker.io/cloudnativelabs/kube-router:v2.11.1',
    ]);
    assert.equal(findAddon('cni-kube-router')!.version, 'v2.11.1');
    const pod = ds.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'kube-router');
    assert.equal(pod.hostNetwork, true);
    assert.ok(
      pod.tolerations.some((t) => JSON.stringify(t) === JSON.stringify({ effect: 'NoSchedule', operator: 'Exists' })),
      'runs on NotReady nodes: they wait for it',
    );
    assert.deepEqual(addonWorkloads(objects), [{ kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-router' }]);
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding')!;
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'kube-router', namespace: 'kube-system' }]);
    const rules = objects.find((o) => o.kind === 'ClusterRole')!['rules'] as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }>;
    assert.ok(
      rules.some(
        (r) =>
          r.apiGroups.includes('networking.k8s.io') &&
          r.resources.includes('networkpolicies') &&
          r.verbs.includes('watch'),
      ),
      'it reads NetworkPolicies to enforce them',
    );
  });

  it('writes the bridge CNI configuration, which the init container installs as 10-kuberouter.conflist', () => {
    const objects = rendered('cni-kube-router');
    const conf = JSON.parse(
      (
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-router-cfg')!['data'] as Record<
          string,
          string
        >
      )['cni-conf.json']!,
    ) as unknown;
    assert.deepEqual(conf, {
      cniVersion: '0.3.0',
      name: 'mynet',
      plugins: [
        {
          name: 'kubernetes',
          type: 'bridge',
          bridge: 'kube-bridge',
          isDefaultGateway: true,
          ipam: { type: 'host-local' },
        },
      ],
    });
    const init = daemonSet(objects).spec.template.spec.initContainers;
    assert.deepEqual(
      init.map((c) => c.name),
      ['install-cni'],
    );
    assert.match(
      init[0]!.command.join(' '),
      /cp \/etc\/kube-router\/cni-conf\.json \$\{TMP\}; mv \$\{TMP\} \/etc\/cni\/net\.d\/10-kuberouter\.conflist;/,
    );
  });

  it('routes pods and enforces NetworkPolicies by default, never proxies services; networkPolicy: false turns the firewall off', () => {
    const args = (settings?: Record<string, unknown>): string[] =>
      daemonSet(rendered('cni-kube-router', settings)).spec.template.spec.containers[0]!.args;
    assert.deepEqual(args(), [
      '--run-router=true',
      '--run-firewall=true',
      '--run-service-proxy=false',
      '--bgp-graceful-restart=true',
    ]);
    assert.deepEqual(args({ networkPolicy: false }), [
      '--run-router=true',
      '--run-firewall=false',
      '--run-service-proxy=false',
      '--bgp-graceful-restart=true',
    ]);
    const bad = checkAddonSettings(findAddon('cni-kube-router')!, { networkPolicy: 'yes', serviceProxy: true });
    assert.deepEqual(!bad.ok && bad.errors.map((e) => e.field).sort(), [
      'body.settings.networkPolicy',
      'body.settings.serviceProxy',
    ]);
  });

  it('is a pod network: one of the cluster, like cni-flannel', () => {
    assert.equal(findAddon('cni-kube-router')!.stage, 'network');
    assert.equal(isNetworkAddon('cni-kube-router'), true);
  });
});

describe('local-path-storage', () => {
  const storageClassOf = (objects: KubernetesObject[]): KubernetesObject =>
    objects.find((o) => o.kind === 'StorageClass')!;
  const configOf = (objects: KubernetesObject[]): Record<string, string> =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'local-path-config')!['data'] as Record<
      string,
      string
    >;

  it("runs the pinned provisioner, its helper pods on a pinned busybox, with upstream's RBAC", () => {
    const objects = rendered('local-path-storage');
    assert.equal(findAddon('local-path-storage')!.version, 'v0.0.37');
    assert.deepEqual(images(objects), ['docker.io/rancher/local-path-provisioner:v0.0.37']);
    assert.deepEqual(addonWorkloads(objects), [
      { kind: 'Deployment', namespace: 'local-path-storage', name: 'local-path-provisioner' },
    ]);
    assert.equal(objects[0]!.kind, 'Namespace', 'the namespace is applied first');
    assert.equal(
      objects[0]!.metadata.labels?.['pod-security.kubernetes.io/enforce'],
      'privileged',
      'helper pods mount the host path',
    );
    assert.match(
      configOf(objects)['helperPod.yaml']!,
      /^ {4}image: docker\.io\/library\/busybox:1\.37\.0$/m,
      'the helper pod image is pinned too',
    );
    const pod = (
      objects.find((o) => o.kind === 'Deployment')!['spec'] as {
        template: { spec: { serviceAccountName: string; containers: Array<{ command: string[] }> } };
      }
    ).template.spec;
    assert.equal(pod.serviceAccountName, 'local-path-provisioner-service-account');
    assert.deepEqual(pod.containers[0]!.command, [
      'local-path-provisioner',
      '--debug',
      'start',
      '--config',
      '/etc/config/config.json',
    ]);
    const bindings = objects
      .filter((o) => o.kind.endsWith('Binding'))
      .map(
        (o) =>
          `${o.kind} ${(o['roleRef'] as { kind: string; name: string }).kind}/${(o['roleRef'] as { name: string }).name}`,
      );
    assert.deepEqual(bindings, [
      'RoleBinding Role/local-path-provisioner-role',
      'ClusterRoleBinding ClusterRole/local-path-provisioner-role',
    ]);
    const rules = objects.find((o) => o.kind === 'ClusterRole')!['rules'] as Array<{
      resources: string[];
      verbs: string[];
    }>;
    assert.ok(
      rules.some(
        (r) => r.resources.includes('persistentvolumes') && r.verbs.includes('create') && r.verbs.includes('delete'),
      ),
      'it makes and deletes volumes',
    );
  });

  it('by default: the default StorageClass local-path, bound at first consumer, volumes under /opt/local-path-provisioner, deleted with their claim', () => {
    const objects = rendered('local-path-storage');
    const sc = storageClassOf(objects);
    assert.equal(sc.metadata.name, 'local-path');
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.deepEqual(
      [sc['provisioner'], sc['volumeBindingMode'], sc['reclaimPolicy']],
      ['rancher.io/local-path', 'WaitForFirstConsumer', 'Delete'],
    );
    assert.deepEqual(JSON.parse(configOf(objects)['config.json']!), {
      nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/opt/local-path-provisioner'] }],
    });
    assert.match(configOf(objects)['setup']!, /mkdir -m 0777 -p "\$VOL_DIR"/);
    assert.match(configOf(objects)['teardown']!, /rm -rf "\$VOL_DIR"/);
  });

  it('settings change the host path, the default annotation and the reclaim policy', () => {
    const objects = rendered('local-path-storage', { path: '/srv/volumes', default: false, reclaimPolicy: 'Retain' });
    const sc = storageClassOf(objects);
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'false');
    assert.equal(sc['reclaimPolicy'], 'Retain');
    assert.deepEqual(
      (JSON.parse(configOf(objects)['config.json']!) as { nodePathMap: Array<{ paths: string[] }> }).nodePathMap[0]!
        .paths,
      ['/srv/volumes'],
    );
  });

  it('refuses a relative path, the root, a `..` segment, an unknown reclaim policy or setting; serves any provider with an API', () => {
    const addon = findAddon('local-path-storage')!;
    for (const path of ['srv/volumes', '/', '/srv/../etc', '/srv/volumes/', '/srv/a b', '']) {
      const check = checkAddonSettings(addon, { path });
      assert.deepEqual(!check.ok && check.errors.map((e) => e.field), ['body.settings.path'], path);
    }
    const bad = checkAddonSettings(addon, { default: 'yes', reclaimPolicy: 'Recycle', name: 'x' });
    assert.deepEqual(!bad.ok && bad.errors.map((e) => e.field).sort(), [
      'body.settings.default',
      'body.settings.name',
      'body.settings.reclaimPolicy',
    ]);
    assert.deepEqual(checkAddonSettings(addon, undefined), {
      ok: true,
      settings: { path: '/opt/local-path-provisioner', default: true, reclaimPolicy: 'Delete' },
    });
    assert.equal(
      addon.unsupported,
      undefined,
      'baremetal, kwok, vsphere, openstack: whatever has a Kubernetes API (sim clusters have none and are refused for every addon)',
    );
  });
});
