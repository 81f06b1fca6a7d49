/**
 * etcd snapshots against real SQL (SQLite and MariaDB): sealed at rest, bound to their workflow and
 * cluster, limited in size, listed, deleted (alone and with their cluster), still readable after a
 * key rotation; and sm's HTTP routes for them (octet-stream above sm's 4 MiB JSON limit).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { migrateLatest } from '@cx/migrations';
import type { SmApp } from '../app.js';
import { EtcdSnapshots } from './etcd-snapshots.js';
import { Resources } from '../resources/resources.js';
import { SecretBox, SecretKeyMismatchError, rotateSecrets } from '../secrets/secret-box.js';
import type { StartRequest } from '@cx/sm-contract';
import { Clusters } from '../clusters/clusters.js';
import { WorkflowRuns } from '../runs/workflow-runs.js';
import { TenantCredentials } from '../clusters/tenant-credentials.js';
import { smAppOnSqlite, testDatabases } from '../db/test-databases.js';

const MARKER = Buffer.from('kind: Secret data: password: aHVudGVyMi1zdXBlci1zZWNyZXQ= ');
/** A stand-in for a snapshot: a Secret's bytes again and again around random data, `size` bytes in all. */
function fakeSnapshot(size: number): Buffer {
  const data = randomBytes(size);
  for (let at = 0; at + MARKER.length <= size; at += 100_000) MARKER.copy(data, at);
  return data;
}
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const start = (
  workflow: string,
  input: Record<string, unknown>,
  clusterStatus: 'Ready' | 'Updating' = 'Ready',
): StartRequest => ({ actor: 'user-1', workflow: { workflow, version: 1, steps: ['one'], input, clusterStatus } });

