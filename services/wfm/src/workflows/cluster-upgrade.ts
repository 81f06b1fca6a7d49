/**
 * Upgrade a cluster's Kubernetes version, the kubeadm way: the control plane first, one machine at
 * a time (etcd keeps its quorum), then the workers, `maxUnavailable` at a time. The nodes the
 * tenant API reports are the truth: each invocation of a step looks at them, moves the next
 * machines on (the provider converges a machine to the version in its spec), and waits, so that a
 * step interrupted anywhere resumes where the cluster actually is. A failed upgrade is retried from
 * its failed step. Nodes that run workloads (workers, and the control plane of a converged
 * cluster) are cordoned and drained through the eviction API before they move, and uncordoned
 * once they are Ready at the new version. With `maxSurge` (version 2), workers are not moved in
 * place but replaced (replacement.ts): a new machine at the new version joins and is Ready before
 * the one it replaces is drained and deleted, so capacity never drops.
 */
import type { MachineStatus, NodeStatus } from '@cx/sddc-contract';
import { done, wait, type StepResult, type WorkflowDefinition } from '../engine.js';
import type { Machine } from '@cx/sm-contract';
import { DRAIN_TIMEOUT_SECONDS, POLL_MS, cordonAndDrain, machineSpec, perMachine } from './machines.js';
import { defineStep, defineWorkflow, type WorkflowContext } from './define.js';
import { PLAN_REPLACEMENT, planReplacementStep, replaceWorkers, type ReplacementPlan } from './replacement.js';

export const UPGRADE_CLUSTER = 'cluster.upgrade';

/** `maxSurge` > 0 replaces the workers (maxUnavailable does not apply); 0 or absent (runs of version 1) moves them in place. */
export interface UpgradeInput {
  kubernetesVersion: string;
  maxUnavailable: number;
  maxSurge?: number;
  drainTimeoutSeconds?: number;
}

async function roll(ctx: WorkflowContext<UpgradeInput>, role: Machine['role'], batch: number): Promise<StepResult> {
  const { cluster, machines } = ctx;
  const { kubernetesVersion: target, drainTimeoutSeconds } = ctx.input;
  const members = machines.filter((m) => m.role === role);
  const listed = await ctx.operation<NodeStatus[]>(`nodes-${ctx.poll}`, {
    op: 'list-nodes',
    provider: cluster.provider,
    clusterId: cluster.id,
  });
  if (listed.state === 'failed') throw listed.error;
  if (listed.state === 'pending') return wait(POLL_MS / 4);
  const nodeOf = new Map(listed.result.map((n) => [n.machineId, n]));
  const upgraded = (m: Machine): boolean =>
    nodeOf.get(m.id)?.kubernetesVersion === target && nodeOf.get(m.id)?.status === 'Ready';
  const remaining = members.filter((m) => !upgraded(m));
  // Nodes that run workloads are emptied first, the kubectl-drain way, and let back in once at the new version.
  // Until this step records it, a machine row still has the version it had: a different one marks the machines this run moves.
  const drains = Boolean(cluster.apiEndpoint) && (role === 'worker' || cluster.controlPlane.schedulable === true);
  const movedByThisRun = members.filter((m) => m.kubernetesVersion !== target);
  if (drains) {
    const back = movedByThisRun.filter(upgraded);
    const uncordoned = await perMachine(
      ctx,
      back,
      (m) => ({
        op: 'cordon-node',
        provider: cluster.provider,
        clusterId: cluster.id,
        nodeName: m.name,
        unschedulable: false,
      }),
      `uncordon-${target}`,
    );
    if (uncordoned.failed.length > 0) throw uncordoned.failed[0]!.error;
    if (remaining.length === 0 && uncordoned.pending > 0)
      return wait(POLL_MS, `letting ${back.map((m) => m.name).join(', ')} take pods again`);
  }
  if (remaining.length === 0) {
    return done({ upgraded: members.map((m) => m.name) }, [
      {
        kind: 'updateMachines',
        machines: members.map((m) => ({ id: m.id, kubernetesVersion: target, nodeStatus: 'Ready' as const })),
      },
    ]);
  }
  // The machines in flight: those already asked to move (their operation exists), else the next batch.
  const inFlight = remaining.slice(0, batch);
  if (drains) {
    const draining = await cordonAndDrain(ctx, inFlight, drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS, `-${target}`);
    if (draining) return draining;
  }
  for (const machine of inFlight) {
    const ensured = await ctx.operation<MachineStatus>(`${machine.id}.${target}`, {
      op: 'ensure-machine',
      provider: cluster.provider,
      spec: machineSpec(cluster, machine, target),
    });
    if (ensured.state === 'failed') throw ensured.error;
  }
  return wait(
    POLL_MS,
    `${role === 'control-plane' ? 'control plane' : 'workers'}: ${members.length - remaining.length}/${members.length} at ${target}`,
    true,
  );
}

/** With maxSurge, the workers' replacements at the new version; none otherwise (they move in place). */
const planWorkerReplacement = defineStep<UpgradeInput, ReplacementPlan>({
  name: PLAN_REPLACEMENT,
  async run(ctx) {
    const { kubernetesVersion, maxSurge } = ctx.input;
    return (maxSurge ?? 0) > 0 ? planReplacementStep(ctx, kubernetesVersion) : done({ replacements: [] });
  },
});

export const upgradeClusterWorkflow: WorkflowDefinition = defineWorkflow<UpgradeInput>({
  name: UPGRADE_CLUSTER,
  version: 2,
  steps: [
    { name: 'upgrade-control-plane', run: (ctx) => roll(ctx, 'control-plane', 1) },
    // Planned after the control plane moved: new machines must not join a control plane older than they are.
    planWorkerReplacement,
    {
      name: 'upgrade-workers',
      async run(ctx) {
        const { maxUnavailable, maxSurge, drainTimeoutSeconds } = ctx.input;
        if ((maxSurge ?? 0) > 0)
          return replaceWorkers(
            ctx,
            ctx.output(planWorkerReplacement)?.replacements ?? [],
            maxSurge!,
            drainTimeoutSeconds ?? DRAIN_TIMEOUT_SECONDS,
          );
        return roll(ctx, 'worker', Math.max(1, maxUnavailable));
      },
    },
    {
      name: 'mark-upgraded',
      async run(ctx) {
        const { kubernetesVersion } = ctx.input;
        return done({ kubernetesVersion }, [
          { kind: 'setClusterVersion', kubernetesVersion },
          { kind: 'setClusterStatus', status: 'Ready', message: null },
        ]);
      },
    },
  ],
});
