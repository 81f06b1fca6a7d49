/**
 * The upgrades a cluster may take: what checkUpgrade accepts is what upgradesOf lists as allowed,
 * and what it refuses is listed with the same words; a busy cluster allows nothing for now.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, ProviderInfo } from '@cx/api-schemas';
import { checkUpgrade, compareVersions, upgradesOf } from './checks.js';

const providers: ProviderInfo[] = [
  {
    name: 'sim',
    kubernetesVersions: ['1.32.2', '1.30.8', '1.31.4', '1.30.10', '1.29.3', '2.0.0'],
    contractVersion: '1',
    takesCredential: false,
  },
];
const cluster = (kubernetesVersion: string, activeWorkflowId: string | null = null): Cluster =>
  ({ id: 'c1', name: 'demo', provider: 'sim', kubernetesVersion, activeWorkflowId }) as Cluster;

describe('upgradesOf', () => {
  it('lists the newer offered versions oldest first (1.30.10 after 1.30.8), allowed under the skew policy or why not', () => {
    assert.deepEqual(
      upgradesOf(cluster('1.30.8'), providers).map((u) => `${u.kubernetesVersion} ${u.allowed} ${u.reason}`),
      ['1.30.10 true null', '1.31.4 true null', '1.32.2 false SkipsMinor', '2.0.0 false OtherMajor'],
    );
    assert.deepEqual(upgradesOf(cluster('2.0.0'), providers), []);
    assert.deepEqual(upgradesOf({ ...cluster('1.30.8'), provider: 'gone' }, providers), []);
  });

  it('agrees with checkUpgrade: allowed ones pass, refused ones fail with the message listed', () => {
    for (const upgrade of upgradesOf(cluster('1.30.8'), providers)) {
      if (upgrade.allowed) checkUpgrade(cluster('1.30.8'), upgrade.kubernetesVersion, providers);
      else
        assert.throws(
          () => checkUpgrade(cluster('1.30.8'), upgrade.kubernetesVersion, providers),
          (error: Error) => error.message === upgrade.message,
        );
    }
    assert.throws(() => checkUpgrade(cluster('1.31.4'), '1.30.10', providers), /is not an upgrade/);
  });

  it('allows nothing while another workflow runs, naming it', () => {
    const busy = upgradesOf(cluster('1.30.8', 'run-7'), providers);
    assert.deepEqual(
      busy.map((u) => `${u.kubernetesVersion} ${u.reason}`),
      ['1.30.10 ClusterBusy', '1.31.4 ClusterBusy', '1.32.2 SkipsMinor', '2.0.0 OtherMajor'],
    );
    assert.match(busy[0]!.message!, /workflow run-7 in progress/);
  });

  it('orders versions by number, not text', () => {
    assert.deepEqual(['1.10.0', '1.9.9', '1.9.10'].sort(compareVersions), ['1.9.9', '1.9.10', '1.10.0']);
  });
});
