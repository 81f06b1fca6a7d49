/// <reference types="node" />
/**
 * The wizard's topologies, storm guard and quota count, and which cluster actions a provider's
 * capabilities and a role allow; the OS upgrade a rollback would undo.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, ProviderInfo, ResourceGroup } from '@cx/api-schemas';
import {
  clusterActions,
  footprint,
  parseMaxUnhealthy,
  quotaLines,
  rollbackCandidate,
  topologyShape,
} from './cluster-options.js';

describe('topologies', () => {
  it('gives each topology its control plane and pools', () => {
    assert.deepEqual(topologyShape('single'), { cpCount: '1', schedulable: true, workers: false });
    assert.deepEqual(topologyShape('converged'), { cpCount: '3', schedulable: true, workers: false });
    assert.deepEqual(topologyShape('ha'), { cpCount: '3', schedulable: false, workers: true });
    // A pair's side is a single-node cluster, as POST /api/v1/pairs requires.
    assert.deepEqual(topologyShape('pair'), { cpCount: '1', schedulable: true, workers: false });
    assert.equal(topologyShape('custom'), null);
  });
});

describe('storm guard as typed', () => {
  it('reads a count, a percentage or nothing, and says what else is wrong', () => {
    assert.deepEqual(parseMaxUnhealthy(''), { value: undefined });
    assert.deepEqual(parseMaxUnhealthy(' 2 '), { value: 2 });
    assert.deepEqual(parseMaxUnhealthy('40%'), { value: '40%' });
    assert.deepEqual(parseMaxUnhealthy('100%'), { value: '100%' });
    for (const bad of ['101%', '-1', '2.5', 'half', '05%'])
      assert.ok('problem' in parseMaxUnhealthy(bad), `${bad} is refused`);
  });
});

describe('quota left', () => {
  const group = (quotas: ResourceGroup['quotas'], usage: ResourceGroup['usage']) => ({ quotas, usage });
  it('counts machines and their sizes as sm does, the defaults for sizes left out', () => {
    const need = footprint(
      { controlPlane: { count: 3 }, nodePools: [{ count: 2, vcpus: 4, memoryMiB: 8192 }, { count: 0 }] },
      { vcpus: 2, memoryMiB: 4096 },
    );
    assert.deepEqual(need, { clusters: 1, nodes: 5, vcpus: 3 * 2 + 2 * 4, memoryMiB: 3 * 4096 + 2 * 8192 });
  });
  it('shows the limited quotas only, and which one the request would exceed', () => {
    const lines = quotaLines(group({ nodes: 10, vcpus: 20 }, { clusters: 4, nodes: 8, vcpus: 10, memoryMiB: 0 }), {
      clusters: 1,
      nodes: 3,
      vcpus: 6,
      memoryMiB: 12288,
    });
    assert.deepEqual(lines, [
      { quota: 'nodes', limit: 10, used: 8, left: 2, needed: 3, over: true },
      { quota: 'vcpus', limit: 20, used: 10, left: 10, needed: 6, over: false },
    ]);
  });
  it('lets a request that fills a quota exactly through, and nothing past a used-up one', () => {
    const [fits] = quotaLines(group({ clusters: 2 }, { clusters: 1, nodes: 0, vcpus: 0, memoryMiB: 0 }), {
      clusters: 1,
      nodes: 0,
      vcpus: 0,
      memoryMiB: 0,
    });
    assert.equal(fits!.over, false);
    const [full] = quotaLines(group({ clusters: 1 }, { clusters: 2, nodes: 0, vcpus: 0, memoryMiB: 0 }), {
      clusters: 1,
      nodes: 0,
      vcpus: 0,
      memoryMiB: 0,
    });
    assert.deepEqual({ left: full!.left, over: full!.over }, { left: 0, over: true });
  });
});

describe('cluster actions', () => {
  const cluster: Pick<Cluster, 'status' | 'nodePools' | 'apiEndpoint'> = {
    status: 'Ready',
    nodePools: [{ name: 'workers', count: 2 }],
    apiEndpoint: 'https://127.0.0.1:6443',
  };
  const provider = (capabilities: Partial<NonNullable<ProviderInfo['capabilities']>>) => ({
    capabilities: { power: true, loadBalancer: false, virtualIp: false, ...capabilities },
  });
  const kwok = provider({
    kubernetesApi: true,
    etcdSnapshot: true,
    certificateRotation: true,
    osImages: true,
  });
  const sim = provider({ kubernetesApi: false });

  it('offers an admin everything its provider can do', () => {
    const can = clusterActions(cluster, kwok, 'admin');
    assert.ok(Object.values(can).every(Boolean), JSON.stringify(can));
  });
  it('keeps rotations and restores for admins, and offers a viewer no action', () => {
    const operator = clusterActions(cluster, kwok, 'operator');
    assert.deepEqual(
      [operator.osUpgrade, operator.takeSnapshot, operator.manageAddons, operator.manageHaConfigs],
      [true, true, true, true],
    );
    assert.deepEqual([operator.rotateCertificates, operator.rotateCa, operator.restoreSnapshot], [false, false, false]);
    const viewer = clusterActions(cluster, kwok, 'viewer');
    assert.deepEqual(
      [viewer.addons, viewer.haConfigs, viewer.etcdSnapshots],
      [true, true, true],
      'a viewer sees the lists',
    );
    for (const action of [
      'osUpgrade',
      'osRollback',
      'rotateCertificates',
      'rotateCa',
      'manageAddons',
      'manageHaConfigs',
      'takeSnapshot',
      'restoreSnapshot',
    ] as const)
      assert.equal(viewer[action], false, action);
    assert.ok(Object.values(clusterActions(cluster, kwok, undefined)).every((v) => v === true || v === false));
  });
  it('hides what the provider cannot do (sim: no Kubernetes API, no images, no snapshots), as wfm refuses it', () => {
    const can = clusterActions(cluster, sim, 'admin');
    assert.deepEqual(
      [can.osUpgrade, can.rotateCertificates, can.addons, can.haConfigs, can.etcdSnapshots],
      [false, false, false, false, false],
    );
    // wfm rotates the CA of a cluster without a Kubernetes API: nobody can be locked out.
    assert.equal(can.rotateCa, true);
    assert.equal(clusterActions(cluster, provider({ kubernetesApi: true }), 'admin').rotateCa, false);
    assert.equal(clusterActions(cluster, undefined, 'admin').osUpgrade, false, 'an unknown provider: nothing');
  });
  it('offers an OS upgrade only to a Ready cluster with workers', () => {
    assert.equal(clusterActions({ ...cluster, nodePools: [] }, kwok, 'admin').osUpgrade, false);
    assert.equal(clusterActions({ ...cluster, status: 'Updating' }, kwok, 'admin').osUpgrade, false);
  });
});

describe('OS upgrade rollback', () => {
  const run = (id: string, workflow: string, status: 'Succeeded' | 'Failed' | 'Cancelled' | 'Running') => ({
    id,
    workflow,
    status,
  });
  it('rolls back the newest OS upgrade when it failed or was cancelled, and not once rolled back', () => {
    assert.equal(
      rollbackCandidate([run('3', 'cluster.scale', 'Succeeded'), run('2', 'cluster.os-upgrade', 'Failed')]),
      '2',
    );
    assert.equal(rollbackCandidate([run('2', 'cluster.os-upgrade', 'Cancelled')]), '2');
    assert.equal(rollbackCandidate([run('2', 'cluster.os-upgrade', 'Succeeded')]), undefined);
    assert.equal(rollbackCandidate([run('2', 'cluster.os-upgrade', 'Running')]), undefined);
    assert.equal(
      rollbackCandidate([
        run('3', 'cluster.os-upgrade-rollback', 'Succeeded'),
        run('2', 'cluster.os-upgrade', 'Failed'),
      ]),
      undefined,
    );
    assert.equal(rollbackCandidate([]), undefined);
  });
});
