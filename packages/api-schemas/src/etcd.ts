/** etcd snapshots of clusters: what one looks like, and the paths that name one. */

export const etcdSnapshotSchema = {
  type: 'object', required: ['id', 'clusterId', 'createdAt', 'createdBy', 'sizeBytes', 'revision', 'sha256', 'workflowId'],
  properties: {
    id: { type: 'string' },
    clusterId: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    createdBy: { type: 'string', description: 'Id of the user who asked for it' },
    sizeBytes: { type: 'integer', description: 'Size of the snapshot file (what etcdutl restores)' },
    revision: { type: 'integer', description: 'The etcd revision the snapshot holds at least' },
    sha256: { type: 'string', description: 'SHA-256 (hex) of the snapshot file, checked again before a restore' },
    etcdVersion: { type: 'string', description: 'Version of the etcd that took it' },
    workflowId: { type: 'string', description: 'The etcd.snapshot workflow that took it' },
  },
} as const;
export interface EtcdSnapshotInfo {
  id: string; clusterId: string; createdAt: string; createdBy: string; sizeBytes: number; revision: number; sha256: string; etcdVersion: string; workflowId: string;
}

export const etcdSnapshotParamsSchema = {
  type: 'object', required: ['id', 'snapshotId'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, snapshotId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
