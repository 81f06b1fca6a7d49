/**
 * One pod network per cluster: the route answers 409 CX_CONFLICT with what this function finds.
 * The catalog's two CNIs (cni-flannel, cni-kube-router) are checked here; test/e2e/addons.test.ts
 * asks for the second one through the public API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otherNetworkAddon } from './routes.js';

describe('one pod network addon per cluster', () => {
  const installed = [
    { name: 'metrics-server', status: 'Installed' },
    { name: 'cni-flannel', status: 'Failed' },
  ];

  it('finds the CNI a cluster already has, whatever its state, when another is asked for', () => {
    const isNetwork = (name: string): boolean => name.startsWith('cni-');
    assert.deepEqual(otherNetworkAddon(installed, 'cni-other', isNetwork), { name: 'cni-flannel', status: 'Failed' });
    assert.equal(
      otherNetworkAddon(installed, 'cni-flannel', isNetwork),
      undefined,
      'installing the same CNI again (new settings) is allowed',
    );
    assert.equal(otherNetworkAddon([{ name: 'metrics-server' }], 'cni-other', isNetwork), undefined);
  });

  it('knows cni-flannel and cni-kube-router from the catalog as pod networks', () => {
    assert.deepEqual(otherNetworkAddon(installed, 'cni-kube-router'), { name: 'cni-flannel', status: 'Failed' });
    assert.equal(otherNetworkAddon(installed, 'cni-flannel'), undefined);
    assert.deepEqual(otherNetworkAddon([{ name: 'cni-kube-router' }], 'cni-flannel'), { name: 'cni-kube-router' });
  });
});
