/**
 * Workflows on one node of a cluster (the tenant's Kubernetes API, the kubectl way): cordon,
 * uncordon, and drain (cordon, then evict its pods through the eviction API, which honours
 * PodDisruptionBudgets; DaemonSet and static pods stay). A drained node stays cordoned until it is
 * uncordoned. Deleting a node is a scale-down of its pool that names it (cluster.scale). And the
 * labels and taints of a whole pool's nodes.
 */
import { CxError } from '@cx/errors';
import type { PoolScheduling } from '@cx/queue-contracts';
import { done, wait, type StepResult, type WorkflowDefinition } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { markReady } from './cluster-create.js';
import { defineWorkflow, type WorkflowContext } from './define.js';
import { DRAIN_TIMEOUT_SECONDS, POLL_MS, cordonAndDrain, perMachine } from './machines.js';

export const CORDON_NODE = 'node.cordon';
export const UNCORDON_NODE = 'node.uncordon';
export const DRAIN_NODE = 'node.drain';

export interface NodeInput {
  node: string;
  machineId: string;
  drainTimeoutSeconds?: number;
}

/** The node's machine, as the run was started for it. */
function machineOf(ctx: WorkflowContext<NodeInput>): Machine {
  const { node, machineId } = ctx.input;
  const machine = ctx.machines.find((m) => m.id === machineId);
  if (!machine)
    throw new CxError('CX_NOT_FOUND', `node ${node} is no longer a machine of cluster ${ctx.cluster.name}`, {
      retryable: false,
    });
  return machine;
}

async function setSchedulable(
  ctx: WorkflowContext<NodeInput>,
  schedulable: boolean,
): Promise<StepResult<{ node: string; schedulable: boolean }>> {
  const machine = machineOf(ctx);
  const op = await perMachine(ctx, [machine], (m) => ({
    op: 'cordon-node',
    provider: ctx.cluster.provider,
    clusterId: ctx.cluster.id,
    nodeName: m.name,
    unschedulable: !schedulable,
  }));
  if (op.failed.length > 0) throw op.failed[0]!.error;
  if (op.pending > 0) return wait(POLL_MS, `${schedulable ? 'uncordoning' : 'cordoning'} ${machine.name}`);
  return done({ node: machine.name, schedulable });
}

export const cordonNodeWorkflow: WorkflowDefinition = defineWorkflow<NodeInput>({
  name: CORDON_NODE,
  version: 1,
  steps: [{ name: 'cordon', run: (ctx) => setSchedulable(ctx, false) }, markReady],
});

export const uncordonNodeWorkflow: WorkflowDefinition = defineWorkflow<NodeInput>({
  name: UNCORDON_NODE,
  version: 1,
  steps: [{ name: 'uncordon', run: (ctx) => setSchedulable(ctx, true) }, markReady],
});

export const drainNodeWorkflow: WorkflowDefinition = defineWorkflow<NodeInput>({
  name: DRAIN_NODE,
  version: 1,
  steps: [
    {
      name: 'drain',
      async run(ctx) {
        const machine = machineOf(ctx);
        const draining = await cordonAndDrain(ctx, [machine], ctx.input.drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS);
        return draining ?? done({ node: machine.name, drained: true });
      },
    },
    markReady,
  ],
});

export const UPDATE_POOL_SCHEDULING = 'nodepool.update-scheduling';

/** The run's input: the pool, its new labels and taints, and those it had (its nodes lose what is no longer there). */
export interface PoolSchedulingInput {
  pool: string;
  scheduling: PoolScheduling;
  previous: PoolScheduling;
}

/**
 * Puts a pool's new labels and taints on each of its nodes (sm has recorded them, so machines
 * created from now on get them too). Taints that repel pods (NoExecute) evict them as Kubernetes does.
 */
export const updatePoolSchedulingWorkflow: WorkflowDefinition = defineWorkflow<PoolSchedulingInput>({
  name: UPDATE_POOL_SCHEDULING,
  version: 1,
  steps: [
    {
      name: 'apply-scheduling',
      async run(ctx) {
        const { pool, scheduling, previous } = ctx.input;
        const members = ctx.machines.filter((m) => m.pool === pool);
        const fan = await perMachine(ctx, members, (m) => ({
          op: 'set-node-scheduling',
          provider: ctx.cluster.provider,
          clusterId: ctx.cluster.id,
          nodeName: m.name,
          scheduling,
          previous,
        }));
        if (fan.failed.length > 0) throw fan.failed[0]!.error;
        if (fan.pending > 0)
          return wait(POLL_MS, `${fan.results.size}/${members.length} nodes of pool ${pool} updated`);
        return done({ nodes: members.map((m) => m.name) });
      },
    },
    markReady,
  ],
});
