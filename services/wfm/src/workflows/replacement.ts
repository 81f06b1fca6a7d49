/**
 * Rolling replacement of workers, the Cluster API way, shared by the OS image upgrade and the
 * Kubernetes version upgrade with `maxSurge`: for each worker a new machine (new name, next index
 * of its pool) is created as the machine records say (image, version), its node must be Ready,
 * then the old machine is cordoned, drained and deleted — `maxSurge` machines at a time, so
 * capacity never drops below the pool's size. A `plan-replacement` step records the rows of the
 * new machines and the pairs (old → new); the replacing step reads the truth from the provider each
 * time it runs: an old machine that is gone is replaced, so a step killed anywhere resumes with the
 * first pair whose old machine still exists. Control-plane machines are not replaced: a new first
 * control-plane machine would `kubeadm init` a new cluster (see node-remediate.ts).
 */
import type { Cluster } from '@cx/api-schemas';
import { ProviderError } from '@cx/errors';
import type { MachineStatus, NodeStatus } from '@cx/sddc-contract';
import { done, wait, type StepContext, type StepResult } from '../engine.js';
import type { Machine, StepEffect } from '@cx/sm-contract';
import { POLL_MS, cordonAndDrain, machineSpec, machinesToDrain, perMachine } from './machines.js';

/** The step that plans the replacement; its output holds `replacements`. */
export const PLAN_REPLACEMENT = 'plan-replacement';

/** One worker to replace: the old machine's id and name, and the name of the machine that replaces it. */
export interface Replacement {
  replace: string;
  name: string;
  by: string;
  pool: string;
}

/** What the plan step records (besides what its workflow adds): the pairs. */
export interface ReplacementPlan {
  replacements: Replacement[];
}

/** Index of a machine named `<prefix><i>`, or -1. */
const indexOf = (name: string, prefix: string): number =>
  name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : -1;

/**
 * Pairs every worker with the machine that replaces it, named with the next free indexes of its
 * pool (after the highest in use, so no name comes back while its old machine may still exist).
 */
export function planReplacements(
  cluster: Pick<Cluster, 'name'>,
  machines: Array<Pick<Machine, 'id' | 'name' | 'pool' | 'role'>>,
): Replacement[] {
  const workers = machines.filter((m) => m.role === 'worker');
  const next = new Map<string, number>();
  for (const m of workers)
    next.set(m.pool, Math.max(next.get(m.pool) ?? 0, indexOf(m.name, `${cluster.name}-${m.pool}-`) + 1));
  return [...workers]
    .sort(
      (a, b) =>
        a.pool.localeCompare(b.pool) ||
        indexOf(a.name, `${cluster.name}-${a.pool}-`) - indexOf(b.name, `${cluster.name}-${b.pool}-`),
    )
    .map((m) => {
      const index = next.get(m.pool)!;
      next.set(m.pool, index + 1);
      return { replace: m.id, name: m.name, by: `${cluster.name}-${m.pool}-${index}`, pool: m.pool };
    });
}

/** The plan step's result: the pairs, and the rows of the new machines at `kubernetesVersion`. */
export function planReplacementStep(
  ctx: StepContext,
  kubernetesVersion: string,
  output: Record<string, unknown> = {},
  effects: StepEffect[] = [],
): StepResult<ReplacementPlan> {
  const replacements = planReplacements(ctx.cluster, ctx.machines);
  const rows = replacements.map((p) => ({ name: p.by, pool: p.pool, role: 'worker' as const, kubernetesVersion }));
  return done({ ...output, replacements }, [
    ...effects,
    ...(rows.length > 0 ? [{ kind: 'upsertMachines' as const, machines: rows }] : []),
  ]);
}

/** The pairs to work on now: the first `maxSurge` whose old machine the provider still has. */
export function nextBatch(plan: Replacement[], present: ReadonlySet<string>, maxSurge: number): Replacement[] {
  return plan.filter((p) => present.has(p.replace)).slice(0, Math.max(1, maxSurge));
}

