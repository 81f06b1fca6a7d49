/**
 * Cluster addons through the public API, on a single-node cluster of the kwok runtime (real
 * kube-apiserver, controller manager and scheduler; kwok plays the kubelet, so pods run without
 * pulling images): ingress-nginx, monitoring, the dashboard, KubeVirt (a CRD and its custom
 * resource), flannel and kube-router (one pod network at a time) and local-path-storage (a default
 * StorageClass) are installed and removed, and what cx applied is read back with kubectl; bad
 * requests are refused with nothing stored and no workflow started.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { createCluster, kubernetesPeer, startKwokCx } from '../support/kwok.js';

const run = promisify(execFile);

describe('cluster addons: install and remove ingress-nginx, monitoring, dashboard, kubevirt, cni-flannel, cni-kube-router and local-path-storage', () => {
  const work = tempDir('addons-e2e');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let kubeconfig = '';
  let kubectl = 'kubectl';

  const k = async (...args: string[]): Promise<string> =>
    (await run(kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  /** The object as JSON, or null when it does not exist. */
  const get = async (...args: string[]): Promise<any> => {
    const out = await k('get', ...args, '-o', 'json', '--ignore-not-found', '--show-managed-fields');
    return out.trim() ? JSON.parse(out) : null;
  };
  const addons = async (): Promise<any[]> => {
    const answer = await admin.call('GET', `/api/v1/clusters/${clusterId}/addons`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.items;
  };
  const cluster = async (): Promise<any> => (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
  const succeeded = async (answer: { status: number; body: any }, timeoutMs = 120_000): Promise<void> => {
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const done = await admin.waitForWorkflow(answer.body.workflow.id, ['Succeeded', 'Failed'], timeoutMs);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
  };

  before(async () => {
    const peer = kubernetesPeer();
    kubectl = peer.kubectl;
    cx = await startKwokCx(peer, work);
    admin = await Api.login(cx.base);
    ({ clusterId, kubeconfig } = await createCluster(admin, work, {
      name: 'addons',
      provider: 'kwok',
      kubernetesVersion: peer.versions.at(-1),
      controlPlane: { count: 1, schedulable: true },
      nodePools: [],
    }));
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('lists the catalog with pinned versions and settings schemas', async () => {
    const catalog = await admin.call('GET', '/api/v1/addons');
    assert.equal(catalog.status, 200);
    const byName = new Map((catalog.body.items as any[]).map((a) => [a.name, a]));
    assert.equal(byName.get('ingress-nginx')?.version, 'v1.12.1');
    assert.equal(byName.get('monitoring')?.version, 'v3.2.1');
    assert.equal(byName.get('metrics-server')?.version, 'v0.7.2');
    assert.deepEqual(byName.get('log-forwarding')?.settingsSchema.properties.type.enum, [
      'elasticsearch',
      'splunk-hec',
      'http',
    ]);
  });

  it('refuses an unknown addon, bad settings and a refused endpoint, storing nothing and starting no workflow', async () => {
    const unknown = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/nope`, {});
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /no addon nope in the catalog/);
    const bad = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/ingress-nginx`, {
      settings: { replicas: 0, serviceType: 'ClusterIP', colour: 'blue' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'CX_INPUT_INVALID');
    assert.deepEqual(
      bad.body.fields.map((f: { field: string }) => f.field).sort(),
      ['body.settings.colour', 'body.settings.replicas', 'body.settings.serviceType'],
      'every error listed',
    );
    const metadata = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/log-forwarding`, {
      settings: { type: 'http', url: 'http://169.254.169.254/latest/meta-data' },
    });
    assert.equal(metadata.status, 422, JSON.stringify(metadata.body));
    assert.equal(metadata.body.code, 'CX_ENDPOINT_NOT_ALLOWED');
    assert.equal(metadata.body.fields[0].field, 'body.settings.url');
    const storage = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/storage-class`, {});
    assert.equal(storage.status, 400, 'kwok has no block storage');
    assert.deepEqual(await addons(), []);
    const now = await cluster();
    assert.equal(now.status, 'Ready');
    assert.equal(now.activeWorkflowId, null);
    assert.equal(await get('namespace', 'cx-logging'), null, 'nothing reached the cluster');
  });

  it('installs ingress-nginx with server-side apply; a second install while it runs is refused (409)', async () => {
    const install = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/ingress-nginx`, {
      settings: { serviceType: 'NodePort' },
    });
    assert.equal(install.status, 202, JSON.stringify(install.body));
    assert.equal(install.body.addon.status, 'Installing');
    const busy = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/monitoring`, {});
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'CX_CLUSTER_BUSY');
    assert.deepEqual(
      (await addons()).map((a) => a.name),
      ['ingress-nginx'],
      'the refused install stored nothing',
    );
    await succeeded(install);

    const ingressClass = await get('ingressclass', 'nginx');
    assert.ok(ingressClass, 'IngressClass nginx exists');
    assert.equal(ingressClass.spec.controller, 'k8s.io/ingress-nginx');
    assert.equal(ingressClass.metadata.labels['cx.dev/addon'], 'ingress-nginx');
    assert.equal(ingressClass.metadata.labels['app.kubernetes.io/managed-by'], 'cx');
    assert.ok(
      ingressClass.metadata.managedFields.some(
        (f: { manager: string; operation: string }) => f.manager === 'cx' && f.operation === 'Apply',
      ),
      'applied server-side by field manager cx',
    );
    const deployment = await get('deployment', '-n', 'ingress-nginx', 'ingress-nginx-controller');
    assert.equal(deployment.spec.template.spec.containers[0].image, 'registry.k8s.io/ingress-nginx/controller:v1.12.1');
    assert.equal(deployment.status.readyReplicas, 1, 'installed means ready');
    assert.equal((await get('service', '-n', 'ingress-nginx', 'ingress-nginx-controller')).spec.type, 'NodePort');
    const [installed] = await addons();
    assert.equal(installed.status, 'Installed');
    assert.equal(installed.version, 'v1.12.1');
    assert.equal(installed.settings.serviceType, 'NodePort');
    assert.ok(installed.installedAt);
    assert.equal((await cluster()).status, 'Ready');
  });

  it('installs monitoring: Prometheus and node-exporter, with their RBAC', async () => {
    await succeeded(
      await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/monitoring`, { settings: { retention: '2d' } }),
    );
    const prometheus = await get('deployment', '-n', 'cx-monitoring', 'prometheus');
    assert.equal(prometheus.spec.template.spec.containers[0].image, 'quay.io/prometheus/prometheus:v3.2.1');
    assert.ok(prometheus.spec.template.spec.containers[0].args.includes('--storage.tsdb.retention.time=2d'));
    const exporter = await get('daemonset', '-n', 'cx-monitoring', 'node-exporter');
    assert.equal(exporter.status.numberReady, 1, 'one node, one ready node-exporter');
    assert.ok(await get('clusterrolebinding', 'cx-monitoring-prometheus'));
    assert.deepEqual(
      (await addons()).map((a) => `${a.name} ${a.status}`),
      ['ingress-nginx Installed', 'monitoring Installed'],
    );
  });

  it('gives each user a dashboard link and a one-hour token of their own role, which removing the addon revokes', async () => {
    const none = await admin.call('GET', `/api/v1/clusters/${clusterId}/dashboard`);
    assert.equal(none.status, 409, JSON.stringify(none.body));
    assert.match(none.body.detail, /addons\/dashboard/);
    await succeeded(await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/dashboard`, {}));
    assert.ok(await get('deployment', '-n', 'kubernetes-dashboard', 'kubernetes-dashboard'));
    // A viewer of this cluster only.
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'dash-viewer', password: 'dash-viewer-pw-1' })).status,
      201,
    );
    assert.equal(
      (
        await admin.call('POST', '/api/v1/grants', {
          subject: { kind: 'user', name: 'dash-viewer' },
          object: { kind: 'cluster', id: clusterId },
          role: 'viewer',
        })
      ).status,
      201,
    );
    const viewer = await Api.login(cx.base, 'dash-viewer', 'dash-viewer-pw-1');
    const access = await viewer.call('GET', `/api/v1/clusters/${clusterId}/dashboard`);
    assert.equal(access.status, 200, JSON.stringify(access.body));
    assert.equal(access.headers.get('cache-control'), 'no-store');
    assert.equal(access.body.role, 'viewer');
    assert.match(
      access.body.url,
      /^https:\/\/.+\/api\/v1\/namespaces\/kubernetes-dashboard\/services\/https:kubernetes-dashboard:\/proxy\/$/,
    );
    const lifetime = Date.parse(access.body.expiresAt) - Date.now();
    assert.ok(lifetime > 50 * 60_000 && lifetime <= 3_600_000, `the token lives about an hour (${lifetime} ms)`);
    // What the token can do, asked of the real API server with the token alone.
    const server = (await k('config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.server}')).trim();
    const ca = join(work, 'ca.pem');
    writeFileSync(
      ca,
      Buffer.from(
        (await k('config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}')).trim(),
        'base64',
      ),
    );
    // An empty kubeconfig: the token alone authenticates (with the admin's certificate the union authenticator would pick that).
    writeFileSync(join(work, 'none'), 'apiVersion: v1\nkind: Config\n');
    const canI = async (token: string, ...args: string[]): Promise<string> => {
      try {
        return (
          await run(
            kubectl,
            [
              '--kubeconfig',
              join(work, 'none'),
              '--server',
              server,
              '--certificate-authority',
              ca,
              '--token',
              token,
              'auth',
              'can-i',
              ...args,
            ],
            { encoding: 'utf8' },
          )
        ).stdout.trim();
      } catch (error) {
        return (
          (error as { stdout?: string; stderr?: string }).stdout ||
          (error as { stderr?: string }).stderr ||
          ''
        ).trim();
      }
    };
    assert.equal(await canI(access.body.token, 'list', 'pods', '-A'), 'yes');
    assert.equal(await canI(access.body.token, 'create', 'namespaces'), 'no');
    const adminAccess = (await admin.call('GET', `/api/v1/clusters/${clusterId}/dashboard`)).body;
    assert.equal(adminAccess.role, 'admin');
    assert.equal(await canI(adminAccess.token, 'create', 'namespaces'), 'yes');
    // Someone without a grant on the cluster gets nothing.
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'dash-nobody', password: 'dash-nobody-pw-1' })).status,
      201,
    );
    assert.equal(
      (
        await (
          await Api.login(cx.base, 'dash-nobody', 'dash-nobody-pw-1')
        ).call('GET', `/api/v1/clusters/${clusterId}/dashboard`)
      ).status,
      404,
    );
    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/dashboard`));
    assert.equal(await get('namespace', 'kubernetes-dashboard'), null);
    // Its account and binding are gone: depending on the API server's caches the token is refused outright or grants nothing.
    const after = await canI(access.body.token, 'list', 'pods', '-A');
    assert.ok(
      after === 'no' || /Unauthorized|must be logged in/i.test(after),
      `the token no longer grants anything: ${after}`,
    );
  });

  it('installs kubevirt: its CRD, then the KubeVirt resource it serves, and the operator; removal deletes the resource first, the operator once it is gone', async () => {
    await succeeded(
      await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/kubevirt`, {
        settings: { useEmulation: true, featureGates: ['Snapshot'] },
      }),
    );
    const crd = await get('crd', 'kubevirts.kubevirt.io');
    assert.ok(crd, 'the CRD exists');
    assert.ok(
      crd.status.conditions.some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      ),
    );
    const kv = await get('kubevirt', '-n', 'kubevirt', 'kubevirt');
    assert.ok(kv, 'the KubeVirt resource exists: accepted right after its CRD');
    assert.deepEqual(kv.spec.configuration.developerConfiguration, { featureGates: ['Snapshot'], useEmulation: true });
    assert.equal(kv.metadata.labels['cx.dev/addon'], 'kubevirt');
    const operator = await get('deployment', '-n', 'kubevirt', 'virt-operator');
    assert.equal(operator.spec.template.spec.containers[0].image, 'quay.io/kubevirt/virt-operator:v1.4.1');
    assert.equal(
      operator.status.readyReplicas,
      2,
      'installed means the operator is ready (kwok runs no container, so virt-api and the rest never appear)',
    );
    assert.ok(await get('clusterrolebinding', 'kubevirt-operator'));

    // kwok runs no operator: kubectl plays it. A real virt-operator puts this finalizer on the
    // resource, and clears it once it has removed what it deployed from it.
    const finalizer = 'kubevirt.io/virtOperatorFinalize';
    await k(
      'patch',
      'kubevirt',
      '-n',
      'kubevirt',
      'kubevirt',
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers: [finalizer] } }),
    );
    const removal = await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/kubevirt`);
    assert.equal(removal.status, 202, JSON.stringify(removal.body));
    const workflowId = removal.body.workflow.id as string;
    const waitingStep = async (): Promise<any> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const run = (await admin.call('GET', `/api/v1/workflows/${workflowId}`)).body;
        const step = run.steps.find((s: { name: string }) => s.name === 'delete-first');
        if (step?.status === 'Running' && /waiting for its finalizers/.test(step.message ?? '')) return { run, step };
        assert.ok(
          !['Succeeded', 'Failed', 'Cancelled'].includes(run.status) && Date.now() < deadline,
          `the removal waits for the KubeVirt resource: ${JSON.stringify(run.steps)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const { run: waiting, step } = await waitingStep();
    assert.equal(
      step.message,
      `waiting until these are gone before deleting the rest of addon kubevirt: KubeVirt kubevirt/kubevirt: waiting for its finalizers (${finalizer})`,
    );
    assert.deepEqual(
      waiting.steps.map((s: { name: string; status: string }) => `${s.name} ${s.status}`),
      ['delete-first Running', 'delete-objects Pending', 'wait-gone Pending'],
    );
    const held = await get('kubevirt', '-n', 'kubevirt', 'kubevirt');
    assert.ok(held?.metadata.deletionTimestamp, 'the KubeVirt resource is being deleted');
    assert.ok(
      await get('deployment', '-n', 'kubevirt', 'virt-operator'),
      'the operator still runs while its resource is being finalized',
    );
    assert.ok(await get('crd', 'kubevirts.kubevirt.io'));
    assert.equal((await addons()).find((a) => a.name === 'kubevirt')?.status, 'Removing');
    // Some polls later it is still waiting, and still has deleted nothing else.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal((await admin.call('GET', `/api/v1/workflows/${workflowId}`)).body.status, 'Running');
    assert.ok(
      await get('deployment', '-n', 'kubevirt', 'virt-operator'),
      'the operator is kept until the resource is gone',
    );
    assert.ok(await get('clusterrolebinding', 'kubevirt-operator'));

    // The operator is done: it clears its finalizer, the resource goes, and so does the rest.
    await k(
      'patch',
      'kubevirt',
      '-n',
      'kubevirt',
      'kubevirt',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }]),
    );
    const finished = await admin.waitForWorkflow(workflowId, ['Succeeded', 'Failed'], 120_000);
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished.steps));
    assert.equal(
      await get('crd', 'kubevirts.kubevirt.io'),
      null,
      'the CRD is gone, and with it every KubeVirt resource',
    );
    assert.equal(await get('namespace', 'kubevirt'), null);
    assert.equal(await get('clusterrole', 'kubevirt-operator'), null);
    assert.equal(await get('priorityclass', 'kubevirt-cluster-critical'), null);
    assert.ok(!(await addons()).some((a) => a.name === 'kubevirt'));
  });

  it('installs cni-flannel; refuses a second pod network (cni-kube-router) while it is there; installs and removes kube-router once flannel is gone', async () => {
    await succeeded(await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/cni-flannel`, {}));
    const daemonSet = await get('daemonset', '-n', 'kube-flannel', 'kube-flannel-ds');
    assert.ok(daemonSet, 'the DaemonSet exists');
    assert.deepEqual(
      daemonSet.spec.template.spec.initContainers.map((c: { image: string }) => c.image),
      ['ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1', 'ghcr.io/flannel-io/flannel:v0.26.7'],
    );
    assert.equal(daemonSet.status.numberReady, 1);
    assert.equal(
      JSON.parse((await get('configmap', '-n', 'kube-flannel', 'kube-flannel-cfg')).data['net-conf.json']).Network,
      '10.244.0.0/16',
    );
    const [flannel] = (await addons()).filter((a) => a.name === 'cni-flannel');
    assert.equal(flannel.status, 'Installed');

    // One CNI per cluster: two would both write the nodes' CNI configuration.
    const second = await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/cni-kube-router`, {});
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.match(second.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(second.body.code, 'CX_CONFLICT');
    assert.match(
      second.body.detail,
      /already has the pod network addon cni-flannel \(Installed\).*remove cni-flannel first/,
    );
    assert.equal(
      await get('daemonset', '-n', 'kube-system', 'kube-router'),
      null,
      'nothing of kube-router reached the cluster',
    );
    assert.equal(await get('configmap', '-n', 'kube-system', 'kube-router-cfg'), null);
    assert.equal(await get('clusterrole', 'kube-router'), null);
    assert.ok(!(await addons()).some((a) => a.name === 'cni-kube-router'), 'the refused install stored nothing');
    assert.equal((await cluster()).activeWorkflowId, null, 'and started no workflow');

    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/cni-flannel`));
    assert.equal(await get('namespace', 'kube-flannel'), null);
    assert.equal(await get('clusterrole', 'flannel'), null);

    await succeeded(await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/cni-kube-router`, {}));
    const router = await get('daemonset', '-n', 'kube-system', 'kube-router');
    assert.ok(router, 'the DaemonSet exists once flannel is gone');
    assert.deepEqual(
      [...router.spec.template.spec.initContainers, ...router.spec.template.spec.containers].map(
        (c: { image: string }) => c.image,
      ),
      ['docker.io/cloudnativelabs/kube-router:v2.11.1', 'docker.io/cloudnativelabs/kube-router:v2.11.1'],
    );
    assert.deepEqual(
      router.spec.template.spec.containers[0].args,
      ['--run-router=true', '--run-firewall=true', '--run-service-proxy=false', '--bgp-graceful-restart=true'],
      'pod routing and network policy, no service proxy',
    );
    assert.equal(router.status.numberReady, 1);
    assert.equal(router.metadata.labels['cx.dev/addon'], 'cni-kube-router');
    assert.equal(
      JSON.parse((await get('configmap', '-n', 'kube-system', 'kube-router-cfg')).data['cni-conf.json']).plugins[0]
        .bridge,
      'kube-bridge',
    );
    assert.ok(await get('clusterrolebinding', 'kube-router'));
    const [kubeRouter] = (await addons()).filter((a) => a.name === 'cni-kube-router');
    assert.equal(`${kubeRouter.status} ${kubeRouter.version}`, 'Installed v2.11.1');
    assert.ok(!(await addons()).some((a) => a.name === 'cni-flannel'));

    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/cni-kube-router`));
    assert.equal(await get('daemonset', '-n', 'kube-system', 'kube-router'), null);
    assert.equal(await get('configmap', '-n', 'kube-system', 'kube-router-cfg'), null);
    assert.equal(await get('serviceaccount', '-n', 'kube-system', 'kube-router'), null);
    assert.equal(await get('clusterrole', 'kube-router'), null);
    assert.equal(await get('clusterrolebinding', 'kube-router'), null);
    assert.ok(
      await get('namespace', 'kube-system'),
      'removal deletes what the addon made, not the namespace it lives in',
    );
    assert.ok(!(await addons()).some((a) => a.name === 'cni-kube-router'));
  });

  it('installs local-path-storage: the default StorageClass local-path, volumes under the host path it is given; removes it', async () => {
    await succeeded(
      await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/local-path-storage`, {
        settings: { path: '/var/lib/cx-volumes', reclaimPolicy: 'Retain' },
      }),
    );
    const sc = await get('storageclass', 'local-path');
    assert.ok(sc, 'the StorageClass exists');
    assert.deepEqual(
      [sc.provisioner, sc.volumeBindingMode, sc.reclaimPolicy],
      ['rancher.io/local-path', 'WaitForFirstConsumer', 'Retain'],
    );
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(sc.metadata.labels['cx.dev/addon'], 'local-path-storage');
    const config = JSON.parse(
      (await get('configmap', '-n', 'local-path-storage', 'local-path-config')).data['config.json'],
    );
    assert.deepEqual(config.nodePathMap, [
      { node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/var/lib/cx-volumes'] },
    ]);
    const provisioner = await get('deployment', '-n', 'local-path-storage', 'local-path-provisioner');
    assert.equal(
      provisioner.spec.template.spec.containers[0].image,
      'docker.io/rancher/local-path-provisioner:v0.0.37',
    );
    assert.equal(provisioner.status.readyReplicas, 1);
    assert.ok(await get('clusterrolebinding', 'local-path-provisioner-bind'));
    assert.ok(await get('rolebinding', '-n', 'local-path-storage', 'local-path-provisioner-bind'));
    const [installed] = (await addons()).filter((a) => a.name === 'local-path-storage');
    assert.equal(`${installed.status} ${installed.version}`, 'Installed v0.0.37');
    assert.deepEqual(installed.settings, { path: '/var/lib/cx-volumes', default: true, reclaimPolicy: 'Retain' });

    // The default class: a claim that names none gets local-path, and waits for its first pod (kwok runs no provisioner).
    const claim = join(work, 'claim.json');
    writeFileSync(
      claim,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: 'default' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }),
    );
    await k('create', '-f', claim);
    const pvc = await get('pvc', '-n', 'default', 'data');
    assert.equal(pvc.spec.storageClassName, 'local-path', 'the API server gave the claim the default class');
    assert.equal(pvc.status.phase, 'Pending');
    await k('delete', 'pvc', '-n', 'default', 'data', '--wait=true');

    // Installed again without being the default: the annotation changes in place.
    await succeeded(
      await admin.call('PUT', `/api/v1/clusters/${clusterId}/addons/local-path-storage`, {
        settings: { path: '/var/lib/cx-volumes', reclaimPolicy: 'Retain', default: false },
      }),
    );
    assert.equal(
      (await get('storageclass', 'local-path')).metadata.annotations['storageclass.kubernetes.io/is-default-class'],
      'false',
    );

    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/local-path-storage`));
    assert.equal(await get('storageclass', 'local-path'), null);
    assert.equal(await get('namespace', 'local-path-storage'), null);
    assert.equal(await get('clusterrole', 'local-path-provisioner-role'), null);
    assert.equal(await get('clusterrolebinding', 'local-path-provisioner-bind'), null);
    assert.ok(!(await addons()).some((a) => a.name === 'local-path-storage'));
  });

  it('removes both: every object labelled with the addon is gone, and so is the addon', async () => {
    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/ingress-nginx`));
    assert.equal(await get('ingressclass', 'nginx'), null);
    assert.equal(await get('clusterrole', 'ingress-nginx'), null);
    assert.equal(await get('namespace', 'ingress-nginx'), null);
    assert.ok(await get('deployment', '-n', 'cx-monitoring', 'prometheus'), 'the other addon stays');
    await succeeded(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/monitoring`));
    assert.equal(await get('namespace', 'cx-monitoring'), null);
    assert.equal(await get('clusterrolebinding', 'cx-monitoring-prometheus'), null);
    const left = await k(
      'get',
      'clusterroles,clusterrolebindings,namespaces',
      '-l',
      'app.kubernetes.io/managed-by=cx,cx.dev/addon',
      '-o',
      'name',
    );
    assert.equal(left.trim(), '', 'nothing labelled with an addon is left');
    assert.deepEqual(await addons(), []);
    const again = await admin.call('DELETE', `/api/v1/clusters/${clusterId}/addons/monitoring`);
    assert.equal(again.status, 404);
    assert.equal((await cluster()).status, 'Ready');
  });
});
