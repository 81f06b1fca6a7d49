/**
 * etcd snapshots of clusters, kept in SQL. A snapshot holds every Secret of its cluster, so it is
 * sealed: each one gets a random data key, sealed with cx's secret key (SecretBox, so that a key
 * rotation re-seals it: SEALED_COLUMNS) and the snapshot is AES-256-GCM under that key, in chunks
 * of 1 MiB — MySQL/MariaDB refuse rows above `max_allowed_packet`, 16 MiB by default on MariaDB.
 * Each chunk's associated data names the snapshot and the chunk's place, so chunks cannot be
 * swapped or reordered, and the chunk count and SHA-256 of the whole catch a missing tail.
 *
 * sddc uploads a snapshot (raw bytes, never through Redis) while the `etcd.snapshot` workflow that
 * asked for it runs, and reads it back for an `etcd.restore`. Snapshots go with their cluster.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import type { EtcdSnapshotInfo, Page } from '@cx/api-schemas';
import { ConflictError, CxError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { SnapshotUpload } from '@cx/sm-contract';

/** Plaintext bytes per chunk row: far below MariaDB's default 16 MiB packet, few rows per snapshot. */
const CHUNK_BYTES = 1_048_576;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The workflows that write and read snapshots (wfm's names): an upload belongs to a running snapshot run. */
const SNAPSHOT_WORKFLOW = 'etcd.snapshot';
export const RESTORE_WORKFLOW = 'etcd.restore';

interface SnapshotRow {
  id: string;
  cluster_id: string;
  size_bytes: number | string;
  revision: number | string;
  sha256: string;
  etcd_version: string;
  chunks: number;
  sealed_key: string;
  workflow_id: string;
  created_by: string;
  created_at: string;
}

export class EtcdSnapshots {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
    readonly maxBytes: number,
  ) {}

  async list(clusterId: string, limit: number, cursor: string | undefined): Promise<Page<EtcdSnapshotInfo>> {
    const { rows, nextCursor } = await keysetPage<SnapshotRow>(
      this.db('etcd_snapshots').where({ cluster_id: clusterId }),
      limit,
      cursor,
    );
    return { items: rows.map(toInfo), nextCursor };
  }

  async get(clusterId: string, id: string, db: Knex | Knex.Transaction = this.db): Promise<EtcdSnapshotInfo> {
    return toInfo(await this.row(db, clusterId, id));
  }

  /**
   * Stores the snapshot the cluster's running `etcd.snapshot` workflow took; the same upload again
   * (a repeated operation) replaces it. Refused: a workflow that is not that one, more than
   * `etcd.maxSnapshotBytes`, bytes whose SHA-256 is not the one sddc computed.
   */
  async store(clusterId: string, id: string, upload: SnapshotUpload, data: Buffer): Promise<EtcdSnapshotInfo> {
    if (data.length > this.maxBytes) throw tooLarge(data.length, this.maxBytes);
    if (data.length === 0)
      throw new InputError('an etcd snapshot cannot be empty', [{ field: 'body', message: 'is empty' }]);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== upload.sha256) {
      throw new InputError(`the snapshot's SHA-256 is ${sha256}, not ${upload.sha256}: it was damaged on its way`, [
        { field: 'querystring.sha256', message: 'does not match the body' },
      ]);
    }
    return withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = (await trx('workflow_runs')
          .where({ id: upload.workflowId })
          .first('cluster_id', 'workflow', 'status', 'input', 'created_by')) as
          { cluster_id: string; workflow: string; status: string; input: string; created_by: string } | undefined;
        const snapshotId = run ? (JSON.parse(run.input) as { snapshotId?: unknown }).snapshotId : undefined;
        if (!run || run.cluster_id !== clusterId || run.workflow !== SNAPSHOT_WORKFLOW || snapshotId !== id) {
          throw new ConflictError(
            `workflow ${upload.workflowId} is not the ${SNAPSHOT_WORKFLOW} of snapshot ${id} of cluster ${clusterId}`,
            'CX_WORKFLOW_STATE',
          );
        }
        if (run.status !== 'Running' && run.status !== 'Pending')
          throw new ConflictError(
            `workflow ${upload.workflowId} is ${run.status}; it stores no snapshot any more`,
            'CX_WORKFLOW_STATE',
          );
        await trx('etcd_snapshots').where({ id }).delete(); // its chunks go with it (foreign key)
        await trx('etcd_snapshot_chunks').where({ snapshot_id: id }).delete(); // …also where foreign keys are off
        const key = randomBytes(32);
        const chunks = Math.ceil(data.length / CHUNK_BYTES);
        await trx('etcd_snapshots').insert({
          id,
          cluster_id: clusterId,
          size_bytes: data.length,
          revision: upload.revision,
          sha256,
          etcd_version: upload.etcdVersion,
          chunks,
          sealed_key: this.box.seal(key.toString('base64'), `etcd_snapshots:${id}`),
          workflow_id: upload.workflowId,
          created_by: run.created_by,
          created_at: nowIso(),
        });
        // One row per statement: each stays far below the database's packet limit.
        for (let idx = 0; idx < chunks; idx++) {
          await trx('etcd_snapshot_chunks').insert({
            snapshot_id: id,
            idx,
            data: sealChunk(key, id, idx, data.subarray(idx * CHUNK_BYTES, (idx + 1) * CHUNK_BYTES)),
          });
        }
        return this.get(clusterId, id, trx);
      }),
    );
  }

  /** The snapshot's bytes, opened and checked against its SHA-256 (for sddc's restore only). */
  async read(clusterId: string, id: string): Promise<{ info: EtcdSnapshotInfo; data: Buffer }> {
    const row = await this.row(this.db, clusterId, id);
    const key = Buffer.from(this.box.open(row.sealed_key, `etcd_snapshots:${id}`), 'base64');
    const chunks = (await withDatabase(() =>
      this.db('etcd_snapshot_chunks').where({ snapshot_id: id }).orderBy('idx').select('idx', 'data'),
    )) as Array<{ idx: number; data: Buffer }>;
    if (chunks.length !== row.chunks || chunks.some((c, i) => Number(c.idx) !== i))
      throw new Error(`etcd snapshot ${id} has ${chunks.length} of its ${row.chunks} chunks in the database`);
    const data = Buffer.concat(chunks.map((c) => openChunk(key, id, Number(c.idx), Buffer.from(c.data))));
    if (createHash('sha256').update(data).digest('hex') !== row.sha256)
      throw new Error(`etcd snapshot ${id} does not match its SHA-256 in the database`);
    return { info: toInfo(row), data };
  }

  /** Deletes a snapshot; one that a running restore is reading is refused (409). */
  async delete(clusterId: string, id: string): Promise<void> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        await this.row(trx, clusterId, id);
        const active = (await trx('clusters')
          .join('workflow_runs', 'workflow_runs.id', 'clusters.active_run_id')
          .where('clusters.id', clusterId)
          .first('workflow_runs.id as id', 'workflow_runs.workflow as workflow', 'workflow_runs.input as input')) as
          { id: string; workflow: string; input: string } | undefined;
        if (
          active?.workflow === RESTORE_WORKFLOW &&
          (JSON.parse(active.input) as { snapshotId?: unknown }).snapshotId === id
        ) {
          throw new ConflictError(
            `snapshot ${id} is being restored by workflow ${active.id}; delete it once that has finished`,
            'CX_CONFLICT',
            { details: { workflowId: active.id } },
          );
        }
        await trx('etcd_snapshot_chunks').where({ snapshot_id: id }).delete();
        await trx('etcd_snapshots').where({ id }).delete();
      }),
    );
  }

  private async row(db: Knex | Knex.Transaction, clusterId: string, id: string): Promise<SnapshotRow> {
    const row = (await withDatabase(() =>
      db<SnapshotRow>('etcd_snapshots').where({ id, cluster_id: clusterId }).first(),
    )) as SnapshotRow | undefined;
    if (!row) throw new NotFoundError(`cluster ${clusterId} has no etcd snapshot ${id}`);
    return row;
  }
}

