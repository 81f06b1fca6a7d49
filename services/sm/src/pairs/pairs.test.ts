/** Pairs against real SQL (SQLite and MariaDB): what a pair's declaration must satisfy, and what it then forbids. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { ClusterCreateRequest, PairCreateRequest } from '@cx/api-schemas';
import { migrateLatest } from '@cx/migrations';
import { Pairs } from './pairs.js';
import { Resources } from '../resources/resources.js';
import { SecretBox } from '../secrets/secret-box.js';
import type { StartRequest } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { testDatabases } from '../db/test-databases.js';

const box = new SecretBox('p'.repeat(32));
const start = (workflow: string, clusterStatus: 'Provisioning' | 'Updating' | 'Deleting'): StartRequest => ({
  actor: 'ops',
  workflow: { workflow, version: 1, steps: ['a'], input: {}, clusterStatus },
});

for (const target of testDatabases) {
  describe(`Pairs on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    let pairs: Pairs;
    const ids: Record<string, string> = {};

    /** A cluster as its create workflow leaves it: Ready, with one row per machine. */
    async function readyCluster(
      name: string,
      controlPlane: ClusterCreateRequest['controlPlane']['count'],
      address?: string,
    ): Promise<string> {
      const request: ClusterCreateRequest = {
        name,
        provider: 'kwok',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: controlPlane },
        nodePools: [],
      };
      const id = (await clusters.create(request, start('cluster.create', 'Provisioning'))).body.cluster.id;
      await db('clusters').where({ id }).update({ status: 'Ready', active_run_id: null });
      for (let i = 0; i < controlPlane; i++) {
        await db('machines').insert({
          id: `${id.slice(0, 30)}-m${i}`,
          cluster_id: id,
          pool: 'control-plane',
          name: `${name}-cp-${i}`,
          role: 'control-plane',
          kubernetes_version: '1.31.4',
          phase: 'Running',
          provider_id: `kwok://${name}-${i}`,
          addresses: JSON.stringify(address ? [address] : []),
          node_status: 'Ready',
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          version: 1,
        });
      }
      return id;
    }
    const declare = (overrides: Partial<PairCreateRequest> = {}): PairCreateRequest => ({
      name: 'edge',
      sides: { a: { clusterId: ids['a']! }, b: { clusterId: ids['b']!, agentUrl: 'http://192.0.2.20:7000' } },
      singletons: [{ namespace: 'apps', name: 'db', preferredSide: 'a' }],
      timing: { fencingDelayMs: 0 },
      ...overrides,
    });

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      pairs = new Pairs(db, box);
      ids['a'] = await readyCluster('side-a', 1, '192.0.2.10');
      ids['b'] = await readyCluster('side-b', 1);
      ids['three'] = await readyCluster('three', 3, '192.0.2.30');
      ids['bare'] = await readyCluster('bare', 1);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('refuses what cannot be a pair, naming the field, and stores nothing', async () => {
      await assert.rejects(
        pairs.create(declare({ sides: { a: { clusterId: ids['a']! }, b: { clusterId: ids['three']! } } }), 'ops'),
        (error: any) =>
          error.code === 'CX_INPUT_INVALID' &&
          /single-node/.test(error.message) &&
          error.details.fields[0].field === 'body.sides.b.clusterId',
      );
      await assert.rejects(
        pairs.create(declare({ sides: { a: { clusterId: ids['a']! }, b: { clusterId: ids['a']! } } }), 'ops'),
        (error: any) => error.details.fields[0].field === 'body.sides.b.clusterId',
      );
      await assert.rejects(
        pairs.create(declare({ sides: { a: { clusterId: ids['a']! }, b: { clusterId: 'missing' } } }), 'ops'),
        { code: 'CX_NOT_FOUND' },
      );
      // No address on the machine and no agentUrl: cx cannot know where the agent listens.
      await assert.rejects(
        pairs.create(declare({ sides: { a: { clusterId: ids['a']! }, b: { clusterId: ids['bare']! } } }), 'ops'),
        (error: any) => error.details.fields[0].field === 'body.sides.b.agentUrl',
      );
      assert.equal((await pairs.list(50, undefined, async () => true)).items.length, 0);
    });

    it('declares a pair: defaults filled, the token sealed at rest, the same spec for the witness and both agents', async () => {
      const pair = await pairs.create(declare(), 'ops');
      ids['pair'] = pair.id;
      assert.deepEqual(pair.sides, {
        a: { clusterId: ids['a'], agentUrl: 'http://192.0.2.10:9640' },
        b: { clusterId: ids['b'], agentUrl: 'http://192.0.2.20:7000' },
      });
      assert.equal(pair.preferredSide, 'a');
      assert.equal(pair.afterFence, 'power-on');
      assert.equal(pair.timing.fencingDelayMs, 0);
      assert.equal(pair.timing.peerLossTimeoutMs, 10_000);
      assert.equal(pair.status, null);
      const [witnessTarget] = await pairs.targets();
      const agent = await pairs.agentConfig(pair.id, 'b');
      assert.deepEqual(agent['spec'], witnessTarget!.spec);
      assert.equal(agent['token'], witnessTarget!.token);
      assert.equal(agent['peerUrl'], 'http://192.0.2.10:9640');
      assert.equal(agent['listen'], '0.0.0.0:7000');
      const row = (await db('pairs').where({ id: pair.id }).first()) as { agent_token: string };
      assert.ok(!row.agent_token.includes(witnessTarget!.token), 'the token is stored sealed');
      assert.deepEqual((witnessTarget!.spec as any).sides.a.bmc, {
        protocol: 'provider',
        address: `kwok/${ids['a']!.slice(0, 30)}-m0`,
      });
    });

    it('a cluster belongs to one pair, and cannot be deleted or resized while paired', async () => {
      await assert.rejects(
        pairs.create(declare({ name: 'other' }), 'ops'),
        (error: any) => error.code === 'CX_CONFLICT' && /pair edge/.test(error.message),
      );
      await assert.rejects(
        clusters.startWorkflow(ids['b']!, start('cluster.delete', 'Deleting')),
        (error: any) => error.code === 'CX_CONFLICT' && /pair edge/.test(error.message),
      );
      await assert.rejects(clusters.scalePool(ids['a']!, 'control-plane', 3, start('cluster.scale', 'Updating')), {
        code: 'CX_CONFLICT',
      });
      assert.equal((await db('clusters').where({ id: ids['b'] }).first()).status, 'Ready', 'nothing changed');
    });

    it('keeps the witness snapshot and status, then deletes the pair and frees its clusters', async () => {
      await pairs.saveWitness(ids['pair']!, { version: 1, pair: 'edge', nextSeq: 4 });
      await pairs.saveStatus(ids['pair']!, {
        at: new Date().toISOString(),
        phase: 'Healthy',
        conditions: [],
        sides: { a: {}, b: {} },
        singletons: [],
        events: [],
      });
      assert.equal((await pairs.get(ids['pair']!)).status?.phase, 'Healthy');
      assert.equal(((await pairs.targets())[0]!.witness as { nextSeq: number }).nextSeq, 4);
      await pairs.delete(ids['pair']!);
      await assert.rejects(pairs.get(ids['pair']!), { code: 'CX_NOT_FOUND' });
      const accepted = await clusters.startWorkflow(ids['b']!, start('cluster.delete', 'Deleting'));
      assert.equal(accepted.body.cluster.status, 'Deleting');
    });
  });
}
