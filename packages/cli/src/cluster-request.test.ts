import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClusterRequest, fromClusterDocument } from './cluster-request.js';

describe('cx create cluster request', () => {
  it('builds the smallest request from flags', () => {
    assert.deepEqual(
      buildClusterRequest('demo', {
        provider: 'sim',
        version: '1.31.4',
        controlPlane: 3,
        pools: [{ name: 'workers', count: 2, labels: { tier: 'web' } }],
      }),
      {
        name: 'demo',
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 3 },
        nodePools: [{ name: 'workers', count: 2, labels: { tier: 'web' } }],
      },
    );
  });

  it('takes a cluster as cx get -o yaml prints it, without what the server added; flags win', () => {
    const exported = {
      id: 'c1',
      name: 'demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      status: 'Ready',
      statusMessage: null,
      controlPlane: { count: 3, vcpus: 2, memoryMiB: 4096, schedulable: false },
      nodePools: [{ name: 'workers', count: 2 }],
      activeWorkflowId: null,
      resourceGroupId: 'rg1',
      apiEndpoint: null,
      apiVip: null,
      healthStatus: null,
      template: { id: 't1', name: 'small' },
      createdBy: 'u',
      createdAt: 'x',
      updatedAt: 'y',
    };
    assert.deepEqual(fromClusterDocument(exported), {
      name: 'demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 3, vcpus: 2, memoryMiB: 4096, schedulable: false },
      nodePools: [{ name: 'workers', count: 2 }],
      resourceGroup: 'rg1',
    });
    const request = buildClusterRequest(undefined, { controlPlane: 5, pools: [{ name: 'big', count: 9 }] }, exported);
    assert.equal(request.name, 'demo');
    assert.deepEqual(request.controlPlane, { count: 5, vcpus: 2, memoryMiB: 4096, schedulable: false });
    assert.deepEqual(request.nodePools, [{ name: 'big', count: 9 }]);
  });

  it('needs provider, version and control plane unless a template completes the request', () => {
    assert.throws(() => buildClusterRequest('demo', { provider: 'sim' }), /missing --version, --control-plane/);
    assert.deepEqual(buildClusterRequest('demo', { template: 'small' }), { name: 'demo', template: 'small' });
    assert.throws(() => buildClusterRequest(undefined, {}), /name the cluster/);
    assert.throws(
      () => buildClusterRequest('b', { template: 't' }, { name: 'a' }),
      /the file names the cluster a, the command b/,
    );
  });
});