for (const target of testDatabases) {
  describe(`etcd snapshots on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let clusters: Clusters;
    let runs: WorkflowRuns;
    let box: SecretBox;
    let snapshots: EtcdSnapshots;
    const MAX = 24 * 1_048_576;

    const cluster = async (name: string): Promise<string> => {
      const created = await clusters.create(
        { name, provider: 'kwok', kubernetesVersion: '1.37.2', controlPlane: { count: 1 }, nodePools: [] },
        start('cluster.create', {}),
      );
      await runs.startStep(created.body.workflow.id, 0, 0, 1);
      await runs.completeStep(created.body.workflow.id, 0, 0, null, [{ kind: 'setClusterStatus', status: 'Ready' }]);
      return created.body.cluster.id;
    };
    /** Starts the snapshot workflow as sm's route does; answers its run and the snapshot id. */
    const snapshotRun = async (clusterId: string): Promise<{ runId: string; snapshotId: string }> => {
      const snapshotId = uuidv7();
      const accepted = await clusters.startWorkflow(clusterId, start('etcd.snapshot', { snapshotId }));
      await runs.startStep(accepted.body.workflow.id, 0, 0, 1);
      return { runId: accepted.body.workflow.id, snapshotId };
    };
    const finish = async (runId: string): Promise<void> => {
      await runs.completeStep(runId, 0, 0, null, []);
    };
    const taken = async (clusterId: string, data: Buffer, revision = 42): Promise<string> => {
      const { runId, snapshotId } = await snapshotRun(clusterId);
      await snapshots.store(
        clusterId,
        snapshotId,
        { workflowId: runId, revision, sha256: sha(data), etcdVersion: '3.6.16' },
        data,
      );
      await finish(runId);
      return snapshotId;
    };

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      box = new SecretBox('k'.repeat(32));
      const tenants = new TenantCredentials(db, box);
      runs = new WorkflowRuns(db, tenants);
      clusters = new Clusters(db, runs, new Resources(db, box), tenants);
      snapshots = new EtcdSnapshots(db, box, MAX);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('stores a snapshot larger than a database packet sealed at rest, lists it, and gives the same bytes back', async () => {
      const clusterId = await cluster('sealed');
      // 20 MiB: more than MariaDB's default max_allowed_packet (16 MiB) in one row would allow.
      const data = fakeSnapshot(20 * 1_048_576 + 12_345);
      const { runId, snapshotId } = await snapshotRun(clusterId);
      const info = await snapshots.store(
        clusterId,
        snapshotId,
        { workflowId: runId, revision: 1234, sha256: sha(data), etcdVersion: '3.6.16' },
        data,
      );
      await finish(runId);
      assert.deepEqual(
        { ...info, createdAt: undefined },
        {
          id: snapshotId,
          clusterId,
          createdAt: undefined,
          createdBy: 'user-1',
          sizeBytes: data.length,
          revision: 1234,
          sha256: sha(data),
          etcdVersion: '3.6.16',
          workflowId: runId,
        },
      );
      const page = await snapshots.list(clusterId, 50, undefined);
      assert.deepEqual(
        page.items.map((s) => s.id),
        [snapshotId],
      );
      assert.equal(page.nextCursor, null);

      const chunks = (await db('etcd_snapshot_chunks').where({ snapshot_id: snapshotId }).select('data')) as Array<{
        data: Buffer;
      }>;
      assert.equal(chunks.length, 21);
      for (const chunk of chunks)
        assert.equal(
          Buffer.from(chunk.data).indexOf(MARKER.subarray(0, 24)),
          -1,
          'a chunk holds the snapshot in clear',
        );
      const row = (await db('etcd_snapshots').where({ id: snapshotId }).first()) as Record<string, unknown>;
      assert.doesNotMatch(JSON.stringify(row), /hunter2|aHVudGVy/);
      assert.match(String(row['sealed_key']), /^v1\./, 'the data key is a SecretBox envelope');

      const read = await snapshots.read(clusterId, snapshotId);
      assert.ok(read.data.equals(data), 'the snapshot comes back byte for byte');
      // Another secret key opens nothing.
      await assert.rejects(
        new EtcdSnapshots(db, new SecretBox('o'.repeat(32)), MAX).read(clusterId, snapshotId),
        SecretKeyMismatchError,
      );
    });

    it('detects a chunk altered or moved in the database', async () => {
      const clusterId = await cluster('tamper');
      const id = await taken(clusterId, fakeSnapshot(2 * 1_048_576 + 10));
      const [first, second] = (await db('etcd_snapshot_chunks')
        .where({ snapshot_id: id })
        .orderBy('idx')
        .select('idx', 'data')) as Array<{ idx: number; data: Buffer }>;
      const altered = Buffer.from(first!.data);
      altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
      await db('etcd_snapshot_chunks').where({ snapshot_id: id, idx: 0 }).update({ data: altered });
      await assert.rejects(snapshots.read(clusterId, id), /unable to authenticate|auth/i);
      // The right bytes at the wrong place: each chunk is bound to its index.
      await db('etcd_snapshot_chunks')
        .where({ snapshot_id: id, idx: 0 })
        .update({ data: Buffer.from(second!.data) });
      await db('etcd_snapshot_chunks')
        .where({ snapshot_id: id, idx: 1 })
        .update({ data: Buffer.from(first!.data) });
      await assert.rejects(snapshots.read(clusterId, id), /unable to authenticate|auth/i);
      // A missing tail.
      await db('etcd_snapshot_chunks').where({ snapshot_id: id, idx: 2 }).delete();
      await assert.rejects(snapshots.read(clusterId, id), /2 of its 3 chunks/);
    });

    it('refuses a snapshot above the limit, with the wrong SHA-256, or for a workflow that is not its own, storing nothing', async () => {
      const clusterId = await cluster('refused');
      const other = await cluster('refused-other');
      const { runId, snapshotId } = await snapshotRun(clusterId);
      const data = fakeSnapshot(100_000);
      const upload = { workflowId: runId, revision: 7, sha256: sha(data), etcdVersion: '3.6.16' };
      await assert.rejects(
        new EtcdSnapshots(db, box, 65_536).store(clusterId, snapshotId, upload, data),
        (error: { code?: string; details?: { limit?: string }; message: string }) => {
          assert.equal(error.code, 'CX_LIMIT_EXCEEDED');
          assert.equal(error.details?.limit, 'etcd.maxSnapshotBytes');
          assert.match(error.message, /100000 bytes, more than etcd\.maxSnapshotBytes \(65536\)/);
          return true;
        },
      );
      await assert.rejects(
        snapshots.store(clusterId, snapshotId, { ...upload, sha256: sha(Buffer.from('other')) }, data),
        { code: 'CX_INPUT_INVALID' },
      );
      await assert.rejects(snapshots.store(other, snapshotId, upload, data), { code: 'CX_WORKFLOW_STATE' });
      await assert.rejects(snapshots.store(clusterId, `${snapshotId.slice(0, -4)}ffff`, upload, data), {
        code: 'CX_WORKFLOW_STATE',
      });
      assert.equal((await snapshots.list(clusterId, 50, undefined)).items.length, 0);
      // Once the workflow is over, it stores nothing any more.
      await runs.cancel(runId);
      await assert.rejects(snapshots.store(clusterId, snapshotId, upload, data), { code: 'CX_WORKFLOW_STATE' });
      assert.equal((await db('etcd_snapshots').where({ cluster_id: clusterId })).length, 0);
    });

    it('a repeated upload of the same workflow replaces the snapshot rather than adding one', async () => {
      const clusterId = await cluster('again');
      const { runId, snapshotId } = await snapshotRun(clusterId);
      const first = fakeSnapshot(3 * 1_048_576);
      const second = fakeSnapshot(1_048_576 / 2);
      await snapshots.store(
        clusterId,
        snapshotId,
        { workflowId: runId, revision: 10, sha256: sha(first), etcdVersion: '3.6.16' },
        first,
      );
      await snapshots.store(
        clusterId,
        snapshotId,
        { workflowId: runId, revision: 11, sha256: sha(second), etcdVersion: '3.6.16' },
        second,
      );
      const page = await snapshots.list(clusterId, 50, undefined);
      assert.deepEqual(
        page.items.map((s) => [s.id, s.revision, s.sizeBytes]),
        [[snapshotId, 11, second.length]],
      );
      assert.equal((await db('etcd_snapshot_chunks').where({ snapshot_id: snapshotId })).length, 1);
      assert.ok((await snapshots.read(clusterId, snapshotId)).data.equals(second));
    });

    it("pages the list, answers 404 for another cluster's snapshot, refuses to delete one being restored, and deletes", async () => {
      const clusterId = await cluster('listed');
      const other = await cluster('listed-other');
      const ids = [
        await taken(clusterId, fakeSnapshot(1000)),
        await taken(clusterId, fakeSnapshot(2000)),
        await taken(clusterId, fakeSnapshot(3000)),
      ];
      const firstPage = await snapshots.list(clusterId, 2, undefined);
      assert.equal(firstPage.items.length, 2);
      assert.ok(firstPage.nextCursor);
      const secondPage = await snapshots.list(clusterId, 2, firstPage.nextCursor!);
      assert.deepEqual([...firstPage.items, ...secondPage.items].map((s) => s.id).sort(), [...ids].sort());
      assert.equal(secondPage.nextCursor, null);
      assert.deepEqual((await snapshots.list(other, 50, undefined)).items, []);

      await assert.rejects(snapshots.get(other, ids[0]!), { code: 'CX_NOT_FOUND' });
      await assert.rejects(snapshots.read(other, ids[0]!), { code: 'CX_NOT_FOUND' });
      await assert.rejects(snapshots.delete(other, ids[0]!), { code: 'CX_NOT_FOUND' });

      const restore = await clusters.startWorkflow(
        clusterId,
        start('etcd.restore', { snapshotId: ids[1] }, 'Updating'),
      );
      await assert.rejects(snapshots.delete(clusterId, ids[1]!), (error: { code?: string; message: string }) => {
        assert.equal(error.code, 'CX_CONFLICT');
        assert.match(error.message, /being restored by workflow/);
        return true;
      });
      await snapshots.delete(clusterId, ids[0]!); // another snapshot of the cluster may go meanwhile
      await runs.cancel(restore.body.workflow.id);
      await snapshots.delete(clusterId, ids[1]!);
      assert.deepEqual(
        (await snapshots.list(clusterId, 50, undefined)).items.map((s) => s.id),
        [ids[2]],
      );
      assert.equal((await db('etcd_snapshot_chunks').whereIn('snapshot_id', [ids[0]!, ids[1]!])).length, 0);
      await assert.rejects(snapshots.delete(clusterId, ids[0]!), { code: 'CX_NOT_FOUND' });
    });

    it('goes with its cluster', async () => {
      const clusterId = await cluster('deleted');
      const id = await taken(clusterId, fakeSnapshot(1_048_576 + 1));
      const deleting = await clusters.startWorkflow(clusterId, start('cluster.delete', {}, 'Updating'));
      await runs.startStep(deleting.body.workflow.id, 0, 0, 1);
      await runs.completeStep(deleting.body.workflow.id, 0, 0, null, [{ kind: 'deleteCluster' }]);
      assert.equal((await db('etcd_snapshots').where({ id })).length, 0);
      assert.equal((await db('etcd_snapshot_chunks').where({ snapshot_id: id })).length, 0);
    });

    it('stays readable after a rotation of the secret key, which re-seals only its data key', async () => {
      const clusterId = await cluster('rotated');
      const data = fakeSnapshot(1_500_000);
      const id = await taken(clusterId, data);
      const chunksBefore = (
        (await db('etcd_snapshot_chunks').where({ snapshot_id: id }).orderBy('idx').select('data')) as Array<{
          data: Buffer;
        }>
      ).map((c) => Buffer.from(c.data));
      const next = new SecretBox('n'.repeat(32));
      const result = await rotateSecrets(db, box, next);
      assert.ok(result.rotated >= 1);
      const rotated = new EtcdSnapshots(db, next, MAX);
      assert.ok((await rotated.read(clusterId, id)).data.equals(data));
      await assert.rejects(snapshots.read(clusterId, id), SecretKeyMismatchError);
      const chunksAfter = (
        (await db('etcd_snapshot_chunks').where({ snapshot_id: id }).orderBy('idx').select('data')) as Array<{
          data: Buffer;
        }>
      ).map((c) => Buffer.from(c.data));
      assert.deepEqual(chunksAfter, chunksBefore);
    });
  });
}

describe("sm's etcd snapshot routes", () => {
  let sm: SmApp;
  const token = 't'.repeat(32);
  const headers = { authorization: `Bearer ${token}` };
  const MAX = 8 * 1_048_576;

  before(async () => {
    sm = await smAppOnSqlite(token, { CX_ETCD_MAX_SNAPSHOT_BYTES: String(MAX) });
  });
  after(async () => {
    await sm?.app.close();
  });

  it("takes an upload above sm's 4 MiB JSON limit, refuses one above etcd.maxSnapshotBytes, and gives the bytes back", async () => {
    const created = await sm.clusters.create(
      { name: 'http', provider: 'kwok', kubernetesVersion: '1.37.2', controlPlane: { count: 1 }, nodePools: [] },
      start('cluster.create', {}),
    );
    await sm.runs.startStep(created.body.workflow.id, 0, 0, 1);
    await sm.runs.completeStep(created.body.workflow.id, 0, 0, null, [{ kind: 'setClusterStatus', status: 'Ready' }]);
    const clusterId = created.body.cluster.id;
    const started = await sm.app.inject({
      method: 'POST',
      url: `/internal/v1/clusters/${clusterId}/etcd-snapshots`,
      headers,
      payload: { start: start('etcd.snapshot', {}) },
    });
    assert.equal(started.statusCode, 202, started.body);
    const { snapshotId, workflow } = started.json() as { snapshotId: string; workflow: { id: string } };
    assert.match(snapshotId, /^[0-9a-f-]{36}$/);
    assert.equal(
      ((await sm.runs.get(workflow.id)).input as { snapshotId?: string }).snapshotId,
      snapshotId,
      'the run carries the snapshot id',
    );
    await sm.runs.startStep(workflow.id, 0, 0, 1);

    const url = (data: Buffer): string =>
      `/internal/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/data?workflowId=${workflow.id}&revision=99&sha256=${sha(data)}&etcdVersion=3.6.16`;
    const big = fakeSnapshot(MAX + 1);
    const refused = await sm.app.inject({
      method: 'PUT',
      url: url(big),
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      payload: big,
    });
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(refused.json().code, 'CX_LIMIT_EXCEEDED');
    assert.match(refused.json().detail, /etcd\.maxSnapshotBytes/);

    const data = fakeSnapshot(6 * 1_048_576);
    const stored = await sm.app.inject({
      method: 'PUT',
      url: url(data),
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      payload: data,
    });
    assert.equal(stored.statusCode, 201, stored.body);
    assert.equal(stored.json().sizeBytes, data.length);
    // JSON routes keep sm's own limit.
    const json = await sm.app.inject({
      method: 'POST',
      url: '/internal/v1/audit',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ actor: 'x', action: 'y', outcome: 'z', details: 'a'.repeat(5 * 1_048_576) }),
    });
    assert.equal(json.statusCode, 413);

    const back = await sm.app.inject({
      method: 'GET',
      url: `/internal/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/data`,
      headers,
    });
    assert.equal(back.statusCode, 200);
    assert.equal(back.headers['x-cx-sha256'], sha(data));
    assert.ok(back.rawPayload.equals(data));
    const listed = await sm.app.inject({
      method: 'GET',
      url: `/internal/v1/clusters/${clusterId}/etcd-snapshots`,
      headers,
    });
    assert.deepEqual(
      (listed.json() as { items: Array<{ id: string }> }).items.map((s) => s.id),
      [snapshotId],
    );
    const anonymous = await sm.app.inject({
      method: 'GET',
      url: `/internal/v1/clusters/${clusterId}/etcd-snapshots/${snapshotId}/data`,
    });
    assert.equal(anonymous.statusCode, 401, 'the bytes need the service token');
  });
});
