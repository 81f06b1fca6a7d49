/**
 * etcd snapshots and restores through the public API and kubectl only, on clusters of the kwok
 * runtime (real etcd, kube-apiserver, controller manager, scheduler; nodes simulated by kwok): a
 * restore brings back what was deleted since the snapshot and removes what was created since, the
 * nodes are Ready again, and the workflows show their steps. Bad requests change nothing: a
 * snapshot of another cluster (404), a provider without snapshots (400), a caller who is not an
 * admin of the cluster (403/404), a busy cluster (409).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, stopKwokControlPlanes, tempDir, until, type CxProcess } from '../support/cx.js';
import { kubernetesPeer, startKwokCx } from '../support/kwok.js';

const run = promisify(execFile);

describe('etcd snapshots: take, list, restore, delete', () => {
  const work = tempDir('etcd-e2e');
  let cx: CxProcess;
  let admin: Api;
  let operator: Api;
  let stranger: Api;
  let clusterId = '';
  let otherId = '';
  let simId = '';
  let snapshotId = '';
  let kubeconfig = '';
  let kubectl = 'kubectl';

  const k = async (...args: string[]): Promise<string> =>
    (await run(kubectl, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  const configMaps = async (): Promise<string[]> =>
    (await k('get', 'configmaps', '-n', 'default', '-l', 'test=etcd', '-o', 'jsonpath={.items[*].metadata.name}'))
      .split(' ')
      .filter(Boolean)
      .sort();
  const cluster = async (id = clusterId): Promise<any> => (await admin.call('GET', `/api/v1/clusters/${id}`)).body;
  /** A bad request: refused with `status` (and `code`), and no workflow started on the cluster. */
  async function refused(
    api: Api,
    method: string,
    path: string,
    status: number,
    id: string,
    code?: string,
  ): Promise<any> {
    const answer = await api.call(method, path);
    assert.equal(answer.status, status, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    if (code) assert.equal(answer.body.code, code, JSON.stringify(answer.body));
    assert.equal((await cluster(id)).activeWorkflowId, null, `${method} ${path} started a workflow`);
    return answer.body;
  }

  before(async () => {
    const peer = kubernetesPeer();
    assert.ok(
      (JSON.parse(peer.raw) as { etcdutl?: string }).etcdutl,
      'the Kubernetes peers manifest has no etcdutl: rebuild it with `npm run peers -- kubernetes`',
    );
    kubectl = peer.kubectl;
    cx = await startKwokCx(peer, work);
    admin = await Api.login(cx.base);
    const version = peer.versions.at(-1)!;
    const created = await Promise.all([
      admin.call('POST', '/api/v1/clusters', {
        name: 'rewind',
        provider: 'kwok',
        kubernetesVersion: version,
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: 2 }],
      }),
      admin.call('POST', '/api/v1/clusters', {
        name: 'bystander',
        provider: 'kwok',
        kubernetesVersion: version,
        controlPlane: { count: 1 },
        nodePools: [],
      }),
      admin.call('POST', '/api/v1/clusters', {
        name: 'simulated',
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 1 },
        nodePools: [],
      }),
    ]);
    for (const answer of created) assert.equal(answer.status, 202, JSON.stringify(answer.body));
    [clusterId, otherId, simId] = created.map((a) => a.body.cluster.id as string) as [string, string, string];
    for (const answer of created)
      assert.equal(
        (await admin.waitForWorkflow(answer.body.workflow.id, ['Succeeded', 'Failed'], 240_000)).status,
        'Succeeded',
      );
    kubeconfig = join(work, 'admin.kubeconfig');
    writeFileSync(kubeconfig, (await admin.call('GET', `/api/v1/clusters/${clusterId}/kubeconfig`)).body as string, {
      mode: 0o600,
    });

    // An operator of the cluster (may take and delete snapshots, not restore) and a user without any grant.
    for (const username of ['etcd-operator', 'etcd-stranger']) {
      assert.equal(
        (await admin.call('POST', '/api/v1/users', { username, password: `${username}-password-1` })).status,
        201,
      );
    }
    assert.equal(
      (
        await admin.call('POST', '/api/v1/grants', {
          subject: { kind: 'user', name: 'etcd-operator' },
          object: { kind: 'cluster', id: clusterId },
          role: 'operator',
        })
      ).status,
      201,
    );
    operator = await Api.login(cx.base, 'etcd-operator', 'etcd-operator-password-1');
    stranger = await Api.login(cx.base, 'etcd-stranger', 'etcd-stranger-password-1');
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('takes a snapshot by a workflow, and lists it with its size, revision and SHA-256', async () => {
    await k('create', 'configmap', 'before', '-n', 'default', '--from-literal=state=before');
    await k('label', 'configmap', 'before', '-n', 'default', 'test=etcd');
    const providers = (await admin.call('GET', '/api/v1/providers')).body.items as Array<{
      name: string;
      capabilities?: { etcdSnapshot?: boolean };
    }>;
    assert.equal(providers.find((p) => p.name === 'kwok')?.capabilities?.etcdSnapshot, true);
    assert.equal(providers.find((p) => p.name === 'sim')?.capabilities?.etcdSnapshot, false);

    // The operator takes it.
    const accepted = await operator.call('POST', `/api/v1/clusters/${clusterId}/etcd-snapshots`);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    snapshotId = accepted.body.snapshotId;
    assert.match(snapshotId, /^[0-9a-f-]{36}$/);
    assert.equal(accepted.headers.get('location'), `/api/v1/workflows/${accepted.body.workflow.id}`);
    // One mutating workflow per cluster: a second one meanwhile is refused (or finds the first done).
    const second = await operator.call('POST', `/api/v1/clusters/${clusterId}/etcd-snapshots`);
    if (second.status === 409) assert.equal(second.body.code, 'CX_CLUSTER_BUSY');
    else assert.equal(second.status, 202, JSON.stringify(second.body));

    const workflow = await admin.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(workflow.status, 'Succeeded', JSON.stringify(workflow.steps));
    assert.equal(workflow.workflow, 'etcd.snapshot');
    assert.deepEqual(
      workflow.steps.map((s: { name: string; status: string }) => [s.name, s.status]),
      [['take-snapshot', 'Succeeded']],
    );
    assert.ok(JSON.stringify(workflow).length < 4_000, 'the snapshot travels nowhere near the workflow');
    if (second.status === 202) await admin.waitForWorkflow(second.body.workflow.id, ['Succeeded', 'Failed'], 120_000);

    const listed = await operator.call('GET', `/api/v1/clusters/${clusterId}/etcd-snapshots`);
    assert.equal(listed.status, 200);
    const mine = (listed.body.items as Array<Record<string, unknown>>).find((s) => s['id'] === snapshotId);
    assert.ok(mine, JSON.stringify(listed.body));
    assert.equal(mine['clusterId'], clusterId);
    assert.equal(mine['workflowId'], accepted.body.workflow.id);
    assert.ok(Number.isInteger(mine['revision']) && Number(mine['revision']) > 0, JSON.stringify(mine));
    assert.match(String(mine['sha256']), /^[0-9a-f]{64}$/);
    assert.ok(Number(mine['sizeBytes']) > 100_000, 'a real etcd database');
    assert.equal(mine['createdBy'], (await operator.call('GET', '/api/v1/auth/whoami')).body.id);
    assert.equal(listed.body.nextCursor, null);
    assert.equal((await cluster()).status, 'Ready');
  });

  it('refuses bad requests with nothing changed', async () => {
    await k('create', 'configmap', 'after', '-n', 'default', '--from-literal=state=after');
    await k('label', 'configmap', 'after', '-n', 'default', 'test=etcd');
    await k('delete', 'configmap', 'before', '-n', 'default');
    assert.deepEqual(await configMaps(), ['after']);

    // A snapshot of another cluster does not exist for this one.
    const foreign = await refused(
      admin,
      'POST',
      `/api/v1/clusters/${otherId}/etcd-snapshots/${snapshotId}/restore`,
      404,
      otherId,
      'CX_NOT_FOUND',
    );
    assert.match(foreign.detail, new RegExp(`no etcd snapshot ${snapshotId}`));
    await refused(
      admin,
      'DELETE',
      `/api/v1/clusters/${otherId}/etcd-snapshots/${snapshotId}`,
      404,
      otherId,
      'CX_NOT_FOUND',
    );
    await refused(
      admin,
      'POST',
      `/api/v1/clusters/${clusterId}/etcd-snapshots/0190aaaa-0000-7000-8000-000000000000/restore`,
      404,
      clusterId,
      'CX_NOT_FOUND',
    );
    // A provider without snapshots, named in the answer.
    const sim = await refused(
      admin,
      'POST',
      `/api/v1/clusters/${simId}/etcd-snapshots`,
      400,
      simId,
      'CX_INPUT_INVALID',
    );
    assert.match(sim.detail, /provider sim cannot take or restore etcd snapshots/);
    assert.deepEqual((await admin.call('GET', `/api/v1/clusters/${simId}/etcd-snapshots`)).body.items, []);
    await refused(
      admin,
      'POST',
      `/api/v1/clusters/${simId}/etcd-snapshots/${snapshotId}/restore`,
      400,
      simId,
      'CX_INPUT_INVALID',
    );
    // A restore rewinds everything: admins of the cluster only.
    await refused(
      operator,
      'POST',
      `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/restore`,
      403,
      clusterId,
      'CX_NOT_ALLOWED',
    );
    await refused(
      stranger,
      'POST',
      `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/restore`,
      404,
      clusterId,
      'CX_NOT_FOUND',
    );
    await refused(stranger, 'GET', `/api/v1/clusters/${clusterId}/etcd-snapshots`, 404, clusterId, 'CX_NOT_FOUND');
    await refused(
      stranger,
      'DELETE',
      `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}`,
      404,
      clusterId,
      'CX_NOT_FOUND',
    );

    assert.deepEqual(await configMaps(), ['after'], 'nothing was restored');
    assert.ok(
      (await admin.call('GET', `/api/v1/clusters/${clusterId}/etcd-snapshots`)).body.items.some(
        (s: { id: string }) => s.id === snapshotId,
      ),
      'the snapshot is still there',
    );
  });

  it('restores the snapshot: what was deleted since is back, what was created since is gone, the nodes are Ready', async () => {
    const accepted = await admin.call('POST', `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/restore`);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.snapshot.id, snapshotId);
    assert.equal(accepted.body.cluster.status, 'Updating');
    // The snapshot a restore reads cannot be deleted under it.
    const deleting = await operator.call('DELETE', `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}`);
    assert.equal(deleting.status, 409, JSON.stringify(deleting.body));
    assert.match(deleting.body.detail, /being restored by workflow/);

    const workflow = await admin.waitForWorkflow(accepted.body.workflow.id, ['Succeeded', 'Failed'], 300_000);
    assert.equal(workflow.status, 'Succeeded', JSON.stringify(workflow.steps));
    assert.equal(workflow.workflow, 'etcd.restore');
    assert.deepEqual(
      workflow.steps.map((s: { name: string; status: string }) => [s.name, s.status]),
      [
        ['restore-etcd', 'Succeeded'],
        ['ensure-machines', 'Succeeded'],
        ['wait-nodes-ready', 'Succeeded'],
        ['mark-ready', 'Succeeded'],
      ],
    );

    assert.deepEqual(await configMaps(), ['before'], 'the cluster holds what the snapshot held');
    assert.equal(
      (await k('get', 'configmap', 'before', '-n', 'default', '-o', 'jsonpath={.data.state}')).trim(),
      'before',
    );
    const c = await cluster();
    assert.equal(c.status, 'Ready');
    assert.equal(c.activeWorkflowId, null);
    const nodes = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items as Array<{
      name: string;
      status: string;
    }>;
    assert.equal(nodes.length, 3);
    assert.ok(
      nodes.every((n) => n.status === 'Ready'),
      JSON.stringify(nodes),
    );
    const ready = await until(
      'every node Ready in kubectl',
      async () => {
        const statuses = (
          await k(
            'get',
            'nodes',
            '-o',
            'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {end}',
          )
        )
          .trim()
          .split(' ');
        return statuses.length === 3 && statuses.every((s) => s === 'True') ? statuses : undefined;
      },
      60_000,
    );
    assert.equal(ready.length, 3);
    // The cluster works on: it takes new objects.
    await k('create', 'configmap', 'later', '-n', 'default', '--from-literal=state=later');
  });

  it('deletes a snapshot', async () => {
    assert.equal(
      (await operator.call('DELETE', `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}`)).status,
      204,
    );
    assert.ok(
      !(await admin.call('GET', `/api/v1/clusters/${clusterId}/etcd-snapshots`)).body.items.some(
        (s: { id: string }) => s.id === snapshotId,
      ),
    );
    await refused(
      admin,
      'POST',
      `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/restore`,
      404,
      clusterId,
      'CX_NOT_FOUND',
    );
    assert.equal(
      (await operator.call('DELETE', `/api/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}`)).status,
      404,
    );
  });
});
