/**
 * Operations on one node through the public API, on the kwok runtime and checked with kubectl on
 * the tenant's real kube-apiserver: cordon and uncordon; a drain that a PodDisruptionBudget blocks
 * (the budget named in the step, CX_DRAIN_BLOCKED after the timeout, a retry finishing once it is
 * relaxed) and leaves the node cordoned; the refusal to cordon or drain the last node that takes
 * workloads, with nothing changed; deleting a named node, which shrinks its pool; and adding and
 * deleting a whole worker pool.
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

describe('node and pool operations: cordon, uncordon, drain, delete a node, add and delete a pool', () => {
  const peer = kubernetesPeer();
  const work = tempDir('node-ops-e2e');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let kubeconfig = '';

  const kubectl = (...args: string[]) =>
    run(peer.kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], { encoding: 'utf8' });
  /** name → whether it is cordoned, for every node of the tenant. */
  const cordoned = async (): Promise<Record<string, boolean>> =>
    Object.fromEntries(
      (
        await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.unschedulable} {end}')
      ).stdout
        .trim()
        .split(' ')
        .map((entry) => entry.split('='))
        .map(([name, unschedulable]) => [name!, unschedulable === 'true']),
    );
  const node = (name: string, action = '') =>
    `/api/v1/clusters/${clusterId}/nodes/${name}${action ? `/${action}` : ''}`;
  const finish = async (
    answer: { status: number; body: { workflow: { id: string } } },
    status = 'Succeeded',
  ): Promise<any> => {
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const done = await admin.waitForWorkflow(answer.body.workflow.id, ['Succeeded', 'Failed'], 120_000);
    assert.equal(done.status, status, JSON.stringify(done.steps));
    return done;
  };

  before(async () => {
    cx = await startKwokCx(peer, work);
    admin = await Api.login(cx.base);
    ({ clusterId, kubeconfig } = await createCluster(admin, work, {
      name: 'ops',
      provider: 'kwok',
      kubernetesVersion: peer.versions[0],
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 3 }],
    }));
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('cordons and uncordons a node; refuses a node the cluster does not have', async () => {
    const run = await finish(await admin.call('POST', node('ops-workers-0', 'cordon')));
    assert.deepEqual(
      run.steps.map((s: { name: string }) => s.name),
      ['cordon', 'mark-ready'],
    );
    assert.deepEqual(await cordoned(), {
      'ops-cp-0': false,
      'ops-workers-0': true,
      'ops-workers-1': false,
      'ops-workers-2': false,
    });
    // The node list reads the tenant's API: the cordon shows at once, with what kubectl sees.
    const listed = await admin.call('GET', '/api/v1/clusters/ops/nodes?pool=workers&limit=2');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const [first, second] = listed.body.items;
    assert.deepEqual([first.name, second.name], ['ops-workers-0', 'ops-workers-1']);
    assert.ok(listed.body.nextCursor);
    assert.deepEqual(
      [first.source, first.unschedulable, first.schedulable, second.unschedulable],
      ['live', true, false, false],
    );
    assert.equal(first.kubernetesVersion, peer.versions[0]);
    assert.ok(
      first.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
      JSON.stringify(first.conditions),
    );
    const rest = await admin.call(
      'GET',
      `/api/v1/clusters/ops/nodes?pool=workers&limit=2&cursor=${encodeURIComponent(listed.body.nextCursor)}`,
    );
    assert.deepEqual(
      rest.body.items.map((n: { name: string; source: string }) => `${n.name} ${n.source}`),
      ['ops-workers-2 live'],
    );
    assert.equal(rest.body.nextCursor, null);
    const controlPlane = await admin.call('GET', '/api/v1/clusters/ops/nodes?pool=control-plane');
    assert.deepEqual(
      controlPlane.body.items.map(
        (n: { name: string; schedulable: boolean; labels: object; taints: Array<{ key: string }> }) => [
          n.name,
          n.schedulable,
          'node-role.kubernetes.io/control-plane' in n.labels,
          n.taints.some((t) => t.key === 'node-role.kubernetes.io/control-plane'),
        ],
      ),
      [['ops-cp-0', false, true, true]],
    );
    await finish(await admin.call('POST', node('ops-workers-0', 'uncordon')));
    assert.equal((await cordoned())['ops-workers-0'], false);
    const unknown = await admin.call('POST', node('ops-workers-9', 'cordon'));
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.match(unknown.body.detail, /has no node ops-workers-9/);
  });

  it('drains a node through the eviction API: a PodDisruptionBudget blocks it visibly, a retry finishes once it is relaxed, and the node stays cordoned', async () => {
    const manifest = join(work, 'web.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'default' },
            spec: {
              replicas: 3,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: {
                  containers: [{ name: 'web', image: 'registry.example/web:1' }],
                  tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
                  // One per worker, so that ops-workers-1 surely runs one.
                  topologySpreadConstraints: [
                    {
                      maxSkew: 1,
                      topologyKey: 'kubernetes.io/hostname',
                      whenUnsatisfiable: 'DoNotSchedule',
                      labelSelector: { matchLabels: { app: 'web' } },
                    },
                  ],
                },
              },
            },
          },
          {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name: 'web', namespace: 'default' },
            spec: { minAvailable: 3, selector: { matchLabels: { app: 'web' } } },
          },
        ],
      }),
    );
    await kubectl('apply', '-f', manifest);
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s');
    const webOn = async (name: string): Promise<string[]> =>
      (
        await kubectl(
          'get',
          'pods',
          '-l',
          'app=web',
          '--field-selector',
          `spec.nodeName=${name}`,
          '-o',
          'jsonpath={.items[*].metadata.name}',
        )
      ).stdout
        .split(' ')
        .filter(Boolean);
    const before = await webOn('ops-workers-1');
    assert.equal(before.length, 1, 'a web pod runs on ops-workers-1');

    const bad = await admin.call('POST', node('ops-workers-1', 'drain'), { drainTimeoutSeconds: 0 });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    const blocked = await finish(
      await admin.call('POST', node('ops-workers-1', 'drain'), { drainTimeoutSeconds: 3 }),
      'Failed',
    );
    const step = blocked.steps.find((s: { name: string }) => s.name === 'drain');
    assert.equal(step.error.code, 'CX_DRAIN_BLOCKED', JSON.stringify(step));
    assert.match(step.error.message, /ops-workers-1: 1 pod\(s\) left, blocked by PodDisruptionBudget default\/web/);
    assert.deepEqual(await webOn('ops-workers-1'), before, 'the budget kept the pod');
    assert.equal((await cordoned())['ops-workers-1'], true, 'a blocked drain leaves the node cordoned');
    const afterBlock = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.equal(afterBlock.status, 'Ready', 'a blocked drain does not mark the whole cluster Failed');
    assert.match(afterBlock.statusMessage, /failed at step drain: draining did not finish .*ops-workers-1/);

    await kubectl('patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":2}}');
    const retried = await admin.call('POST', `/api/v1/workflows/${blocked.id}/retry`);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal((await admin.waitForWorkflow(blocked.id, ['Succeeded', 'Failed'], 120_000)).status, 'Succeeded');
    assert.deepEqual(await webOn('ops-workers-1'), [], 'the pod was evicted');
    assert.equal((await cordoned())['ops-workers-1'], true, 'a drained node stays cordoned until uncordoned');
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Ready');
    await kubectl('delete', '-f', manifest, '--wait=true', '--timeout=60s');
  });

  it('refuses to cordon or drain the last node that takes workloads, changing nothing', async () => {
    // ops-workers-1 is cordoned (drained above); cordon ops-workers-2 too: ops-workers-0 is then the last (ops-cp-0 has the control-plane taint).
    await finish(await admin.call('POST', node('ops-workers-2', 'cordon')));
    for (const action of ['cordon', 'drain']) {
      const refused = await admin.call('POST', node('ops-workers-0', action));
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.match(refused.headers.get('content-type') ?? '', /problem\+json/);
      assert.match(refused.body.detail, /ops-workers-0 is the last node of cluster ops that takes workloads/);
    }
    assert.deepEqual(await cordoned(), {
      'ops-cp-0': false,
      'ops-workers-0': false,
      'ops-workers-1': true,
      'ops-workers-2': true,
    });
    assert.equal(
      (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status,
      'Ready',
      'no workflow started',
    );
    await finish(await admin.call('POST', node('ops-workers-1', 'uncordon')));
    await finish(await admin.call('POST', node('ops-workers-2', 'uncordon')));
  });

  it('deletes a named node: its pool shrinks by one and that machine goes', async () => {
    const deleting = await finish(await admin.call('DELETE', node('ops-workers-1')));
    assert.equal(deleting.workflow, 'cluster.scale');
    const cluster = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.equal(cluster.nodePools.find((p: { name: string }) => p.name === 'workers').count, 2);
    assert.deepEqual(Object.keys(await cordoned()).sort(), ['ops-cp-0', 'ops-workers-0', 'ops-workers-2']);
    const listed = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items
      .map((n: { name: string }) => n.name)
      .sort();
    assert.deepEqual(listed, ['ops-cp-0', 'ops-workers-0', 'ops-workers-2']);
    const gone = await admin.call('DELETE', node('ops-workers-1'));
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
  });

  it('adds a worker pool whose nodes carry its labels and taints, then deletes it; bad pools change nothing', async () => {
    const gpu = {
      name: 'gpu',
      count: 2,
      labels: { accelerator: 'gpu' },
      taints: [{ key: 'accelerator', value: 'gpu', effect: 'NoSchedule' }],
    };
    const added = await finish(await admin.call('POST', `/api/v1/clusters/${clusterId}/nodepools`, gpu));
    assert.equal(added.workflow, 'cluster.scale');
    const nodes = JSON.parse((await kubectl('get', 'nodes', '-l', 'accelerator=gpu', '-o', 'json')).stdout) as {
      items: Array<{ metadata: { name: string }; spec: { taints?: unknown[] } }>;
    };
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['ops-gpu-0', 'ops-gpu-1']);
    assert.ok(
      nodes.items.every(
        (n) =>
          JSON.stringify(n.spec.taints) ===
          JSON.stringify([{ effect: 'NoSchedule', key: 'accelerator', value: 'gpu' }]),
      ),
      JSON.stringify(nodes.items.map((n) => n.spec.taints)),
    );
    const pools = async (): Promise<Array<[string, number]>> =>
      (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.nodePools.map(
        (p: { name: string; count: number }) => [p.name, p.count],
      );
    assert.deepEqual(await pools(), [
      ['workers', 2],
      ['gpu', 2],
    ]);

    for (const [body, status] of [
      [{ ...gpu, count: 1 }, 409],
      [{ name: 'control-plane', count: 1 }, 409],
      [{ name: 'Not A Name', count: 1 }, 400],
      [{ name: 'bmc', count: 1, health: { fencing: 'ipmi' } }, 400],
    ] as const) {
      const refused = await admin.call('POST', `/api/v1/clusters/${clusterId}/nodepools`, body);
      assert.equal(refused.status, status, `${JSON.stringify(body)} → ${JSON.stringify(refused.body)}`);
    }
    assert.deepEqual(
      await pools(),
      [
        ['workers', 2],
        ['gpu', 2],
      ],
      'nothing changed',
    );
    const controlPlane = await admin.call('DELETE', `/api/v1/clusters/${clusterId}/nodepools/control-plane`);
    assert.equal(controlPlane.status, 400, JSON.stringify(controlPlane.body));

    await finish(await admin.call('DELETE', `/api/v1/clusters/${clusterId}/nodepools/gpu`));
    assert.deepEqual(await pools(), [['workers', 2]]);
    assert.deepEqual(Object.keys(await cordoned()).sort(), ['ops-cp-0', 'ops-workers-0', 'ops-workers-2']);
    const unknown = await admin.call('DELETE', `/api/v1/clusters/${clusterId}/nodepools/gpu`);
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
  });

  it("changes a pool's labels and taints on every node, keeping labels set elsewhere; new machines get them too", async () => {
    await kubectl('label', 'node', 'ops-workers-0', 'team=payments');
    const scheduling = async (): Promise<string[]> =>
      (
        await kubectl(
          'get',
          'nodes',
          '-l',
          'cx.dev/pool=workers',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}:{.metadata.labels.tier}:{.metadata.labels.team}:{.spec.taints[*].key}{"\\n"}{end}',
        )
      ).stdout
        .trim()
        .split('\n')
        .sort();
    await finish(
      await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {
        labels: { tier: 'web' },
        taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }],
      }),
    );
    assert.deepEqual(await scheduling(), ['ops-workers-0:web:payments:dedicated', 'ops-workers-2:web::dedicated']);
    // New labels replace the pool's: tier changes, the taint comes off; the label set with kubectl stays.
    const relabelled = await finish(
      await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {
        labels: { tier: 'api' },
        taints: [],
      }),
    );
    assert.equal(relabelled.workflow, 'nodepool.update-scheduling');
    assert.deepEqual(await scheduling(), ['ops-workers-0:api:payments:', 'ops-workers-2:api::']);
    const pool = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.nodePools.find(
      (p: { name: string }) => p.name === 'workers',
    );
    assert.deepEqual([pool.labels, pool.taints], [{ tier: 'api' }, []]);

    const both = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {
      count: 3,
      labels: { tier: 'x' },
    });
    assert.equal(both.status, 400, JSON.stringify(both.body));
    const neither = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, {});
    assert.equal(neither.status, 400, JSON.stringify(neither.body));
    const controlPlane = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/control-plane`, {
      labels: { tier: 'x' },
    });
    assert.equal(controlPlane.status, 404, JSON.stringify(controlPlane.body));

    await finish(await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/workers`, { count: 3 }));
    assert.deepEqual(await scheduling(), ['ops-workers-0:api:payments:', 'ops-workers-2:api::', 'ops-workers-3:api::']);
  });
});