function toInfo(row: SnapshotRow): EtcdSnapshotInfo {
  return {
    id: row.id,
    clusterId: row.cluster_id,
    createdAt: row.created_at,
    createdBy: row.created_by,
    sizeBytes: Number(row.size_bytes),
    revision: Number(row.revision),
    sha256: row.sha256,
    etcdVersion: row.etcd_version,
    workflowId: row.workflow_id,
  };
}

export function tooLarge(size: number, max: number): CxError {
  return new CxError(
    'CX_LIMIT_EXCEEDED',
    `the etcd snapshot is ${size} bytes, more than etcd.maxSnapshotBytes (${max}); raise the limit (CX_ETCD_MAX_SNAPSHOT_BYTES) or make the cluster's etcd smaller`,
    {
      details: { limit: 'etcd.maxSnapshotBytes', value: max, requested: size },
    },
  );
}

const chunkAad = (id: string, idx: number): Buffer => Buffer.from(`etcd_snapshot_chunks:${id}:${idx}`);

function sealChunk(key: Buffer, id: string, idx: number, plain: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(chunkAad(id, idx));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function openChunk(key: Buffer, id: string, idx: number, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(chunkAad(id, idx));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A deleted cluster's snapshots, and their chunks, go with it. */
export async function deleteSnapshotsOf(sql: PreparedSql, clusterId: string): Promise<void> {
  await sql.run(
    'DELETE FROM `etcd_snapshot_chunks` WHERE `snapshot_id` IN (SELECT `id` FROM `etcd_snapshots` WHERE `cluster_id` = ?)',
    [clusterId],
  );
  await sql.run('DELETE FROM `etcd_snapshots` WHERE `cluster_id` = ?', [clusterId]);
}
