/**
 * Cluster templates through the public API, on the kwok runtime (real kube-apiserver, controller
 * manager and scheduler; kwok plays the kubelets): an admin keeps a template (kwok, one control
 * plane, a worker pool, metrics-server), a user of a resource group creates a cluster from it with
 * overrides, and the cluster comes up Ready with the template's addon installed — read back from
 * the tenant cluster with kubectl. A request without a template names its own addons, installed
 * the same way; with a template they are added to its addons (the request's entry wins for an addon
 * both name). Bad requests are refused with nothing stored.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';
import { kubernetesPeer, startKwokCx } from '../support/kwok.js';

const run = promisify(execFile);

describe('cluster templates: presets and addons for new clusters', () => {
  const work = tempDir('templates-e2e');
  let cx: CxProcess;
  let admin: Api;
  let user: Api;
  let version = '';
  let kubectl = 'kubectl';
  let templateId = '';

  const templates = async (): Promise<any[]> => (await user.call('GET', '/api/v1/cluster-templates')).body.items;
  const clusterNames = async (): Promise<string[]> =>
    ((await admin.call('GET', '/api/v1/clusters')).body.items as any[]).map((c) => c.name).sort();

  before(async () => {
    const peer = kubernetesPeer();
    kubectl = peer.kubectl;
    version = peer.versions.at(-1)!;
    cx = await startKwokCx(peer, work);
    admin = await Api.login(cx.base);
    assert.equal((await admin.call('POST', '/api/v1/resource-groups', { name: 'team' })).status, 201);
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'tpl-user', password: 'tpl-user-pw-1' })).status,
      201,
    );
    assert.equal(
      (
        await admin.call('POST', '/api/v1/grants', {
          subject: { kind: 'user', name: 'tpl-user' },
          object: { kind: 'resource-group', id: 'team' },
          role: 'operator',
        })
      ).status,
      201,
    );
    user = await Api.login(cx.base, 'tpl-user', 'tpl-user-pw-1');
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('an admin creates a template; every signed-in user lists and reads it', async () => {
    const created = await admin.call('POST', '/api/v1/cluster-templates', {
      name: 'kwok-small',
      description: 'One control plane, one worker, resource metrics',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
      health: { unhealthyTimeoutSeconds: 120 },
      addons: [{ name: 'metrics-server' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    templateId = created.body.id;
    assert.equal(created.body.version, 1);
    assert.equal(created.body.createdBy, 'admin');
    assert.deepEqual(created.body.addons, [{ name: 'metrics-server', settings: {}, secretSettings: [] }]);
    assert.deepEqual(
      (await templates()).map((t) => t.name),
      ['kwok-small'],
    );
    const read = await user.call('GET', '/api/v1/cluster-templates/kwok-small');
    assert.equal(read.status, 200);
    assert.equal(read.body.id, templateId, 'by name as by id');
    assert.equal(read.body.nodePools[0].count, 1);
  });

  it('keeps secret addon settings sealed (never answered) and checks endpoints against the egress policy', async () => {
    const logs = await admin.call('POST', '/api/v1/cluster-templates', {
      name: 'logs',
      addons: [
        {
          name: 'log-forwarding',
          settings: { type: 'splunk-hec', url: 'https://192.0.2.10:8088', token: 'hec-token-1234' },
        },
      ],
    });
    assert.equal(logs.status, 201, JSON.stringify(logs.body));
    assert.deepEqual(logs.body.addons, [
      {
        name: 'log-forwarding',
        settings: { type: 'splunk-hec', url: 'https://192.0.2.10:8088' },
        secretSettings: ['token'],
      },
    ]);
    assert.doesNotMatch(
      JSON.stringify((await user.call('GET', '/api/v1/cluster-templates/logs')).body),
      /hec-token-1234/,
    );
    const metadata = await admin.call('PATCH', '/api/v1/cluster-templates/logs', {
      version: 1,
      addons: [{ name: 'log-forwarding', settings: { type: 'http', url: 'http://169.254.169.254/latest' } }],
    });
    assert.equal(metadata.status, 422, JSON.stringify(metadata.body));
    assert.equal(metadata.body.fields[0].field, 'body.addons.0.settings.url');
    assert.equal(
      (await user.call('GET', '/api/v1/cluster-templates/logs')).body.version,
      1,
      'the refused change changed nothing',
    );
    assert.equal((await admin.call('DELETE', '/api/v1/cluster-templates/logs')).status, 204);
  });

  it('refuses a non-admin, unknown addons and bad settings, changing nothing', async () => {
    const byUser = await user.call('POST', '/api/v1/cluster-templates', { name: 'mine', provider: 'kwok' });
    assert.equal(byUser.status, 403, JSON.stringify(byUser.body));
    assert.equal((await user.call('DELETE', `/api/v1/cluster-templates/${templateId}`)).status, 403);
    const bad = await admin.call('POST', '/api/v1/cluster-templates', {
      name: 'broken',
      addons: [{ name: 'metrics-server', settings: { replicas: 9 } }, { name: 'no-such-addon' }],
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.code, 'CX_INPUT_INVALID');
    assert.deepEqual(
      bad.body.fields.map((f: { field: string }) => f.field).sort(),
      ['body.addons.0.settings.replicas', 'body.addons.1.name'],
      'every error listed',
    );
    const noStorage = await admin.call('POST', '/api/v1/cluster-templates', {
      name: 'kwok-storage',
      provider: 'kwok',
      addons: [{ name: 'storage-class' }],
    });
    assert.equal(noStorage.status, 400, 'kwok has no block storage');
    assert.equal(noStorage.body.fields[0].field, 'body.addons.0.name');
    assert.deepEqual(
      (await templates()).map((t) => t.name),
      ['kwok-small'],
    );
  });

  it('changes a template against its current version only (409 for a stale one)', async () => {
    const changed = await admin.call('PATCH', `/api/v1/cluster-templates/${templateId}`, {
      version: 1,
      description: 'One control plane, resource metrics',
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.version, 2);
    const stale = await admin.call('PATCH', `/api/v1/cluster-templates/${templateId}`, {
      version: 1,
      kubernetesVersion: '1.0.0',
      unset: ['health'],
    });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(stale.body.code, 'CX_VERSION_CONFLICT');
    assert.equal(stale.body.version, 2, 'the answer names the current version');
    const now = (await user.call('GET', `/api/v1/cluster-templates/${templateId}`)).body;
    assert.equal(now.version, 2);
    assert.equal(now.kubernetesVersion, version);
    assert.equal(now.description, 'One control plane, resource metrics');
    assert.deepEqual(now.health, { unhealthyTimeoutSeconds: 120 });
  });

  it('refuses cluster requests a template cannot complete, storing nothing and starting nothing', async () => {
    const before = await clusterNames();
    const unknown = await user.call('POST', '/api/v1/clusters', {
      name: 'nope',
      template: 'no-such-template',
      resourceGroup: 'team',
    });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.fields[0].field, 'body.template');
    // A template without a provider: the completed request is validated like any other.
    assert.equal(
      (
        await admin.call('POST', '/api/v1/cluster-templates', {
          name: 'storage-only',
          addons: [{ name: 'storage-class' }],
        })
      ).status,
      201,
    );
    const incomplete = await user.call('POST', '/api/v1/clusters', {
      name: 'incomplete',
      template: 'storage-only',
      resourceGroup: 'team',
    });
    assert.equal(incomplete.status, 400, JSON.stringify(incomplete.body));
    assert.deepEqual(incomplete.body.fields.map((f: { field: string }) => f.field).sort(), [
      'body.controlPlane',
      'body.kubernetesVersion',
      'body.provider',
    ]);
    const unsuited = await user.call('POST', '/api/v1/clusters', {
      name: 'unsuited',
      template: 'storage-only',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      resourceGroup: 'team',
    });
    assert.equal(unsuited.status, 400, JSON.stringify(unsuited.body));
    assert.equal(unsuited.body.fields[0].field, 'body.template');
    assert.match(unsuited.body.fields[0].message, /storage-class.*kwok/);
    const badOverride = await user.call('POST', '/api/v1/clusters', {
      name: 'even',
      template: 'kwok-small',
      controlPlane: { count: 2 },
      resourceGroup: 'team',
    });
    assert.equal(badOverride.status, 400, 'an override is checked as in any request');
    assert.equal(badOverride.body.fields[0].field, 'body.controlPlane.count');
    assert.deepEqual(await clusterNames(), before);
  });

  it("refuses a request's own bad addons, each by its field, storing nothing and starting nothing", async () => {
    const before = await clusterNames();
    const runs = (await admin.call('GET', '/api/v1/workflows')).body.items.length;
    const own = {
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      resourceGroup: 'team',
    };
    const bad = await user.call('POST', '/api/v1/clusters', {
      name: 'bad-addons',
      ...own,
      addons: [
        { name: 'no-such-addon' },
        { name: 'metrics-server' },
        { name: 'metrics-server' },
        { name: 'storage-class' },
        { name: 'ingress-nginx', settings: { replicas: 0 } },
      ],
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.code, 'CX_INPUT_INVALID');
    assert.deepEqual(
      bad.body.fields.map((f: { field: string; message: string }) => f.field),
      ['body.addons.0.name', 'body.addons.2.name', 'body.addons.3.name', 'body.addons.4.settings.replicas'],
      'every error listed, each by its field',
    );
    assert.match(bad.body.fields[0].message, /not an addon of the catalog \(available: .*metrics-server/);
    assert.match(bad.body.fields[1].message, /listed twice/);
    assert.match(bad.body.fields[2].message, /storage-class.*kwok|kwok.*block-storage/);
    assert.match(bad.body.detail, /the cluster's addons cannot be installed/);
    // Two pod networks in one cluster.
    const networks = await user.call('POST', '/api/v1/clusters', {
      name: 'bad-addons',
      ...own,
      addons: [{ name: 'cni-flannel' }, { name: 'cni-kube-router' }],
    });
    assert.equal(networks.status, 400, JSON.stringify(networks.body));
    assert.equal(networks.body.fields[0].field, 'body.addons.1.name');
    assert.match(networks.body.fields[0].message, /second pod network/);
    // A provider whose clusters run no Kubernetes API takes no addon.
    const sim = await user.call('POST', '/api/v1/clusters', {
      name: 'bad-addons',
      ...own,
      provider: 'sim',
      kubernetesVersion: (await user.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'sim',
      ).kubernetesVersions[0],
      addons: [{ name: 'metrics-server' }],
    });
    assert.equal(sim.status, 400, JSON.stringify(sim.body));
    assert.equal(sim.body.fields[0].field, 'body.addons.0.name');
    assert.match(sim.body.fields[0].message, /no Kubernetes API/);
    // With a template, an addon both name is the request's: the refusal names the request's field, not the template.
    const storage = await user.call('POST', '/api/v1/clusters', {
      name: 'bad-addons',
      ...own,
      template: 'storage-only',
      addons: [{ name: 'storage-class' }],
    });
    assert.equal(storage.status, 400, JSON.stringify(storage.body));
    assert.deepEqual(
      storage.body.fields.map((f: { field: string }) => f.field),
      ['body.addons.0.name'],
    );
    assert.deepEqual(await clusterNames(), before, 'no cluster created');
    assert.equal((await admin.call('GET', '/api/v1/workflows')).body.items.length, runs, 'no workflow started');
  });

  it('a cluster created without a template installs the addons its request names, before it is Ready', async () => {
    const accepted = await user.call('POST', '/api/v1/clusters', {
      name: 'own-addons',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1, schedulable: true },
      resourceGroup: 'team',
      addons: [{ name: 'metrics-server', settings: { replicas: 1 } }],
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.cluster.template, null);
    const clusterId = accepted.body.cluster.id as string;
    const pending = (await user.call('GET', `/api/v1/clusters/${clusterId}/addons`)).body.items;
    assert.deepEqual(
      pending.map((a: any) => `${a.name} ${a.status}`),
      ['metrics-server Installing'],
      'recorded with the create',
    );
    const done = await user.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 300_000);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
    assert.deepEqual(done.steps.map((s: { name: string }) => s.name).slice(-3), [
      'apply-addons',
      'wait-addons-ready',
      'mark-ready',
    ]);
    const [addon] = (await user.call('GET', `/api/v1/clusters/${clusterId}/addons`)).body.items;
    assert.equal(`${addon.name} ${addon.status}`, 'metrics-server Installed');
    assert.equal(addon.workflowId, accepted.body.workflow.id, 'installed by the create workflow');
    assert.equal(addon.settings.replicas, 1);
    const kubeconfig = join(work, 'own-addons.kubeconfig');
    writeFileSync(kubeconfig, (await admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).body as string, {
      mode: 0o600,
    });
    const deployment = JSON.parse(
      (
        await run(
          kubectl,
          ['--kubeconfig', kubeconfig, 'get', 'deployment', '-n', 'kube-system', 'metrics-server', '-o', 'json'],
          { encoding: 'utf8' },
        )
      ).stdout,
    );
    assert.equal(deployment.metadata.labels['cx.dev/addon'], 'metrics-server');
    assert.equal(deployment.status.readyReplicas, 1, 'installed means ready');
  });

  it('a user creates a cluster from the template with overrides: Ready with the addon installed in it', async () => {
    const accepted = await user.call('POST', '/api/v1/clusters', {
      name: 'from-template',
      template: 'kwok-small',
      resourceGroup: 'team',
      nodePools: [{ name: 'workers', count: 2, labels: { team: 'blue' } }],
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.deepEqual(accepted.body.cluster.template, { id: templateId, name: 'kwok-small', version: 2 });
    const clusterId = accepted.body.cluster.id as string;
    const pending = await user.call('GET', `/api/v1/clusters/${clusterId}/addons`);
    assert.deepEqual(
      pending.body.items.map((a: any) => `${a.name} ${a.status}`),
      ['metrics-server Installing'],
      'recorded with the create',
    );

    const done = await user.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 300_000);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
    assert.deepEqual(done.steps.map((s: { name: string }) => s.name).slice(-3), [
      'apply-addons',
      'wait-addons-ready',
      'mark-ready',
    ]);

    const cluster = (await user.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.equal(cluster.status, 'Ready');
    assert.equal(cluster.kubernetesVersion, version, 'from the template');
    assert.equal(cluster.controlPlane.count, 1, 'from the template');
    assert.equal(cluster.health.unhealthyTimeoutSeconds, 120, 'from the template');
    assert.deepEqual(
      cluster.nodePools.map((p: any) => `${p.name} ${p.count} ${JSON.stringify(p.labels)}`),
      ['workers 2 {"team":"blue"}'],
      "the request's pools replace the template's",
    );
    assert.deepEqual(cluster.template, { id: templateId, name: 'kwok-small', version: 2 });
    const [addon] = (await user.call('GET', `/api/v1/clusters/${clusterId}/addons`)).body.items;
    assert.equal(addon.name, 'metrics-server');
    assert.equal(addon.status, 'Installed');
    assert.equal(addon.version, 'v0.7.2');
    assert.equal(addon.workflowId, accepted.body.workflow.id);
    assert.ok(addon.installedAt);

    const kubeconfig = join(work, 'admin.kubeconfig');
    writeFileSync(kubeconfig, (await admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).body as string, {
      mode: 0o600,
    });
    const k = async (...args: string[]): Promise<any> =>
      JSON.parse(
        (await run(kubectl, ['--kubeconfig', kubeconfig, ...args, '-o', 'json'], { encoding: 'utf8' })).stdout,
      );
    const deployment = await k('get', 'deployment', '-n', 'kube-system', 'metrics-server');
    assert.equal(
      deployment.spec.template.spec.containers[0].image,
      'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    );
    assert.equal(deployment.metadata.labels['cx.dev/addon'], 'metrics-server');
    assert.equal(deployment.status.readyReplicas, 1, 'installed means ready');
    assert.ok(await k('get', 'apiservice', 'v1beta1.metrics.k8s.io'));
    assert.equal((await k('get', 'nodes', '-l', 'team=blue')).items.length, 2, 'the overridden pool, with its label');

    // The template goes on; the cluster keeps its record of it.
    assert.equal((await admin.call('DELETE', `/api/v1/cluster-templates/${templateId}`)).status, 204);
    assert.equal((await user.call('GET', `/api/v1/cluster-templates/${templateId}`)).status, 404);
    assert.deepEqual((await user.call('GET', `/api/v1/clusters/${clusterId}`)).body.template, {
      id: templateId,
      name: 'kwok-small',
      version: 2,
    });
  });

  it('a template with a pod network (cni-flannel): applied before the create waits for Ready nodes, then awaited with the others', async () => {
    const created = await admin.call('POST', '/api/v1/cluster-templates', {
      name: 'kwok-flannel',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [],
      addons: [{ name: 'cni-flannel', settings: { backend: 'host-gw' } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const accepted = await user.call('POST', '/api/v1/clusters', {
      name: 'with-flannel',
      template: 'kwok-flannel',
      resourceGroup: 'team',
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const done = await user.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 300_000);
    assert.equal(done.status, 'Succeeded', JSON.stringify(done.steps));
    assert.deepEqual(
      done.steps.map((s: { name: string }) => s.name),
      [
        'plan-machines',
        'provision-machines',
        'apply-network',
        'wait-nodes-ready',
        'configure-access',
        'wait-addons-ready',
        'mark-ready',
      ],
      'the CNI before the nodes are awaited; no apply-addons without other addons',
    );
    const [addon] = (await user.call('GET', `/api/v1/clusters/${accepted.body.cluster.id}/addons`)).body.items;
    assert.equal(`${addon.name} ${addon.status}`, 'cni-flannel Installed');
    const kubeconfig = join(work, 'flannel.kubeconfig');
    writeFileSync(
      kubeconfig,
      (await admin.call('GET', `/api/v1/clusters/${accepted.body.cluster.id}/kubeconfig`)).body as string,
      { mode: 0o600 },
    );
    const config = JSON.parse(
      (
        await run(
          kubectl,
          ['--kubeconfig', kubeconfig, 'get', 'configmap', '-n', 'kube-flannel', 'kube-flannel-cfg', '-o', 'json'],
          { encoding: 'utf8' },
        )
      ).stdout,
    );
    assert.deepEqual(JSON.parse(config.data['net-conf.json']).Backend, { Type: 'host-gw' });
  });
});
