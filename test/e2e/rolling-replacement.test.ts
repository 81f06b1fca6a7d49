/**
 * Rolling replacement of the workers of an HA cluster (three control-plane machines, two worker
 * pools) on the kwok runtime, through the public API, watched on the tenant's real kube-apiserver:
 * - a Kubernetes version upgrade with `maxSurge`: the control plane moves in place one machine at
 *   a time, then every worker is replaced by a new machine at the new version that is Ready before
 *   the old one is cordoned, drained and deleted; through a kill -9 of cx midway, never fewer
 *   schedulable Ready workers than the pools' size, never more than one machine beyond it; the new
 *   machines carry their pool's labels and taints;
 * - an OS image upgrade: every worker is replaced by one whose node reports the new image (kwok's
 *   nodes report the image they were created from as `nodeInfo.osImage`), two at a time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, stopKwokControlPlanes, tempDir, until, type CxProcess } from '../support/cx.js';
import { createCluster, kubernetesPeer, startKwokCx, workersDeployment } from '../support/kwok.js';

const run = promisify(execFile);

interface NodeList {
  items: Array<{
    metadata: { name: string };
    spec: { unschedulable?: boolean };
    status: {
      conditions: Array<{ type: string; status: string }>;
      nodeInfo: { kubeletVersion: string; osImage: string };
    };
  }>;
}

describe('rolling replacement of workers on kwok: version upgrade with maxSurge, OS image upgrade', () => {
  const peer = kubernetesPeer();
  const [version, target] = peer.versions;
  const work = tempDir('replacement-e2e');
  let cx: CxProcess;
  let admin: Api;
  let clusterId = '';
  let kubeconfig = '';

  const kubectl = (...args: string[]) =>
    run(peer.kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], { encoding: 'utf8' });
  const workers = async (): Promise<NodeList['items']> =>
    (JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout) as NodeList).items.filter(
      (n) => !n.metadata.name.includes('-cp-'),
    );
  const ready = (n: NodeList['items'][number]): boolean =>
    n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');

  before(async () => {
    cx = await startKwokCx(peer, work);
    admin = await Api.login(cx.base);
    ({ clusterId, kubeconfig } = await createCluster(admin, work, {
      name: 'sg',
      provider: 'kwok',
      kubernetesVersion: version,
      controlPlane: { count: 3 },
      nodePools: [
        { name: 'workers', count: 2 },
        {
          name: 'edge',
          count: 1,
          labels: { tier: 'edge' },
          taints: [{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }],
        },
      ],
    }));
  });
  after(async () => {
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('refuses maxSurge together with maxUnavailable, with nothing changed', async () => {
    assert.ok(target, 'the Kubernetes peers hold two consecutive minor versions');
    const refused = await admin.call('POST', `/api/v1/clusters/${clusterId}/upgrade`, {
      kubernetesVersion: target,
      maxSurge: 1,
      maxUnavailable: 1,
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.headers.get('content-type') ?? '', /problem\+json/);
    assert.match(refused.body.detail, /maxSurge .* or maxUnavailable .*not both/);
    const cluster = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.deepEqual([cluster.status, cluster.kubernetesVersion], ['Ready', version]);
  });

  it('replaces each worker by a Ready one at the new version before draining and deleting it, through a kill -9 of cx', async () => {
    // Pods on the workers, which must be evicted from the old machines.
    const manifest = workersDeployment(work, 'tick', 2);
    await kubectl('apply', '-f', manifest);
    await kubectl('rollout', 'status', 'deployment/tick', '--timeout=60s');
    const podUids = async (): Promise<string[]> =>
      (
        JSON.parse((await kubectl('get', 'pods', '-l', 'app=tick', '-o', 'json')).stdout) as {
          items: Array<{ metadata: { uid: string } }>;
        }
      ).items.map((p) => p.metadata.uid);
    const before = await podUids();

    const started = await admin.call('POST', `/api/v1/clusters/${clusterId}/upgrade`, {
      kubernetesVersion: target,
      maxSurge: 1,
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const workflowId = started.body.workflow.id as string;
    const stepOf = async (): Promise<{ status: string; step?: string }> => {
      const body = (await admin.call('GET', `/api/v1/workflows/${workflowId}`)).body;
      // The step the run is at (between two polls of a waiting step, no step is Running).
      return { status: body.status, step: body.steps[body.currentStep]?.name };
    };
    // What the tenant API shows while workers are replaced: the fewest schedulable Ready workers, and the most workers.
    let fewestServing = Infinity;
    let mostWorkers = 0;
    const look = async (): Promise<void> => {
      const nodes = await workers();
      fewestServing = Math.min(fewestServing, nodes.filter((n) => ready(n) && !n.spec.unschedulable).length);
      mostWorkers = Math.max(mostWorkers, nodes.length);
    };
    const watch = (what: string, finished: (state: { status: string; step?: string }, names: string[]) => boolean) =>
      until(
        what,
        async () => {
          // The nodes first, then the step: a node seen is never newer than the step read after it
          // (the other order raced a quick move from the control plane to the first new worker).
          const names = (await workers()).map((n) => n.metadata.name);
          const state = await stepOf();
          if (state.step === 'upgrade-workers') await look();
          return finished(state, names) ? state : undefined;
        },
        240_000,
        { intervalMs: 100, context: stepOf },
      );

    // Kill cx once the first new worker (edge's, the first pool by name) has joined, before the replacement is over.
    const atCrash = await watch(
      'the first new worker',
      (state, names) => state.status !== 'Running' || names.includes('sg-edge-1'),
    );
    assert.deepEqual(
      atCrash,
      { status: 'Running', step: 'upgrade-workers' },
      'cx is killed while the workers are replaced',
    );
    await cx.crash();
    cx = await startKwokCx(peer, work, { dataDir: cx.dataDir });
    admin = await Api.login(cx.base);
    const finished = await watch('the upgrade to finish', (state) => state.status !== 'Running');
    assert.equal(
      finished.status,
      'Succeeded',
      JSON.stringify((await admin.call('GET', `/api/v1/workflows/${workflowId}`)).body.steps),
    );

    assert.ok(mostWorkers > 0, 'the replacement was watched');
    assert.ok(fewestServing >= 3, `schedulable Ready workers dropped to ${fewestServing}`);
    assert.ok(mostWorkers <= 4, `${mostWorkers} workers at once: more than one beyond the pools' 3`);
    const nodes = await workers();
    assert.deepEqual(
      nodes.map((n) => n.metadata.name).sort(),
      ['sg-edge-1', 'sg-workers-2', 'sg-workers-3'],
      'the old workers are gone, the new ones stay',
    );
    const edge = nodes.find((n) => n.metadata.name === 'sg-edge-1') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { taints?: Array<{ key: string; value: string; effect: string }> };
    };
    assert.equal(edge.metadata.labels['tier'], 'edge');
    assert.deepEqual(edge.spec.taints, [{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }]);
    assert.ok(
      nodes.every((n) => ready(n) && !n.spec.unschedulable && n.status.nodeInfo.kubeletVersion === `v${target}`),
      JSON.stringify(nodes.map((n) => n.status.nodeInfo)),
    );
    const everyKubelet = (
      await kubectl(
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}@{.status.nodeInfo.kubeletVersion} {end}',
      )
    ).stdout
      .trim()
      .split(' ')
      .sort();
    assert.deepEqual(
      everyKubelet,
      ['sg-cp-0', 'sg-cp-1', 'sg-cp-2', 'sg-edge-1', 'sg-workers-2', 'sg-workers-3'].map((n) => `${n}@v${target}`),
    );
    const server = JSON.parse((await kubectl('version', '-o', 'json')).stdout) as {
      serverVersion: { gitVersion: string };
    };
    assert.equal(server.serverVersion.gitVersion, `v${target}`);
    const listed = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items as Array<{
      name: string;
      kubernetesVersion: string;
    }>;
    assert.deepEqual(
      listed
        .filter((n) => !n.name.includes('-cp-'))
        .map((n) => n.name)
        .sort(),
      ['sg-edge-1', 'sg-workers-2', 'sg-workers-3'],
    );
    assert.ok(listed.length === 6 && listed.every((n) => n.kubernetesVersion === target), JSON.stringify(listed));
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.kubernetesVersion, target);
    const after = new Set(await podUids());
    assert.equal(after.size, 2);
    for (const uid of before) assert.ok(!after.has(uid), `pod ${uid} was not evicted from its old worker`);
  });

  it('replaces every worker by one booted from a new OS image, two at a time; the control plane keeps its image', async () => {
    const bad = await admin.call('POST', `/api/v1/clusters/${clusterId}/os-upgrade`, { image: 'not an image name' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(
      bad.body.fields.map((e: { field: string }) => e.field),
      ['body.image'],
    );
    assert.equal(
      (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.osImage,
      null,
      'a refused image is not recorded',
    );

    const started = await admin.call('POST', `/api/v1/clusters/${clusterId}/os-upgrade`, {
      image: 'cx-node-2026.11',
      maxSurge: 2,
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    let mostWorkers = 0;
    const finished = await until(
      'the OS upgrade to finish',
      async () => {
        mostWorkers = Math.max(mostWorkers, (await workers()).length);
        const run = (await admin.call('GET', `/api/v1/workflows/${started.body.workflow.id}`)).body;
        return run.status === 'Running' ? undefined : run;
      },
      240_000,
      { intervalMs: 100 },
    );
    assert.equal(finished.status, 'Succeeded', JSON.stringify(finished.steps));
    assert.ok(mostWorkers <= 5, `${mostWorkers} workers at once: more than two beyond the pools' 3`);
    const images = (
      await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.osImage} {end}')
    ).stdout
      .trim()
      .split(' ')
      .sort();
    assert.deepEqual(images, [
      'sg-cp-0=kwok',
      'sg-cp-1=kwok',
      'sg-cp-2=kwok',
      'sg-edge-2=cx-node-2026.11',
      'sg-workers-4=cx-node-2026.11',
      'sg-workers-5=cx-node-2026.11',
    ]);
    const cluster = (await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body;
    assert.deepEqual([cluster.status, cluster.osImage], ['Ready', 'cx-node-2026.11']);
    assert.ok(
      (await workers()).every((n) => ready(n) && !n.spec.unschedulable),
      'every new worker is Ready and takes pods',
    );
  });
});
