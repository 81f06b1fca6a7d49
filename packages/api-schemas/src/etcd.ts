/** etcd snapshots of clusters: what one looks like, and the paths that name one. */
import Type, { type Static } from 'typebox';
import { refParamSchema } from './common.js';

export const etcdSnapshotSchema = Type.Object({
  id: Type.String(),
  clusterId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String({ description: 'Id of the user who asked for it' }),
  sizeBytes: Type.Integer({ description: 'Size of the snapshot file (what etcdutl restores)' }),
  revision: Type.Integer({ description: 'The etcd revision the snapshot holds at least' }),
  sha256: Type.String({ description: 'SHA-256 (hex) of the snapshot file, checked again before a restore' }),
  etcdVersion: Type.Optional(Type.String({ description: 'Version of the etcd that took it' })),
  workflowId: Type.String({ description: 'The etcd.snapshot workflow that took it' }),
});
export type EtcdSnapshotInfo = Static<typeof etcdSnapshotSchema>;

export const etcdSnapshotParamsSchema = Type.Object(
  {
    id: refParamSchema,
    snapshotId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
