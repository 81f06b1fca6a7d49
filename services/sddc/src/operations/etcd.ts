/**
 * etcd snapshots and restores of tenant clusters (provider rule O6). The snapshot's bytes go
 * straight between the provider and sm's internal API, which keeps them sealed; BullMQ carries only
 * ids, and the job's answer only the size, revision and SHA-256.
 */
import { createHash } from 'node:crypto';
import { InputError, ProviderError } from '@cx/errors';
import type { EtcdSnapshotResult, SddcOperation } from '@cx/queue-contracts';
import type { Provider } from '@cx/sddc-contract';
import type { SmClient } from '@cx/sm-contract';

type SnapshotOperation = Extract<SddcOperation, { op: 'etcd-snapshot' }>;
type RestoreOperation = Extract<SddcOperation, { op: 'etcd-restore' }>;

/** Takes the snapshot and hands it to sm; a repeated operation takes and stores it again under the same id. */
export async function takeEtcdSnapshot(
  provider: Provider,
  sm: SmClient,
  operation: SnapshotOperation,
): Promise<EtcdSnapshotResult> {
  const snapshot = await capable(provider).etcdSnapshot(operation.clusterId, { maxBytes: operation.maxBytes });
  const sha256 = createHash('sha256').update(snapshot.data).digest('hex');
  const stored = await sm.uploadEtcdSnapshot(
    operation.clusterId,
    operation.snapshotId,
    { workflowId: operation.workflowId, revision: snapshot.revision, sha256, etcdVersion: snapshot.etcdVersion },
    snapshot.data,
  );
  return { snapshotId: stored.id, sizeBytes: stored.sizeBytes, revision: stored.revision, sha256: stored.sha256 };
}

/**
 * Restores the cluster's etcd from the snapshot sm keeps, once its bytes match the SHA-256 recorded
 * when it was taken. Running it again restores the same snapshot again.
 */
export async function restoreEtcdSnapshot(
  provider: Provider,
  sm: SmClient,
  operation: RestoreOperation,
): Promise<{ snapshotId: string; sizeBytes: number; sha256: string }> {
  const { etcdRestore } = capable(provider);
  const { data, sha256 } = await sm.etcdSnapshotData(operation.clusterId, operation.snapshotId);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== sha256) {
    throw new ProviderError(
      `etcd snapshot ${operation.snapshotId} arrived with SHA-256 ${actual}, not the ${sha256} it was stored with; nothing was restored`,
      { details: { reason: 'SnapshotCorrupt' } },
    );
  }
  await etcdRestore(operation.clusterId, data);
  return { snapshotId: operation.snapshotId, sizeBytes: data.length, sha256 };
}

function capable(provider: Provider): Required<Pick<Provider, 'etcdSnapshot' | 'etcdRestore'>> {
  if (!provider.capabilities.etcdSnapshot || !provider.etcdSnapshot || !provider.etcdRestore) {
    throw new InputError(
      `provider ${provider.name} cannot take or restore etcd snapshots (capabilities.etcdSnapshot is false)`,
    );
  }
  return { etcdSnapshot: provider.etcdSnapshot.bind(provider), etcdRestore: provider.etcdRestore.bind(provider) };
}
