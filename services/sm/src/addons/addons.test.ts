/** Cluster addons against real SQL (SQLite and MariaDB): rows written with their workflow, statuses, sealed secrets. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { ClusterAddons } from './addons.js';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import type { StartRequest } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const start = (workflow: string, steps: string[], input: Record<string, unknown>): StartRequest => ({
  actor: 'user-1',
  workflow: { workflow, version: 1, steps, input, clusterStatus: 'Updating' },
});

for (const target of testDatabases) {
  describe(`cluster addons on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    let addons: ClusterAddons;
    let clusterId = '';

    /** Runs every step of the cluster's active workflow to its end, committing `effects` with the last. */
    const finish = async (runId: string, effects: Parameters<WorkflowRuns['completeStep']>[4]): Promise<void> => {
      const run = await runs.get(runId);
      for (let idx = 0; idx < run.steps.length; idx++) {
        await runs.startStep(runId, idx, 0, 1);
        await runs.completeStep(runId, idx, 0, null, idx === run.steps.length - 1 ? effects : []);
      }
    };

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const box = new SecretBox('x'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      addons = new ClusterAddons(db, box);
      const created = await clusters.create(
        { name: 'addons', provider: 'sim', kubernetesVersion: '1.31.4', controlPlane: { count: 1 }, nodePools: [] },
        start('cluster.create', ['a'], {}),
      );
      clusterId = created.body.cluster.id;
      await finish(created.body.workflow.id, [{ kind: 'setClusterStatus', status: 'Ready' }]);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('stores an install with its workflow, the secret sealed apart, and marks it Installed with the last step', async () => {
      const accepted = await clusters.startWorkflow(
        clusterId,
        start('addon.install', ['apply', 'mark'], { addon: 'log-forwarding' }),
        async (trx) => ({
          addon: await addons.install(
            trx,
            clusterId,
            'log-forwarding',
            {
              version: '3.2.8',
              settings: { type: 'http', url: 'https://logs.example' },
              secrets: { token: 'hunter2-token' },
            },
            'user-1',
          ),
        }),
      );
      const addon = accepted.body['addon'] as {
        status: string;
        workflowId: string;
        secretSettings: string[];
        settings: Record<string, unknown>;
      };
      assert.equal(addon.status, 'Installing');
      assert.equal(addon.workflowId, accepted.body.workflow.id);
      assert.deepEqual(addon.secretSettings, ['token']);
      assert.equal(addon.settings['token'], undefined);
      const row = (await db('cluster_addons')
        .where({ cluster_id: clusterId, name: 'log-forwarding' })
        .first()) as Record<string, string>;
      assert.doesNotMatch(JSON.stringify(row), /hunter2/, 'the token is sealed at rest');
      assert.deepEqual((await addons.reveal(clusterId, 'log-forwarding')).settings, {
        type: 'http',
        url: 'https://logs.example',
        token: 'hunter2-token',
      });

      // One mutating workflow per cluster: a second start is refused and stores nothing.
      await assert.rejects(
        clusters.startWorkflow(clusterId, start('addon.install', ['apply'], { addon: 'monitoring' }), async (trx) => ({
          addon: await addons.install(
            trx,
            clusterId,
            'monitoring',
            { version: 'v3.2.1', settings: {}, secrets: {} },
            'user-1',
          ),
        })),
        { code: 'CX_CLUSTER_BUSY' },
      );
      assert.deepEqual(
        (await addons.list(clusterId)).map((a) => a.name),
        ['log-forwarding'],
      );

      await finish(accepted.body.workflow.id, [
        { kind: 'setAddonInstalled', name: 'log-forwarding' },
        { kind: 'setClusterStatus', status: 'Ready' },
      ]);
      const installed = await addons.get(clusterId, 'log-forwarding');
      assert.equal(installed.status, 'Installed');
      assert.ok(installed.installedAt);
    });

    it("answers Failed with the workflow's reason when the install failed", async () => {
      const accepted = await clusters.startWorkflow(
        clusterId,
        start('addon.install', ['apply'], { addon: 'monitoring' }),
        async (trx) => ({
          addon: await addons.install(
            trx,
            clusterId,
            'monitoring',
            { version: 'v3.2.1', settings: {}, secrets: {} },
            'user-1',
          ),
        }),
      );
      await runs.startStep(accepted.body.workflow.id, 0, 0, 1);
      await runs.failStep(accepted.body.workflow.id, 0, 0, {
        code: 'CX_PROVIDER_ERROR',
        message: 'addon monitoring not ready after 600 s',
        reason: 'AddonNotReady',
      });
      const failed = await addons.get(clusterId, 'monitoring');
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.message, 'addon monitoring not ready after 600 s');
    });

    it('removes: 404 for an addon not installed (nothing started), the row goes with the last step', async () => {
      await db('clusters').where({ id: clusterId }).update({ status: 'Ready' });
      const runs = async (): Promise<number> =>
        Number(((await db('workflow_runs').count({ n: '*' })) as Array<{ n: number }>)[0]!.n);
      const before = await runs();
      await assert.rejects(
        clusters.startWorkflow(
          clusterId,
          start('addon.remove', ['delete'], { addon: 'ingress-nginx' }),
          async (trx) => ({ addon: await addons.remove(trx, clusterId, 'ingress-nginx') }),
        ),
        { code: 'CX_NOT_FOUND' },
      );
      assert.equal(await runs(), before);
      assert.equal((await clusters.get(clusterId)).activeWorkflowId, null, 'the lock was rolled back');
      const accepted = await clusters.startWorkflow(
        clusterId,
        start('addon.remove', ['delete'], { addon: 'monitoring' }),
        async (trx) => ({ addon: await addons.remove(trx, clusterId, 'monitoring') }),
      );
      assert.equal((accepted.body['addon'] as { status: string }).status, 'Removing');
      await finish(accepted.body.workflow.id, [
        { kind: 'deleteAddon', name: 'monitoring' },
        { kind: 'setClusterStatus', status: 'Ready' },
      ]);
      assert.deepEqual(
        (await addons.list(clusterId)).map((a) => a.name),
        ['log-forwarding'],
      );
    });
  });
}
