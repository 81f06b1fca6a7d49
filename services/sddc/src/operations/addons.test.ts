/**
 * The order of an addon's removal (against a real API server in test/e2e/addons.test.ts): the kinds
 * the addon removes first, alone in the first phase, then the rest with namespaces and CRDs last;
 * and how an object removal waits for is described.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject as ClientObject } from '@kubernetes/client-node';
import { findAddon, renderAddon, type AddonCluster } from '@cx/k8s';
import { holding, removalKinds, removalOrder } from './addons.js';

const cluster: AddonCluster = { id: 'c1', name: 'c', provider: 'kwok', kubernetesVersion: '1.37.2' };
const kubevirt = findAddon('kubevirt')!;
const objects = renderAddon(kubevirt, { useEmulation: false, featureGates: [] }, cluster);

describe('addon removal order', () => {
  it('first phase of kubevirt: its KubeVirt resource only; an addon without removeFirst has no first phase', () => {
    assert.deepEqual(removalKinds(kubevirt, objects, 'first'), [{ apiVersion: 'kubevirt.io/v1', kind: 'KubeVirt' }]);
    assert.ok(removalKinds(kubevirt, objects).length > 5, 'the whole removal covers every kind');
    const nginx = findAddon('ingress-nginx')!;
    assert.deepEqual(
      removalKinds(
        nginx,
        renderAddon(nginx, { replicas: 1, serviceType: 'NodePort', defaultClass: false }, cluster),
        'first',
      ),
      [],
    );
  });

  it('deletes the KubeVirt resource before its operator, the CRD and the namespace last', () => {
    const kinds = removalOrder(kubevirt, [...objects].reverse()).map((o) => o.kind);
    assert.equal(kinds[0], 'KubeVirt');
    assert.ok(kinds.indexOf('Deployment') < kinds.indexOf('ServiceAccount'));
    assert.deepEqual(kinds.slice(-2), ['CustomResourceDefinition', 'Namespace']);
  });

  it('says what holds an object: its finalizers, a deletion under way, or none asked for', () => {
    const kv = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'KubeVirt',
      metadata: { namespace: 'kubevirt', name: 'kubevirt' },
    };
    const deleting = { ...kv, metadata: { ...kv.metadata, deletionTimestamp: new Date() } };
    assert.equal(
      holding({
        ...deleting,
        metadata: { ...deleting.metadata, finalizers: ['kubevirt.io/virtOperatorFinalize'] },
      } as ClientObject),
      'KubeVirt kubevirt/kubevirt: waiting for its finalizers (kubevirt.io/virtOperatorFinalize)',
    );
    assert.equal(holding(deleting as ClientObject), 'KubeVirt kubevirt/kubevirt: being deleted');
    assert.equal(
      holding({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubevirt' } }),
      'Namespace kubevirt: not deleted yet',
    );
  });
});
