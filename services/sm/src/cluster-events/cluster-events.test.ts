/**
 * A cluster's feed against real SQL (SQLite and MariaDB): the events of its runs and of its audit
 * entries, with their reasons, newest first; pages that add up to the whole even when many events
 * share one instant; and the oldest-first read from an instant that a stream polls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { ClusterEvent } from '@cx/api-schemas';
import { migrateLatest } from '@cx/migrations';
import { AuditLog } from '../audit/audit-log.js';
import { Clusters } from '../clusters/clusters.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';
import { Resources } from '../resources/resources.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { SecretBox } from '../secrets/secret-box.js';
import { ClusterEvents } from './cluster-events.js';

for (const target of testDatabases) {
  describe(`cluster events on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusterId = '';
    let runId = '';
    let events: ClusterEvents;

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const box = new SecretBox('x'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      const runs = new WorkflowRuns(db, tenants);
      const clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      events = new ClusterEvents(db);
      const created = await clusters.create(
        { name: 'feed', provider: 'sim', kubernetesVersion: '1.31.4', controlPlane: { count: 1 }, nodePools: [] },
        {
          actor: 'cx:test',
          workflow: {
            workflow: 'cluster.create',
            version: 1,
            steps: ['provision', 'wait'],
            input: {},
            clusterStatus: 'Provisioning',
          },
        },
      );
      clusterId = created.body.cluster.id;
      runId = created.body.workflow.id;
      await runs.startStep(runId, 0, 0, 1);
      await runs.completeStep(runId, 0, 0, null, [], '1/1 machines provisioned');
      await runs.startStep(runId, 1, 0, 1);
      await runs.failStep(runId, 1, 0, {
        code: 'CX_PROVIDER_ERROR',
        message: 'feed-cp-0 not Ready',
        reason: 'NodesNotReady',
        retryable: false,
      });
      const audit = new AuditLog(db);
      const record = (entry: Parameters<AuditLog['record']>[0]) =>
        audit.record({ targetKind: 'cluster', targetId: clusterId, ...entry });
      await record({
        actor: 'cx:health',
        action: 'node.remediate',
        outcome: 'accepted',
        details: { machine: 'feed-cp-0', reason: 'NotReady for 300 s', workflowId: 'w-remediate' },
      });
      await record({
        actor: 'alice',
        action: 'PATCH /api/v1/clusters/:id/nodepools/:pool',
        outcome: 'success',
        details: { status: 202, workflowId: 'w-scale' },
      });
      // Many refusals in a burst: several share an instant.
      for (let i = 0; i < 6; i++)
        await record({
          actor: 'bob',
          action: 'DELETE /api/v1/clusters/:id',
          outcome: 'failure',
          details: { status: 403 },
        });
      await audit.record({
        actor: 'bob',
        action: 'DELETE /api/v1/clusters/:id',
        outcome: 'failure',
        targetKind: 'cluster',
        targetId: 'another',
      });
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it("tells the cluster's runs and cx's decisions with their reasons, newest first, and leaves out calls whose run tells them", async () => {
      const page = await events.list(clusterId, { limit: 500 });
      assert.equal(page.nextCursor, null);
      const keys = page.items.map((e) => `${e.at}|${e.id}`);
      assert.deepEqual(keys, [...keys].sort().reverse());
      const of = (type: ClusterEvent['type']) => page.items.filter((e) => e.type === type);
      assert.deepEqual(
        [
          of('WorkflowStarted').length,
          of('StepSucceeded').length,
          of('StepFailed').length,
          of('WorkflowFailed').length,
        ],
        [1, 1, 1, 1],
      );
      assert.equal(of('WorkflowStarted')[0]!.message, 'workflow cluster.create started by cx:test');
      assert.equal(of('StepSucceeded')[0]!.message, 'step provision of cluster.create done: 1/1 machines provisioned');
      assert.deepEqual(
        [of('StepFailed')[0]!.message, of('StepFailed')[0]!.reason, of('StepFailed')[0]!.step],
        ['step wait of cluster.create failed: feed-cp-0 not Ready', 'NodesNotReady', 'wait'],
      );
      assert.equal(of('WorkflowFailed')[0]!.reason, 'CX_PROVIDER_ERROR');
      const audited = of('Audit');
      assert.equal(audited.length, 7, "the remediation and the six refusals; not alice's call, nor another cluster's");
      const remediation = audited.find((e) => e.actor === 'cx:health')!;
      assert.deepEqual(
        [remediation.message, remediation.reason, remediation.workflowId],
        ['node.remediate by cx:health: accepted, node feed-cp-0', 'NotReady for 300 s', 'w-remediate'],
      );
      assert.ok(audited.filter((e) => e.actor === 'bob').every((e) => e.message.endsWith(': failure (403)')));
      assert.ok(page.items.every((e) => e.workflowId !== runId || e.workflow === 'cluster.create'));
    });

    it('pages add up to the whole, one event at a time, through instants many events share', async () => {
      const whole = (await events.list(clusterId, { limit: 500 })).items.map((e) => e.id);
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await events.list(clusterId, { limit: 1, ...(cursor ? { cursor } : {}) });
        paged.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(paged, whole);
    });

    it('reads oldest first from an instant (what a stream polls), the same events', async () => {
      const whole = (await events.list(clusterId, { limit: 500 })).items;
      const since = await events.list(clusterId, { since: '2000-01-01T00:00:00.000Z', limit: 500 });
      assert.deepEqual(since.items, [...whole].reverse());
      const later = await events.list(clusterId, { since: whole[0]!.at, limit: 500 });
      assert.ok(later.items.every((e) => e.at >= whole[0]!.at) && later.items.length >= 1);
    });

    it('answers 404 for a cluster that does not exist, 400 for a cursor it did not write', async () => {
      await assert.rejects(events.list('nosuch', {}), { code: 'CX_NOT_FOUND' });
      await assert.rejects(events.list(clusterId, { cursor: 'junk' }), { code: 'CX_INPUT_INVALID' });
    });
  });
}
