/**
 * Delete a cluster: delete every machine cx knows of, then every machine the provider still has
 * tagged with the cluster (garbage collection of anything a crash left behind), then the cluster.
 */
import type { MachineStatus } from '@cx/sddc-contract';
import { done, wait, type WorkflowDefinition } from '../engine.js';
import { defineWorkflow, type NoInput } from './define.js';
import { POLL_MS, perMachine } from './machines.js';

export const DELETE_CLUSTER = 'cluster.delete';

export const deleteClusterWorkflow: WorkflowDefinition = defineWorkflow<NoInput>({
  name: DELETE_CLUSTER,
  version: 1,
  steps: [
    {
      name: 'delete-machines',
      async run(ctx) {
        const { cluster, machines } = ctx;
        const fan = await perMachine(ctx, machines, (m) => ({
          op: 'delete-machine',
          provider: cluster.provider,
          clusterId: cluster.id,
          machineId: m.id,
        }));
        if (fan.failed.length > 0) throw fan.failed[0]!.error;
        if (fan.pending > 0) return wait(POLL_MS, `${fan.results.size}/${machines.length} machines deleted`);
        return done(
          { deleted: machines.length },
          [{ kind: 'deleteMachines', ids: machines.map((m) => m.id) }],
          `${machines.length}/${machines.length} machines deleted`,
        );
      },
    },
    {
      name: 'collect-garbage',
      async run(ctx) {
        const { cluster } = ctx;
        const listed = await ctx.operation<MachineStatus[]>(`list-${ctx.poll}`, {
          op: 'list-machines',
          provider: cluster.provider,
          clusterId: cluster.id,
        });
        if (listed.state === 'failed') throw listed.error;
        if (listed.state === 'pending') return wait(POLL_MS / 4);
        if (listed.result.length === 0) return done({ leftovers: 0 });
        // Leftovers are deleted under ids of their own, then the provider is listed again.
        for (const leftover of listed.result) {
          await ctx.operation(`gc-${leftover.machineId}`, {
            op: 'delete-machine',
            provider: cluster.provider,
            clusterId: cluster.id,
            machineId: leftover.machineId,
          });
        }
        return wait(POLL_MS, `deleting ${listed.result.length} machines left at the provider`, true);
      },
    },
    {
      name: 'remove-cluster',
      async run() {
        return done(null, [{ kind: 'deleteCluster' }]);
      },
    },
  ],
});
