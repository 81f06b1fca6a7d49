/** Names in place of ids against real SQL (SQLite and MariaDB): ids first, then unique names; a shared name asks for the id. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { migrateLatest } from '@cx/migrations';
import { Clusters } from '../clusters/clusters.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';
import { Resources } from '../resources/resources.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { SecretBox } from '../secrets/secret-box.js';
import { Names } from './names.js';

for (const target of testDatabases) {
  describe(`names on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let names: Names;
    const cluster = async (name: string): Promise<string> =>
      (
        await clusters.create(
          { name, provider: 'sim', kubernetesVersion: '1.31.4', controlPlane: { count: 1 }, nodePools: [] },
          {
            actor: 'u',
            workflow: {
              workflow: 'cluster.create',
              version: 1,
              steps: ['a'],
              input: {},
              clusterStatus: 'Provisioning',
            },
          },
        )
      ).body.cluster.id;
    const haConfig = async (id: string, clusterId: string, name: string): Promise<void> => {
      const now = new Date().toISOString();
      await db('ha_configs').insert({
        id,
        cluster_id: clusterId,
        name,
        spec: '{}',
        created_by: 'u',
        created_at: now,
        updated_at: now,
      });
    };

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const box = new SecretBox('x'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      clusters = new Clusters(db, new WorkflowRuns(db, tenants), new Resources(db, box), tenants);
      names = new Names(db);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('resolves an id to itself, a name to its id, and what names nothing to null', async () => {
      const demo = await cluster('demo');
      assert.equal(await names.resolve('cluster', demo), demo);
      assert.equal(await names.resolve('cluster', 'demo'), demo);
      assert.equal(await names.resolve('cluster', 'nosuch'), null);
      assert.equal(await names.resolve('user', 'demo'), null, 'each kind in its own table');
    });

    it("takes an id before a name: a cluster named like another's id does not shadow it", async () => {
      const first = await cluster('first');
      const lookalike = await cluster(first);
      assert.notEqual(lookalike, first);
      assert.equal(await names.resolve('cluster', first), first);
      assert.equal(await names.resolve('cluster', lookalike), lookalike);
    });

    it('refuses a name that ha-configs of two clusters share (409, asking for the id), and resolves a unique one', async () => {
      const a = await cluster('ha-a');
      const b = await cluster('ha-b');
      await haConfig('0190f0f0-0000-7000-8000-00000000000a', a, 'vips');
      await haConfig('0190f0f0-0000-7000-8000-00000000000b', b, 'vips');
      await haConfig('0190f0f0-0000-7000-8000-00000000000c', b, 'ingress');
      await assert.rejects(names.resolve('ha-config', 'vips'), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'CX_CONFLICT');
        assert.match(error.message, /address it by id/);
        return true;
      });
      assert.equal(await names.resolve('ha-config', 'ingress'), '0190f0f0-0000-7000-8000-00000000000c');
      assert.equal(
        await names.resolve('ha-config', '0190f0f0-0000-7000-8000-00000000000a'),
        '0190f0f0-0000-7000-8000-00000000000a',
      );
    });
  });
}