/** Waits for the nodes of `machines` to be Ready; fails with NodesNotReady once `since` is older than the deadline. */
async function nodesReady(ctx: StepContext, machines: Machine[], since: number): Promise<StepResult | undefined> {
  const listed = await ctx.operation<NodeStatus[]>(`nodes-${ctx.poll}`, {
    op: 'list-nodes',
    provider: ctx.cluster.provider,
    clusterId: ctx.cluster.id,
  });
  if (listed.state === 'failed') throw listed.error;
  if (listed.state === 'pending') return wait(POLL_MS / 4);
  const ready = new Set(listed.result.filter((n) => n.status === 'Ready').map((n) => n.machineId));
  const late = machines.filter((m) => !ready.has(m.id)).map((m) => m.name);
  if (late.length === 0) return undefined;
  const waitedMs = Date.now() - since;
  if (waitedMs > ctx.deadlines.nodesReadyMs) {
    throw new ProviderError(
      `${machines.length - late.length}/${machines.length} new nodes Ready after ${Math.round(waitedMs / 1000)} s (workflows.nodesReadyTimeoutSeconds); not Ready: ${late.join(', ')}. ` +
        'Check that the new machines boot and join (console, cloud-init and kubeadm logs), then retry the workflow; the old machines are still there.',
      { details: { reason: 'NodesNotReady', machines: late } },
    );
  }
  return wait(POLL_MS, `waiting for ${late.join(', ')} to be Ready`, true);
}

/** Replaces the workers the plan step paired (`plan`, its output), `maxSurge` at a time (see the top of this file). */
export async function replaceWorkers(
  ctx: StepContext,
  plan: Replacement[],
  maxSurge: number,
  drainTimeoutSeconds: number,
): Promise<StepResult> {
  const { cluster, machines } = ctx;
  const byName = new Map(machines.map((m) => [m.name, m]));
  const newMachine = (p: Replacement): Machine => {
    const found = byName.get(p.by);
    if (!found)
      throw new ProviderError(`the machine ${p.by} planned to replace ${p.name} has no record`, { retryable: false });
    return found;
  };
  const listed = await ctx.operation<MachineStatus[]>(`machines-${ctx.poll}`, {
    op: 'list-machines',
    provider: cluster.provider,
    clusterId: cluster.id,
  });
  if (listed.state === 'failed') throw listed.error;
  if (listed.state === 'pending') return wait(POLL_MS / 4);
  const present = new Set(listed.result.map((m) => m.machineId));
  const batch = nextBatch(plan, present, maxSurge);
  // Every replacement exists and is Ready once no old machine is left (one lost on its own is replaced here too).
  const incoming = (batch.length > 0 ? batch : plan).map(newMachine);
  const ensured = await perMachine<MachineStatus>(ctx, incoming, (m) => ({
    op: 'ensure-machine',
    provider: cluster.provider,
    spec: machineSpec(cluster, m),
  }));
  if (ensured.failed.length > 0) throw ensured.failed[0]!.error;
  const replaced = plan.length - plan.filter((p) => present.has(p.replace)).length;
  if (ensured.pending > 0)
    return wait(
      POLL_MS,
      `${replaced}/${plan.length} workers replaced; creating ${incoming
        .filter((m) => !ensured.results.has(m.id))
        .map((m) => m.name)
        .join(', ')}`,
    );
  const waiting = await nodesReady(ctx, incoming, Math.max(0, ...ensured.finishedAt.values()) || Date.now());
  if (waiting) return waiting;
  if (batch.length === 0) {
    const effects: StepEffect[] = [
      {
        kind: 'updateMachines',
        machines: [...ensured.results.values()].map((s) => ({
          id: s.machineId,
          phase: s.phase,
          providerId: s.providerId,
          addresses: s.addresses,
          nodeStatus: 'Ready' as const,
        })),
      },
      { kind: 'deleteMachines', ids: plan.map((p) => p.replace) },
    ];
    return done({ replaced: plan.map((p) => ({ machine: p.name, by: p.by })) }, effects);
  }
  const leaving = batch
    .map((p) => machines.find((m) => m.id === p.replace))
    .filter((m): m is Machine => m !== undefined);
  if (cluster.apiEndpoint) {
    const toDrain = await machinesToDrain(ctx, leaving, '-replace');
    if (!toDrain) return wait(POLL_MS / 4);
    const draining = await cordonAndDrain(ctx, toDrain, drainTimeoutSeconds, '-replace');
    if (draining) return draining;
  }
  const deleted = await perMachine(ctx, leaving, (m) => ({
    op: 'delete-machine',
    provider: cluster.provider,
    clusterId: cluster.id,
    machineId: m.id,
  }));
  if (deleted.failed.length > 0) throw deleted.failed[0]!.error;
  if (deleted.pending > 0)
    return wait(
      POLL_MS,
      `${replaced}/${plan.length} workers replaced; deleting ${leaving.map((m) => m.name).join(', ')}`,
    );
  // The next poll lists the machines again: these are gone, and the next batch starts.
  return wait(POLL_MS / 4, `${replaced + batch.length}/${plan.length} workers replaced`, true);
}

