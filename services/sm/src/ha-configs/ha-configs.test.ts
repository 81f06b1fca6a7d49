/** The status of ha-configs against real SQL (SQLite and MariaDB): what an apply recorded and what the health monitor saw. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { HaConfigs } from './ha-configs.js';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import type { StartRequest } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const apply = (haConfigId: string): StartRequest => ({
  actor: 'cx:ha-config',
  workflow: {
    workflow: 'ha-config.apply',
    version: 1,
    steps: ['apply-keepalived', 'mark-ready'],
    input: { haConfigId },
    clusterStatus: 'Updating',
  },
});

for (const target of testDatabases) {
  describe(`ha-config status on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    let haConfigs: HaConfigs;

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const box = new SecretBox('x'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      haConfigs = new HaConfigs(db);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('records the nodes an apply configured with the step, and what the monitor saw, per cluster', async () => {
      const created = await clusters.create(
        { name: 'ha', provider: 'sim', kubernetesVersion: '1.31.4', controlPlane: { count: 1 }, nodePools: [] },
        {
          actor: 'u',
          workflow: { workflow: 'cluster.create', version: 1, steps: ['a'], input: {}, clusterStatus: 'Provisioning' },
        },
      );
      const clusterId = created.body.cluster.id;
      await runs.completeStep(created.body.workflow.id, 0, 0, null, [{ kind: 'setClusterStatus', status: 'Ready' }]);

      const accepted = await clusters.startWorkflow(clusterId, apply('h1'), async (trx) => ({
        haConfig: await haConfigs.create(
          trx,
          'h1',
          {
            clusterId,
            name: 'web',
            virtualIps: '192.0.2.10-11',
            selector: { role: 'edge' },
            watchPort: 80,
            interface: 'eth0',
            unicast: true,
            preempt: true,
          },
          'u',
        ),
      }));
      assert.deepEqual((accepted.body['haConfig'] as { status: unknown }).status, { applied: null, sync: null });
      assert.deepEqual(
        (await haConfigs.get('h1')).status,
        { applied: null, sync: null },
        'nothing recorded before the apply',
      );

      const runId = accepted.body.workflow.id;
      const nodes = [
        { name: 'edge-0', address: '10.0.0.10' },
        { name: 'edge-1', address: '10.0.0.11' },
      ];
      await runs.completeStep(runId, 0, 0, { nodes: ['edge-0', 'edge-1'] }, [
        { kind: 'setHaConfigApplied', id: 'h1', nodes, workflowId: runId },
      ]);
      const applied = (await haConfigs.get('h1')).status.applied;
      assert.deepEqual(applied && { nodes: applied.nodes, workflowId: applied.workflowId }, {
        nodes,
        workflowId: runId,
      });
      assert.ok(applied && !Number.isNaN(Date.parse(applied.at)));

      const sync = {
        state: 'NoMatchingNode' as const,
        message: 'no node matches the selector {"role":"edge"} any more',
        since: '2026-11-23T12:00:00.000Z',
      };
      await haConfigs.setSync('h1', sync);
      const seen = await haConfigs.get('h1');
      assert.deepEqual(seen.status.sync, sync);
      assert.equal(seen.version, 1, 'an observation changes no version');
      await assert.rejects(haConfigs.setSync('nope', sync), { code: 'CX_NOT_FOUND' });

      const byCluster = await haConfigs.ofClusters([clusterId, 'other']);
      assert.deepEqual(
        byCluster.get(clusterId)?.map((h) => [h.name, h.status.sync?.state]),
        [['web', 'NoMatchingNode']],
      );
      assert.deepEqual(byCluster.get('other'), []);
    });
  });
}
