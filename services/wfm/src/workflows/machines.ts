/** Helpers shared by the cluster workflows: driving an sddc operation on each of their machines. */
import { createHash } from 'node:crypto';
import type { Cluster } from '@cx/api-schemas';
import { CxError } from '@cx/errors';
import type { OneOperation } from '@cx/queue-contracts';
import { CONTROL_PLANE_TAINT } from '@cx/k8s';
import type { MachineSpec, NodeStatus } from '@cx/sddc-contract';
import { wait, type StepContext, type StepResult } from '../engine.js';
import type { Machine } from '@cx/sm-contract';

/** Poll interval of steps waiting for infrastructure. */
export const POLL_MS = 200;

export interface FanOut<T> {
  results: Map<string, T>;
  /** When each finished operation finished (epoch ms), when known. */
  finishedAt: Map<string, number>;
  pending: number;
  failed: Array<{ machine: Machine; error: CxError }>;
}

/**
 * Starts (once) and observes an operation on each machine; `kind` tells apart several operations
 * of one step on the same machines. Several machines share one sddc job (PerMachineOperation): the
 * step is woken once, when the last is done, and answered all results at once; a failure names
 * its machine. Its id is derived from the machines, so a step that sees other machines (rows
 * changed between its runs) starts another job, as it would have started other operations.
 */
export async function perMachine<T>(
  ctx: StepContext,
  machines: Machine[],
  operation: (m: Machine) => OneOperation,
  kind = '',
): Promise<FanOut<T>> {
  const out: FanOut<T> = { results: new Map(), finishedAt: new Map(), pending: 0, failed: [] };
  if (machines.length === 0) return out;
  const items = machines.map((m) => ({ machineId: m.id, operation: operation(m) }));
  const state =
    items.length === 1
      ? await ctx.operation<T>(kind ? `${kind}-${machines[0]!.id}` : machines[0]!.id, items[0]!.operation)
      : await ctx.operation<T[]>(`${kind || 'machines'}-${digest(machines)}`, {
          op: 'per-machine',
          provider: items[0]!.operation.provider,
          items,
        });
  if (state.state === 'pending') {
    out.pending = machines.length;
  } else if (state.state === 'done') {
    const results: T[] = items.length === 1 ? [state.result as T] : (state.result as T[]);
    machines.forEach((m, i) => {
      out.results.set(m.id, results[i]!);
      if (state.finishedAt !== undefined) out.finishedAt.set(m.id, state.finishedAt);
    });
  } else {
    // The machine travels with the error, so that the failed step names it and sm records its condition.
    const failedId = items.length === 1 ? machines[0]!.id : state.error.details?.['machineId'];
    const machine = machines.find((m) => m.id === failedId) ?? machines[0]!;
    out.failed.push({
      machine,
      error: new CxError(state.error.code, state.error.message, {
        retryable: state.error.retryable,
        details: { ...state.error.details, machineId: machine.id, machine: machine.name },
      }),
    });
  }
  return out;
}

/** A short digest of the machines' ids, for the id of the job that operates on all of them. */
function digest(machines: Machine[]): string {
  return createHash('sha256')
    .update(machines.map((m) => m.id).join(','))
    .digest('hex')
    .slice(0, 16);
}

/** What the provider is asked to make of a machine: its identity, version, and its pool's labels and taints. */
export function machineSpec(
  cluster: Cluster,
  machine: Machine,
  kubernetesVersion = machine.kubernetesVersion,
): MachineSpec {
  const pool = cluster.nodePools.find((p) => p.name === machine.pool);
  const scheduling =
    machine.role === 'control-plane'
      ? { labels: {}, taints: cluster.controlPlane.schedulable ? [] : [CONTROL_PLANE_TAINT] }
      : { labels: pool?.labels ?? {}, taints: pool?.taints ?? [] };
  return {
    machineId: machine.id,
    clusterId: cluster.id,
    name: machine.name,
    role: machine.role,
    pool: machine.pool,
    kubernetesVersion,
    ...scheduling,
    // The image an OS upgrade chose: machines created from now on boot it (existing ones are not rebuilt for it).
    ...(cluster.osImage ? { image: cluster.osImage } : {}),
  };
}

