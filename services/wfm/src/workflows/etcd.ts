/**
 * etcd snapshots and restores of a cluster (docs/etcd-snapshots.md). A snapshot is one step: sddc
 * takes it through the provider and hands the bytes to sm, which seals them; the step shows only the
 * snapshot's id, size, revision and SHA-256. A restore rewinds etcd, then ensures every machine cx
 * has (their nodes come back if the snapshot predates them), waits until every node is Ready again
 * and marks the cluster Ready.
 */
import type { EtcdSnapshotResult } from '@cx/queue-contracts';
import type { MachineStatus } from '@cx/sddc-contract';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import { markReady, waitNodesReady } from './cluster-create.js';
import { defineWorkflow } from './define.js';
import { POLL_MS, machineSpec, perMachine } from './machines.js';

export const SNAPSHOT_ETCD = 'etcd.snapshot';
export const RESTORE_ETCD = 'etcd.restore';

/** A snapshot or a restore takes seconds: polling faster only adds jobs. */
const ETCD_POLL_MS = 1_000;

/** Both runs' input: the snapshot (for a new one, sm adds the id of the row it records with the run). */
export interface EtcdInput {
  snapshotId: string;
}

/** The workflows, with the largest snapshot they take (`etcd.maxSnapshotBytes`). */
export function etcdWorkflows(maxSnapshotBytes: number): { snapshot: WorkflowDefinition; restore: WorkflowDefinition } {
  const snapshot: WorkflowDefinition = defineWorkflow<EtcdInput>({
    name: SNAPSHOT_ETCD,
    version: 1,
    steps: [
      {
        name: 'take-snapshot',
        async run(ctx) {
          const { cluster, run } = ctx;
          const state = await ctx.operation<EtcdSnapshotResult>('snapshot', {
            op: 'etcd-snapshot',
            provider: cluster.provider,
            clusterId: cluster.id,
            snapshotId: ctx.input.snapshotId,
            workflowId: run.id,
            maxBytes: maxSnapshotBytes,
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending') return wait(ETCD_POLL_MS, `taking etcd snapshot ${ctx.input.snapshotId}`);
          const { snapshotId, sizeBytes, revision, sha256 } = state.result;
          // A snapshot changes nothing in the cluster; a retried one that had failed makes it Ready again.
          return done({ snapshotId, sizeBytes, revision, sha256 }, [
            { kind: 'setClusterStatus', status: 'Ready', message: null },
          ]);
        },
      },
    ],
  });

  const restore: WorkflowDefinition = defineWorkflow<EtcdInput>({
    name: RESTORE_ETCD,
    version: 1,
    steps: [
      {
        name: 'restore-etcd',
        async run(ctx) {
          const { cluster } = ctx;
          const state = await ctx.operation<{ snapshotId: string; sizeBytes: number; sha256: string }>('restore', {
            op: 'etcd-restore',
            provider: cluster.provider,
            clusterId: cluster.id,
            snapshotId: ctx.input.snapshotId,
          });
          if (state.state === 'failed') throw state.error;
          if (state.state === 'pending')
            return wait(
              ETCD_POLL_MS,
              `restoring etcd from snapshot ${ctx.input.snapshotId}: the control plane is stopped and started again`,
            );
          return done(state.result);
        },
      },
      {
        // The snapshot may predate machines cx added since: ensuring each brings its node back.
        name: 'ensure-machines',
        async run(ctx) {
          const { cluster, machines } = ctx;
          const fan = await perMachine<MachineStatus>(ctx, machines, (m) => ({
            op: 'ensure-machine',
            provider: cluster.provider,
            spec: machineSpec(cluster, m),
          }));
          if (fan.failed.length > 0) throw fan.failed[0]!.error;
          if (fan.pending > 0) return wait(POLL_MS, `${fan.results.size}/${machines.length} machines ensured`);
          return done(
            { machines: machines.length },
            [
              {
                kind: 'updateMachines',
                machines: [...fan.results.values()].map((s) => ({
                  id: s.machineId,
                  phase: s.phase,
                  providerId: s.providerId,
                  addresses: s.addresses,
                })),
              },
            ],
            `${machines.length}/${machines.length} machines ensured`,
          );
        },
      },
      waitNodesReady((ctx) => ctx.machines),
      markReady,
    ],
  });
  return { snapshot, restore };
}