/**
 * Rolls back what a failed or cancelled replacement did not finish. A pair whose old machine is
 * still there is undone: the old node is uncordoned, the new machine drained (if its node joined)
 * and deleted. A pair whose old machine is gone stays replaced: its new machine is recorded. Each
 * invocation works from one listing of the machines and nodes (the poll does not move on while
 * it waits), so a step restarted anywhere sees the same plan and repeats only finished operations.
 */
export async function undoReplacements(
  ctx: StepContext,
  plan: Replacement[],
  drainTimeoutSeconds: number,
): Promise<StepResult> {
  const { cluster, machines } = ctx;
  const listed = await ctx.operation<MachineStatus[]>(`machines-${ctx.poll}`, {
    op: 'list-machines',
    provider: cluster.provider,
    clusterId: cluster.id,
  });
  if (listed.state === 'failed') throw listed.error;
  if (listed.state === 'pending') return wait(POLL_MS / 4);
  const present = new Map(listed.result.map((m) => [m.machineId, m]));
  const rowOf = (name: string): Machine | undefined => machines.find((m) => m.name === name);
  const undone = plan.filter((p) => present.has(p.replace));
  const finished = plan.filter((p) => !present.has(p.replace));
  const incoming = undone.map((p) => rowOf(p.by)).filter((m): m is Machine => m !== undefined);
  if (cluster.apiEndpoint) {
    const nodes = await ctx.operation<NodeStatus[]>(`nodes-${ctx.poll}`, {
      op: 'list-nodes',
      provider: cluster.provider,
      clusterId: cluster.id,
    });
    if (nodes.state === 'failed') throw nodes.error;
    if (nodes.state === 'pending') return wait(POLL_MS / 4);
    const nodeOf = new Map(nodes.result.map((n) => [n.machineId, n]));
    // The old nodes first, so that what the new ones ran has somewhere to go.
    const cordoned = undone
      .map((p) => machines.find((m) => m.id === p.replace))
      .filter((m): m is Machine => m !== undefined && nodeOf.get(m.id)?.schedulable === false);
    const uncordoned = await perMachine(
      ctx,
      cordoned,
      (m) => ({
        op: 'cordon-node',
        provider: cluster.provider,
        clusterId: cluster.id,
        nodeName: m.name,
        unschedulable: false,
      }),
      'undo-uncordon',
    );
    if (uncordoned.failed.length > 0) throw uncordoned.failed[0]!.error;
    if (uncordoned.pending > 0) return wait(POLL_MS, `uncordoning ${cordoned.map((m) => m.name).join(', ')}`);
    const joined = incoming.filter((m) => nodeOf.has(m.id));
    const draining = await cordonAndDrain(ctx, joined, drainTimeoutSeconds, '-undo');
    if (draining) return draining;
  }
  const deleted = await perMachine(
    ctx,
    incoming.filter((m) => present.has(m.id)),
    (m) => ({ op: 'delete-machine', provider: cluster.provider, clusterId: cluster.id, machineId: m.id }),
    'undo',
  );
  if (deleted.failed.length > 0) throw deleted.failed[0]!.error;
  if (deleted.pending > 0) return wait(POLL_MS, `deleting ${incoming.map((m) => m.name).join(', ')}`);
  const kept = finished.map((p) => rowOf(p.by)).filter((m): m is Machine => m !== undefined && present.has(m.id));
  const effects: StepEffect[] = [
    ...(kept.length > 0
      ? [
          {
            kind: 'updateMachines' as const,
            machines: kept.map((m) => ({
              id: m.id,
              phase: present.get(m.id)!.phase,
              providerId: present.get(m.id)!.providerId,
              addresses: present.get(m.id)!.addresses,
            })),
          },
        ]
      : []),
    { kind: 'deleteMachines', ids: [...incoming.map((m) => m.id), ...finished.map((p) => p.replace)] },
  ];
  return done(
    {
      undone: undone.map((p) => ({ machine: p.name, removed: p.by })),
      kept: finished.map((p) => ({ machine: p.name, by: p.by })),
    },
    effects,
  );
}