/**
 * Those of `machines` that have a node to drain before they go: each one cx saw Ready, and any
 * other whose node the cluster's API lists. A machine never seen Ready and not listed never joined
 * (say, a host that never booted its OS), so it has nothing to drain; and an API that does not
 * answer at all, no machine having brought it up, must not hold the removal. This is Cluster
 * API's rule too: a Machine without a node reference is deleted without a drain. Undefined while
 * the API is being asked.
 */
export async function machinesToDrain(
  ctx: StepContext,
  machines: Machine[],
  kind = '',
): Promise<Machine[] | undefined> {
  const unseen = machines.filter((m) => m.nodeStatus !== 'Ready');
  if (unseen.length === 0) return machines;
  const { cluster } = ctx;
  // Named after the first such machine: an upgrade's batches each ask for their own.
  const nodes = await ctx.operation<NodeStatus[]>(`nodes-to-drain${kind}-${unseen[0]!.id}`, {
    op: 'list-nodes',
    provider: cluster.provider,
    clusterId: cluster.id,
  });
  if (nodes.state === 'pending') return undefined;
  if (nodes.state === 'failed' && !nodes.error.retryable) throw nodes.error;
  const listed = new Set(nodes.state === 'done' ? nodes.result.map((n) => n.machineId) : []);
  return machines.filter((m) => m.nodeStatus === 'Ready' || listed.has(m.id));
}

/** How long a drain may stay blocked (by PodDisruptionBudgets) before the workflow fails, unless the request says. */
export const DRAIN_TIMEOUT_SECONDS = 300;
const DRAIN_POLL_MS = 1_000;

/**
 * Cordons the machines' nodes, then drains them through the eviction API, which honours
 * PodDisruptionBudgets (DaemonSet and static pods stay). Answers undefined once every node is
 * empty; until then what the step does: wait, saying which budget blocks which node, or — once
 * the nodes have been cordoned `timeoutSeconds` ago — fail with CX_DRAIN_BLOCKED, the nodes left
 * cordoned, so that a retry resumes once the budget allows it. `kind` tells apart drains of
 * several rounds of one step (an upgrade's batches).
 */
export async function cordonAndDrain(
  ctx: StepContext,
  machines: Machine[],
  timeoutSeconds: number,
  kind = '',
): Promise<StepResult<never> | undefined> {
  const { cluster } = ctx;
  const cordoned = await perMachine(
    ctx,
    machines,
    (m) => ({
      op: 'cordon-node',
      provider: cluster.provider,
      clusterId: cluster.id,
      nodeName: m.name,
      unschedulable: true,
    }),
    `cordon${kind}`,
  );
  if (cordoned.failed.length > 0) throw cordoned.failed[0]!.error;
  if (cordoned.pending > 0) return wait(POLL_MS, `cordoning ${machines.map((m) => m.name).join(', ')}`);
  const drained = await perMachine<{ node: string; remaining: number; blockedBy: string[]; pods: string[] }>(
    ctx,
    machines,
    (m) => ({ op: 'drain-node', provider: cluster.provider, clusterId: cluster.id, nodeName: m.name }),
    `drain${kind}-${ctx.poll}`,
  );
  if (drained.failed.length > 0) throw drained.failed[0]!.error;
  if (drained.pending > 0) return wait(POLL_MS / 4);
  const busy = [...drained.results.values()].filter((r) => r.remaining > 0);
  if (busy.length === 0) return undefined;
  const reason = busy
    .map(
      (r) =>
        `${r.node}: ${r.remaining} pod(s) left${r.blockedBy.length ? `, blocked by PodDisruptionBudget ${r.blockedBy.join(', ')}` : ` (${r.pods.join(', ')})`}`,
    )
    .join('; ');
  // Counted from the cordon, so that the later batches of an upgrade get their own time.
  const since =
    Math.max(...cordoned.finishedAt.values(), Date.parse(ctx.run.steps[ctx.run.currentStep]?.startedAt ?? '') || 0) ||
    Date.now();
  if (Date.now() - since > timeoutSeconds * 1000) {
    throw new CxError(
      'CX_DRAIN_BLOCKED',
      `draining did not finish within ${timeoutSeconds} s: ${reason}. Relax the budget or move the pods, then retry the workflow`,
      {
        retryable: false,
        details: { nodes: busy },
      },
    );
  }
  return wait(DRAIN_POLL_MS, `draining: ${reason}`, true);
}
