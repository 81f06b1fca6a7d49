/**
 * One pod network per cluster. The catalog has a single CNI today (cni-flannel), so a second one
 * cannot be asked for through the API yet; the rule is checked here with a stand-in for a second
 * network addon, and the route answers 409 CX_CONFLICT with what this function finds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otherNetworkAddon } from './addon-routes.js';

describe('one pod network addon per cluster', () => {
  const installed = [{ name: 'metrics-server', status: 'Installed' }, { name: 'cni-flannel', status: 'Failed' }];

  it('finds the CNI a cluster already has, whatever its state, when another is asked for', () => {
    const isNetwork = (name: string): boolean => name.startsWith('cni-');
    assert.deepEqual(otherNetworkAddon(installed, 'cni-other', isNetwork), { name: 'cni-flannel', status: 'Failed' });
    assert.equal(otherNetworkAddon(installed, 'cni-flannel', isNetwork), undefined, 'installing the same CNI again (new settings) is allowed');
    assert.equal(otherNetworkAddon([{ name: 'metrics-server' }], 'cni-other', isNetwork), undefined);
  });

  it('knows cni-flannel from the catalog as a pod network', () => {
    assert.deepEqual(otherNetworkAddon(installed, 'cni-next'), { name: 'cni-flannel', status: 'Failed' });
    assert.equal(otherNetworkAddon(installed, 'cni-flannel'), undefined);
  });
});
