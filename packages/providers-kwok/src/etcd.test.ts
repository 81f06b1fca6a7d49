/**
 * etcd snapshots and restores of the kwok runtime against the real binaries: a restore brings the
 * cluster's objects back to the snapshot (a ConfigMap deleted since is back, one created since is
 * gone), the API and the nodes come back, and the old data directory is gone once the restored etcd
 * runs; a restore of another cluster's runtime without etcdutl says how to get it and stops nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { createClusterPki } from '@cx/k8s';
import type { ClusterBootstrap, MachineSpec } from '@cx/sddc-contract';
import { KwokProvider, type KwokBinaries } from './index.js';
import { adminKubeConfig, until } from './test-tenant.js';

const raw = process.env['CX_TEST_KUBERNETES'];
assert.ok(
  raw,
  'CX_TEST_KUBERNETES is not set: run the tests with `npm test`, which builds the Kubernetes peers (test/peers/kubernetes.sh)',
);
const binaries = JSON.parse(raw) as KwokBinaries;
assert.ok(
  binaries.etcdutl,
  'the Kubernetes peers manifest has no etcdutl: rebuild it with `npm run peers -- kubernetes`',
);

describe('etcd snapshots of the kwok runtime', () => {
  const clusterId = `etcd-${randomUUID().slice(0, 8)}`;
  let dataDir = '';
  let provider: KwokProvider;
  let bootstrap: ClusterBootstrap;
  let core: CoreV1Api;
  const spec = (name: string, role: 'control-plane' | 'worker'): MachineSpec => ({
    machineId: name,
    clusterId,
    name,
    role,
    pool: role === 'control-plane' ? 'control-plane' : 'workers',
    kubernetesVersion: provider.kubernetesVersions[0]!,
  });
  const context = { bootstrap: async () => bootstrap };
  const configMaps = async (): Promise<string[]> =>
    (await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'test=etcd' })).items
      .map((c) => c.metadata!.name!)
      .sort();
  const createConfigMap = async (name: string): Promise<void> => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name, labels: { test: 'etcd' } }, data: { at: new Date().toISOString() } },
    });
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cx-kwok-etcd-'));
    provider = new KwokProvider({ dataDir, binaries });
    const pki = await createClusterPki(clusterId);
    bootstrap = {
      clusterName: clusterId,
      kubernetesVersion: provider.kubernetesVersions[0]!,
      pki,
      trustedCaPems: [pki.ca.certPem],
    };
    const controlPlane = await provider.ensureMachine(spec(`${clusterId}-cp-0`, 'control-plane'), context);
    await provider.ensureMachine(spec(`${clusterId}-w-0`, 'worker'), context);
    const config = await adminKubeConfig(pki, clusterId, controlPlane.apiEndpoint!);
    core = config.makeApiClient(CoreV1Api);
  });

  after(async () => {
    if (provider)
      for (const machine of await provider.listMachines(clusterId))
        await provider.deleteMachine(clusterId, machine.machineId);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('restores the objects of the snapshot: what was deleted since is back, what was created since is gone', async () => {
    await createConfigMap('before');
    const snapshot = await provider.etcdSnapshot(clusterId);
    // What `etcdctl snapshot save` writes: a bbolt database (its magic at offset 16) and a SHA-256 after it.
    assert.equal(snapshot.data.readUInt32LE(16), 0xed0cdaed, 'the snapshot is a bbolt database');
    await createConfigMap('after');
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'before' });
    assert.deepEqual(await configMaps(), ['after']);
    const pidsBefore = (
      JSON.parse(readFileSync(join(dataDir, clusterId, 'state.json'), 'utf8')) as { pids: Record<string, number> }
    ).pids;

    await provider.etcdRestore(clusterId, snapshot.data);
    assert.deepEqual(await configMaps(), ['before'], 'the cluster holds what the snapshot held');
    const state = JSON.parse(readFileSync(join(dataDir, clusterId, 'state.json'), 'utf8')) as {
      pids: Record<string, number>;
    };
    for (const name of ['etcd', 'apiserver', 'controllerManager', 'scheduler', 'kwok'])
      assert.notEqual(state.pids[name], pidsBefore[name], `${name} was started again`);
    const files = readdirSync(join(dataDir, clusterId));
    assert.ok(files.includes('etcd'));
    assert.deepEqual(
      files.filter((f) => ['etcd.previous', 'etcd.restored', 'restore.snapshot', 'etcd-restore.pid'].includes(f)),
      [],
      'no previous data directory, snapshot file or marker is left',
    );
    await until(
      'both nodes Ready again',
      async () => {
        const nodes = await provider.listNodes(clusterId);
        return nodes.length === 2 && nodes.every((n) => n.status === 'Ready') ? true : undefined;
      },
      90_000,
    );
    // Writes work, at a revision above any the cluster had before.
    await createConfigMap('later');
    assert.ok(
      (await provider.etcdSnapshot(clusterId)).revision > snapshot.revision + 1_000_000,
      'the revision moved on past the bump',
    );
  });

  it('refuses a restore without etcdutl, saying how to get it, and stops nothing', async () => {
    const { etcdutl: _, ...older } = binaries;
    const withoutEtcdutl = new KwokProvider({ dataDir, binaries: older });
    const snapshot = await provider.etcdSnapshot(clusterId);
    await createConfigMap('kept');
    await assert.rejects(
      withoutEtcdutl.etcdRestore(clusterId, snapshot.data),
      (error: { code?: string; message: string; details?: { reason?: string } }) => {
        assert.equal(error.code, 'CX_PROVIDER_ERROR');
        assert.equal(error.details?.reason, 'EtcdutlMissing');
        assert.match(error.message, /npm run peers -- kubernetes/);
        return true;
      },
    );
    // The older manifest still serves everything else, snapshots included.
    assert.ok((await withoutEtcdutl.etcdSnapshot(clusterId)).data.length > 0);
    assert.ok((await configMaps()).includes('kept'), 'nothing was rewound');
  });
});
