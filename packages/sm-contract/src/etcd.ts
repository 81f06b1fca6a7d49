/** Etcd snapshots: sddc stores a snapshot's bytes in sm (which seals them) and reads them back for a restore. */
import Type, { type Static } from 'typebox';

/** What sddc sends with a snapshot's bytes (as the query of PUT /clusters/{id}/etcd-snapshots/{snapshotId}/data). */
export const SnapshotUpload = Type.Object({
  workflowId: Type.String({ maxLength: 64 }),
  revision: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  etcdVersion: Type.String({ maxLength: 32 }),
});
export type SnapshotUpload = Static<typeof SnapshotUpload>;

/** Header in which sm answers the SHA-256 it recorded for a snapshot's bytes. */
export const SNAPSHOT_SHA256_HEADER = 'x-cx-sha256';
