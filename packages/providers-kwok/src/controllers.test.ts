/**
 * The kwok runtime runs Kubernetes' own kube-controller-manager and kube-scheduler: a Deployment
 * gets pods, scheduled onto kwok's nodes and Running; a powered-off machine is a dead kubelet, so a
 * pod there stays until the node is tainted out of service and the pod GC removes it, after which
 * its StatefulSet runs it elsewhere (what cx's node remediation relies on); a dead controller
 * manager comes back; an apiserver that cannot start says why; an upgrade restarts the controllers
 * at the new version.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { createClusterPki } from '@cx/k8s';
import type { ClusterBootstrap, MachineSpec } from '@cx/sddc-contract';
import { KwokProvider, type KwokBinaries } from './index.js';
import { threadsRun } from './runtime.js';
import { adminKubeConfig, until } from './test-tenant.js';

const raw = process.env['CX_TEST_KUBERNETES'];
assert.ok(
  raw,
  'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
);
const binaries = JSON.parse(raw) as KwokBinaries;
const OUT_OF_SERVICE = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
} as const;

describe('the kwok runtime runs kube-controller-manager and kube-scheduler', () => {
  const clusterId = `ctl-${randomUUID().slice(0, 8)}`;
  const versions = [...new KwokProvider({ dataDir: tmpdir(), binaries }).kubernetesVersions].reverse(); // oldest first
  const workers = ['w-0', 'w-1', 'w-2'].map((n) => `${clusterId}-${n}`);
  let dataDir = '';
  let provider: KwokProvider;
  let bootstrap: ClusterBootstrap;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  const spec = (name: string, role: 'control-plane' | 'worker', version = versions[0]!): MachineSpec => ({
    machineId: name,
    clusterId,
    name,
    role,
    pool: role === 'control-plane' ? 'control-plane' : 'workers',
    kubernetesVersion: version,
    ...(role === 'control-plane'
      ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const }] }
      : {}),
  });
  const context = { bootstrap: async () => bootstrap };
  const state = (): { kubernetesVersion: string; pids: Record<string, number>; ports: Record<string, number> } =>
    JSON.parse(readFileSync(join(dataDir, clusterId, 'state.json'), 'utf8'));
  const pods = async (app: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=${app}` })).items;
  const running = (pod: V1Pod): boolean => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
  /** Until the Deployment `web` has `count` pods, each Running on a worker: scheduled there by kube-scheduler. */
  const webRunning = (count: number): Promise<V1Pod[]> =>
    until(
      `${count} web pods Running on workers`,
      async () => {
        const live = (await pods('web')).filter((p) => !p.metadata?.deletionTimestamp);
        return live.length === count && live.every((p) => running(p) && workers.includes(p.spec?.nodeName ?? ''))
          ? live
          : undefined;
      },
      60_000,
    );
  const everyNodeReady = (): Promise<true> =>
    until(
      'every node Ready',
      async () => ((await provider.listNodes(clusterId)).every((n) => n.status === 'Ready') ? true : undefined),
      60_000,
    );
  const setTaints = async (
    node: string,
    change: (
      taints: Array<{ key: string; value?: string; effect: string }>,
    ) => Array<{ key: string; value?: string; effect: string }>,
  ): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const current = await core.readNode({ name: node });
      current.spec = { ...current.spec, taints: change(current.spec?.taints ?? []) };
      try {
        await core.replaceNode({ name: node, body: current });
        return;
      } catch (error) {
        if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
      }
    }
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cx-kwok-controllers-'));
    provider = new KwokProvider({ dataDir, binaries });
    const pki = await createClusterPki(clusterId);
    bootstrap = { clusterName: clusterId, kubernetesVersion: versions[0]!, pki, trustedCaPems: [pki.ca.certPem] };
    const controlPlane = await provider.ensureMachine(spec(`${clusterId}-cp-0`, 'control-plane'), context);
    await Promise.all(workers.map((name) => provider.ensureMachine(spec(name, 'worker'), context)));
    const config = await adminKubeConfig(pki, clusterId, controlPlane.apiEndpoint!);
    core = config.makeApiClient(CoreV1Api);
    apps = config.makeApiClient(AppsV1Api);
    await everyNodeReady();
  });

  after(async () => {
    if (provider)
      for (const machine of await provider.listMachines(clusterId))
        await provider.deleteMachine(clusterId, machine.machineId);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('gives a Deployment of two replicas two pods, scheduled onto kwok nodes and Running', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
          },
        },
      },
    });
    const web = await webRunning(2);
    for (const pod of web) {
      assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
      assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'ReplicaSet', 'made by the ReplicaSet controller');
      assert.ok(pod.status?.podIP, 'kwok gave it an address');
    }
    // The Deployment controller counts the pods in its status after they run: a moment later.
    await until(
      'the Deployment reporting 2 available replicas',
      async () =>
        (await apps.readNamespacedDeployment({ namespace: 'default', name: 'web' })).status?.availableReplicas === 2
          ? true
          : undefined,
      30_000,
    );
  });

  it('moves a StatefulSet pod off a powered-off node only once the node is tainted out of service', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: 'default',
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 1,
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] },
          },
        },
      },
    });
    const original = await until('db-0 Running', async () => (await pods('db')).find(running), 60_000);
    const node = original.spec!.nodeName!;
    assert.ok(workers.includes(node), node);

    await provider.setPower(clusterId, node, 'off');
    const reported = (await provider.listNodes(clusterId)).find((n) => n.name === node);
    assert.equal(reported?.status, 'NotReady', 'the provider reports a powered-off node NotReady at once');
    // The node lifecycle controller takes it from there.
    await until(
      'the unreachable NoExecute taint',
      async () => {
        const taints = (await core.readNode({ name: node })).spec?.taints ?? [];
        return taints.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute')
          ? true
          : undefined;
      },
      30_000,
    );

    // A graceful delete (what an eviction or a drain does) needs the kubelet to confirm; a machine
    // without power never does, and the StatefulSet does not run db-0 twice.
    await core.deleteNamespacedPod({ namespace: 'default', name: 'db-0' });
    await sleep(8_000);
    const stuck = (await pods('db'))[0];
    assert.equal(stuck?.metadata?.uid, original.metadata?.uid, 'db-0 is still the pod of the powered-off node');
    assert.ok(stuck?.metadata?.deletionTimestamp, 'db-0 is terminating');

    await setTaints(node, (taints) => [...taints, OUT_OF_SERVICE]);
    const moved = await until(
      'db-0 Running on another node',
      async () => {
        const pod = (await pods('db')).find(running);
        return pod && pod.metadata?.uid !== original.metadata?.uid ? pod : undefined;
      },
      90_000,
    );
    assert.notEqual(moved.spec?.nodeName, node);
    assert.ok(workers.includes(moved.spec?.nodeName ?? ''), moved.spec?.nodeName);

    // Back on, untainted: the node is Ready again once the node lifecycle controller has seen it.
    await setTaints(node, (taints) => taints.filter((t) => t.key !== OUT_OF_SERVICE.key));
    await provider.setPower(clusterId, node, 'on');
    await until(
      `${node} Ready`,
      async () =>
        (await provider.listNodes(clusterId)).find((n) => n.name === node)?.status === 'Ready' ? true : undefined,
      30_000,
    );
  });

  it('brings a dead kube-controller-manager and kube-scheduler back on the next read of the nodes', async () => {
    const before = state().pids;
    process.kill(before['controllerManager']!, 'SIGKILL');
    process.kill(before['scheduler']!, 'SIGKILL');
    await until(
      'both gone',
      async () => (!threadsRun(before['controllerManager']!) && !threadsRun(before['scheduler']!) ? true : undefined),
      10_000,
    );
    await provider.listNodes(clusterId);
    const now = state().pids;
    assert.notEqual(now['controllerManager'], before['controllerManager']);
    assert.notEqual(now['scheduler'], before['scheduler']);
    await apps.patchNamespacedDeploymentScale(
      { namespace: 'default', name: 'web', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await webRunning(3);
  });

  it('says why a kube-apiserver it starts exits, and starts it once the cause is gone', async () => {
    const { pids, ports } = state();
    process.kill(pids['apiserver']!, 'SIGKILL');
    await until('kube-apiserver gone', async () => (threadsRun(pids['apiserver']!) ? undefined : true), 10_000);
    // Another program on the API server's port: the restarted one cannot listen and exits.
    // It hangs up on kwok and the controllers, which keep calling the port.
    const squatter = createServer((connection) => connection.destroy());
    await new Promise<void>((resolve) => squatter.listen(ports['api'], '127.0.0.1', resolve));
    try {
      await assert.rejects(
        provider.ensureMachine(spec(`${clusterId}-cp-0`, 'control-plane'), context),
        (error: Error) => {
          assert.match(error.message, /kube-apiserver of cluster .* exited: .*address already in use/);
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await provider.ensureMachine(spec(`${clusterId}-cp-0`, 'control-plane'), context);
    await everyNodeReady();
  });

  it('restarts kube-controller-manager and kube-scheduler at the new version on an upgrade', async (t) => {
    const target = versions[1];
    if (!target) return t.skip('the Kubernetes peers hold one version');
    await provider.ensureMachine(spec(`${clusterId}-cp-0`, 'control-plane', target), context);
    const { kubernetesVersion, pids } = state();
    assert.equal(kubernetesVersion, target);
    assert.equal(readlinkSync(`/proc/${pids['controllerManager']}/exe`), binaries.kubeControllerManager[target]);
    assert.equal(readlinkSync(`/proc/${pids['scheduler']}/exe`), binaries.kubeScheduler[target]);
    await apps.patchNamespacedDeploymentScale(
      { namespace: 'default', name: 'web', body: { spec: { replicas: 4 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await webRunning(4);
  });
});
